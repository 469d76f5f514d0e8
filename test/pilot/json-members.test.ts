import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonMembers, mayRepeatKeys } from '../../pilot/json-members.js';
import { seededRandom } from '../helpers/seeded-random.js';

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

/** The first key written twice in one object of a JSON text, at any depth. */
function repeatedKey(text: string): string | undefined {
  const objects: Array<Set<string> | null> = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '{') objects.push(new Set());
    else if (c === '[') objects.push(null);
    else if (c === '}' || c === ']') objects.pop();
    else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const keys = objects[objects.length - 1];
      if (keys && /^\s*:/.test(text.slice(j + 1, j + 12))) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
      i = j;
    }
  }
  return undefined;
}

test('members written back parse to the same object as the text, on one line, for 5,000 random objects, no key written twice', () => {
  for (let seed = 1; seed <= 5_000; seed++) {
    const r = seededRandom(seed);
    const ws = (): string => [' ', '', '\n'][Math.floor(r() * 3)]!;
    const str = (): string => JSON.stringify(STRINGS[Math.floor(r() * STRINGS.length)]! + String(Math.floor(r() * 4)));
    const raw = object(r, 0, ws, str);
    const parsed = JSON.parse(raw) as Record<string, unknown>;
    const members = jsonMembers(raw, parsed, (k) => k);
    const back = `{${members.slice(1)}}`;
    assert.deepEqual(JSON.parse(back), parsed, `seed ${seed}: ${raw}`);
    assert.ok(!back.includes('\n'), `seed ${seed}: one line`);
    assert.equal(repeatedKey(back), undefined, `seed ${seed}: ${raw}`);
    // Exact: a key spaced from its colon counts as one, so it never cancels a repeated one out.
    if (repeatedKey(raw) !== undefined) assert.ok(mayRepeatKeys(raw, parsed), `seed ${seed}: a repeated key seen in ${raw}`);
  }
});

test('a renamed key is written as JSON; the others keep their text, escapes included', () => {
  const raw = '{"a\\u0062": 1, "host": 2, "c": 3}';
  const out = jsonMembers(raw, JSON.parse(raw) as Record<string, unknown>, (k) => (k === 'host' ? 'original_"host"' : k));
  assert.equal(out, ',"a\\u0062":1,"original_\\"host\\"":2,"c":3');
});

test('a key written twice at the top is kept once with its last value; nested, its object is written from the parse', () => {
  const raw = '{"a":1,"n":{"x":1,"x":2,"big":1234567890123456789},"a":3,"b":{"y":12345678901234567890}}';
  const parsed = JSON.parse(raw) as Record<string, unknown>;
  assert.ok(mayRepeatKeys(raw, parsed));
  assert.equal(jsonMembers(raw, parsed, (k) => k), ',"a":3,"n":{"x":2,"big":1234567890123456800},"b":{"y":12345678901234567890}');
  const flat = '{"level":"info","msg":"say \\"hi\\": ok","n":1}';
  assert.ok(mayRepeatKeys(flat, JSON.parse(flat)), 'an escaped quote before a colon counts as a key: the careful path');
  const spaced = '{"a":1,"a":2,"b" :3}';
  assert.ok(mayRepeatKeys(spaced, JSON.parse(spaced)), 'a key spaced from its colon does not hide a repeated one');
  const plain = '{"level":"info","req":{"path":"/x"},"tags":[{"k":"v"}]}';
  assert.equal(mayRepeatKeys(plain, JSON.parse(plain)), false);
});
