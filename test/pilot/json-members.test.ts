import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonMembers } from '../../pilot/json-members.js';

/** A small deterministic generator (mulberry32), so a failure names its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STRINGS = ['', 'a', 'x y', '{', '}', '[', ']', ',', ':', '"', '\\', 'é', '😀', '\n', '\t', '\u0000', ' , } ] '];

/** The JSON text of a random value, with random whitespace between its tokens. */
function text(r: () => number, depth: number): string {
  const ws = (): string => [' ', '', '\n  ', '\t', '\r\n'][Math.floor(r() * 5)]!;
  const str = (): string => JSON.stringify(STRINGS[Math.floor(r() * STRINGS.length)]! + (r() < 0.3 ? String(Math.floor(r() * 9)) : ''));
  const kind = Math.floor(r() * (depth > 2 ? 5 : 7));
  switch (kind) {
    case 0: return str();
    case 1: return ['0', '-1.5e3', '1234567890123456789', '3.14'][Math.floor(r() * 4)]!;
    case 2: return ['true', 'false', 'null'][Math.floor(r() * 3)]!;
    case 3: return `[${ws()}]`;
    case 4: return `{${ws()}}`;
    case 5: return `[${Array.from({ length: 1 + Math.floor(r() * 3) }, () => ws() + text(r, depth + 1) + ws()).join(',')}]`;
    default: return object(r, depth + 1, ws, str);
  }
}

function object(r: () => number, depth: number, ws: () => string, str: () => string): string {
  const n = Math.floor(r() * 5);
  return `{${Array.from({ length: n }, () => `${ws()}${str()}${ws()}:${ws()}${text(r, depth)}${ws()}`).join(',')}${n === 0 ? ws() : ''}}`;
}

test('members written back parse to the same object as the text, on one line, for 5,000 random objects', () => {
  for (let seed = 1; seed <= 5_000; seed++) {
    const r = random(seed);
    const ws = (): string => [' ', '', '\n'][Math.floor(r() * 3)]!;
    const str = (): string => JSON.stringify(STRINGS[Math.floor(r() * STRINGS.length)]! + String(Math.floor(r() * 4)));
    const raw = object(r, 0, ws, str);
    const members = jsonMembers(raw, (k) => k);
    const back = `{${members.slice(1)}}`;
    assert.deepEqual(JSON.parse(back), JSON.parse(raw), `seed ${seed}: ${raw}`);
    assert.ok(!back.includes('\n'), `seed ${seed}: one line`);
  }
});

test('a renamed key is written as JSON; the others keep their text, escapes included', () => {
  const out = jsonMembers('{"a\\u0062": 1, "host": 2, "c": 3}', (k) => (k === 'host' ? 'original_"host"' : k));
  assert.equal(out, ',"a\\u0062":1,"original_\\"host\\"":2,"c":3');
});
