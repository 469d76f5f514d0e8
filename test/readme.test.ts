import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { refreshGeneratedBlocks } from '../platform/config/markdown.js';
import { describeVariables } from '../platform/config/load-config.js';
import { ERRORS } from '../platform/errors.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/**
 * The first line where `actual` and `expected` part, with its number, or undefined when they are equal.
 * (Not assert.equal on the two texts: a failed comparison of two ~60 KB strings made Node 20's test runner spin
 * for good in its parent process, past every timeout, so a stale table cost a whole CI run.)
 */
function firstDifference(actual: string, expected: string): string | undefined {
  if (actual === expected) return undefined;
  const a = actual.split('\n');
  const e = expected.split('\n');
  let i = 0;
  while (i < a.length && i < e.length && a[i] === e[i]) i++;
  return `line ${i + 1}: README has ${JSON.stringify(a[i] ?? '(end)')}, the code makes ${JSON.stringify(e[i] ?? '(end)')}`;
}

test('the README documents every variable and every error code as the code defines them', () => {
  const difference = firstDifference(readme, refreshGeneratedBlocks(readme));
  assert.ok(difference === undefined, `README tables are behind the code (run npm run docs): ${difference}`);
  for (const v of describeVariables()) assert.ok(readme.includes(`\`${v.name}\``), `${v.name} missing from README`);
  for (const code of Object.keys(ERRORS)) assert.ok(readme.includes(`\`${code}\``), `${code} missing from README`);
});

test('a stale README table is reported by its first differing line', () => {
  const stale = readme.replace(/\| `[A-Z_]+` \|/, '| `SW_NOT_A_VARIABLE` |');
  assert.match(firstDifference(stale, readme) ?? '', /^line \d+: README has ".*SW_NOT_A_VARIABLE.*", the code makes /);
  assert.equal(firstDifference(readme, readme), undefined);
});

test('the README gives the quick start in two commands', () => {
  assert.match(readme, /npm ci && npm start/);
  assert.match(readme, /^npm test\b/m);
});
