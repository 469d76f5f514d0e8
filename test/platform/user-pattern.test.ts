import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileTagPattern, matchesTagPattern } from '../../storage/sqlite/tag-pattern.js';
import { compileUserPattern, type UserPattern } from '../../platform/user-pattern.js';

function compiled(source: string, dotAll = false): UserPattern {
  const p = compileUserPattern(source, dotAll);
  assert.ok(typeof p !== 'string', String(p));
  return p;
}

// Each of these, matched by backtracking alone on the texts below, runs for longer than anyone waits (the match is
// synchronous: the test runner's per-file timeout is what turns a lost protection into a failure).
test('patterns that backtrack exponentially answer at once on lines they do not match, and still match the others', () => {
  const cases: Array<[string, string, string]> = [
    ['^(?<x>a+)+$', `${'a'.repeat(5_000)}b`, 'aaaa'],
    ['^(?<m>(\\w|\\d)+)$', `${'1'.repeat(5_000)}-`, '12ab'],
    ['^(?<m>(\\w+\\s?)*)$', `${'word '.repeat(1_000)}!`, 'two words'],
  ];
  for (const [source, hostile, fine] of cases) {
    const p = compiled(source);
    assert.equal(p.exec(hostile), null, source);
    assert.equal(p.exec(fine)?.[0], fine, source);
  }
});

test('a hostile line holding characters beyond U+FFFF is bounded too', () => {
  const p = compiled('^(?<m>(\\w+\\s?)*)$');
  assert.equal(p.test(`${'word '.repeat(1_000)}😀`), false);
});

test('without nested repetition, characters beyond U+FFFF are matched whole, as in Unicode mode', () => {
  const p = compiled('^(?<c>.)(?<rest>.*)$');
  assert.deepEqual({ ...p.exec('😀 ok')!.groups }, { c: '😀', rest: ' ok' });
  assert.deepEqual({ ...p.exec('é ok')!.groups }, { c: 'é', rest: ' ok' });
});

test('\\p{…} and \\u{…} keep their Unicode meaning', () => {
  const letters = compiled('^(?<w>\\p{L}+) (?<n>\\d+)$');
  assert.deepEqual({ ...letters.exec('größe 42')!.groups }, { w: 'größe', n: '42' });
  assert.equal(letters.test('p{L} 42'), false);
  const a = compiled('^\\u{41}{2}$');
  assert.equal(a.test('AA'), true);
  assert.equal(a.test('u'.repeat(41)), false);
});

test('a pattern that must stay in Unicode mode with nested repetition is refused with the reason; an invalid one too', () => {
  assert.match(String(compileUserPattern('^(\\p{L}+\\s?)*$')), /can take exponential time.*\(a\+\)\+/);
  assert.match(String(compileUserPattern('(?<a>[')), /is not a valid regular expression/);
  // Not valid in Unicode mode's syntax, though it would be without it.
  assert.match(String(compileUserPattern('\\-')), /is not a valid regular expression/);
});

test('dotAll lets . match a line feed', () => {
  assert.equal(compiled('^a.b$', true).test('a\nb'), true);
  assert.equal(compiled('^a.b$').test('a\nb'), false);
});

test('a trace search tag pattern that backtracks exponentially answers at once', () => {
  const p = compileTagPattern('(x+)+y');
  assert.equal(p.kind, 'regexp');
  assert.equal(matchesTagPattern(p, 'x'.repeat(5_000)), false);
  assert.equal(matchesTagPattern(p, 'xxy'), true);
});
