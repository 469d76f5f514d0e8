import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineSplitter } from '../../pilot/line-splitter.js';

interface Line { text: string; end: number; truncated: boolean }

function run(chunks: Buffer[], options: { maxLineBytes?: number; startOffset?: number } = {}, end = false): Line[] {
  const s = new LineSplitter(options);
  const out: Line[] = [];
  const emit = (text: string, endOffset: number, truncated: boolean): void => { out.push({ text, end: endOffset, truncated }); };
  for (const c of chunks) s.push(c, emit);
  if (end) s.end(emit);
  return out;
}

/** Every way of cutting `buf` into two reads, plus one byte per read. */
function splits(buf: Buffer): Buffer[][] {
  const out: Buffer[][] = [[buf], [...buf].map((b) => Buffer.from([b]))];
  for (let i = 1; i < buf.length; i++) out.push([buf.subarray(0, i), buf.subarray(i)]);
  return out;
}

test('lines come out with the byte offset just after their newline', () => {
  assert.deepEqual(run([Buffer.from('a\nbc\n\ndéf\n')]), [
    { text: 'a', end: 2, truncated: false },
    { text: 'bc', end: 5, truncated: false },
    { text: '', end: 6, truncated: false },
    { text: 'déf', end: 11, truncated: false },
  ]);
});

test('offsets start at the resume position', () => {
  assert.deepEqual(run([Buffer.from('x\n')], { startOffset: 1000 }), [{ text: 'x', end: 1002, truncated: false }]);
});

test('CRLF is stripped and a lone CR inside a line is kept', () => {
  const expected = [{ text: 'one', end: 5, truncated: false }, { text: 't\rwo', end: 11, truncated: false }];
  for (const chunks of splits(Buffer.from('one\r\nt\rwo\r\n'))) assert.deepEqual(run(chunks), expected);
});

test('a character split across two reads is decoded whole', () => {
  const buf = Buffer.from('日本語\n€\n');
  for (const chunks of splits(buf)) assert.deepEqual(run(chunks).map((l) => l.text), ['日本語', '€']);
});

test('invalid UTF-8 becomes replacement characters and never throws', () => {
  const buf = Buffer.from([0x61, 0xff, 0x62, 0xc3, 0x0a, 0xe2, 0x82, 0x0a, 0xed, 0xa0, 0x80, 0x0a]);
  for (const chunks of splits(buf)) {
    const lines = run(chunks);
    assert.equal(lines.length, 3);
    assert.equal(lines[0]!.text, 'a\ufffdb\ufffd');
    assert.ok(lines[1]!.text.includes('\ufffd'));
    assert.ok(lines[2]!.text.includes('\ufffd'));
    assert.deepEqual(lines.map((l) => l.end), [5, 8, 12]);
  }
});

test('a trailing line without newline waits, and end() hands it out', () => {
  const s = new LineSplitter();
  const out: string[] = [];
  s.push(Buffer.from('a\npartial'), (t) => out.push(t));
  assert.deepEqual(out, ['a']);
  assert.equal(s.pendingBytes, 7);
  assert.equal(s.fedOffset, 9);
  s.push(Buffer.from(' line\r'), (t) => out.push(t));
  assert.deepEqual(out, ['a']);
  s.end((t, end) => out.push(`${t}@${end}`));
  assert.deepEqual(out, ['a', 'partial line@15']);
  assert.equal(s.hasPending, false);
});

test('a line of exactly the limit is kept whole, one byte more is cut and marked', () => {
  const max = 16;
  const exact = 'x'.repeat(max);
  for (const chunks of splits(Buffer.from(`${exact}\r\n${exact}y\nz\n`))) {
    assert.deepEqual(run(chunks, { maxLineBytes: max }), [
      { text: exact, end: max + 2, truncated: false },
      { text: exact, end: 2 * max + 4, truncated: true },
      { text: 'z', end: 2 * max + 6, truncated: false },
    ]);
  }
});

test('a cut never splits a character', () => {
  const lines = run([Buffer.from('ab€€€\n')], { maxLineBytes: 4 });
  assert.deepEqual(lines, [{ text: 'ab', end: 12, truncated: true }]);
});

test('a 1 MiB line passes whole with the default limit, and a longer one is cut without being buffered', () => {
  const mib = 1024 * 1024;
  const whole = Buffer.alloc(mib, 0x61);
  const lines = run([whole.subarray(0, 300_000), whole.subarray(300_000), Buffer.from('\nnext\n')]);
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!.text.length, mib);
  assert.equal(lines[0]!.truncated, false);
  assert.equal(lines[1]!.end, mib + 6);

  // 5 MiB arriving in 64 KiB reads: the splitter holds at most the limit (plus one byte), skips the rest.
  const s = new LineSplitter({ maxLineBytes: mib });
  const chunk = Buffer.alloc(64 * 1024, 0x62);
  const out: Array<{ len: number; end: number; truncated: boolean }> = [];
  const emit = (t: string, end: number, truncated: boolean): void => { out.push({ len: t.length, end, truncated }); };
  for (let i = 0; i < 80; i++) {
    s.push(chunk, emit);
    assert.ok(s.pendingBytes <= mib + 1);
  }
  s.push(Buffer.from('\nok\n'), emit);
  assert.deepEqual(out, [{ len: mib, end: 80 * 64 * 1024 + 1, truncated: true }, { len: 2, end: 80 * 64 * 1024 + 4, truncated: false }]);
});

test('an over-long line still unfinished at end() is handed out cut', () => {
  const lines = run([Buffer.from('abcdefghij'), Buffer.from('klm')], { maxLineBytes: 4 }, true);
  assert.deepEqual(lines, [{ text: 'abcd', end: 13, truncated: true }]);
});

test('the splitter keeps no reference to the caller\'s buffer', () => {
  const s = new LineSplitter();
  const out: string[] = [];
  const buf = Buffer.from('hello');
  s.push(buf, (t) => out.push(t));
  buf.fill(0x7a);
  s.push(Buffer.from(' world\n'), (t) => out.push(t));
  assert.deepEqual(out, ['hello world']);
});

/** The obvious, whole-buffer version of what the splitter must do. */
function reference(buf: Buffer, max: number): Line[] {
  const out: Line[] = [];
  let start = 0;
  for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, start)) {
    let end = nl;
    if (end > start && buf[end - 1] === 13) end--;
    let cut = end;
    if (end - start > max) {
      cut = start + max;
      while (cut > start && (buf[cut]! & 0xc0) === 0x80) cut--;
    }
    out.push({ text: buf.toString('utf8', start, cut), end: nl + 1, truncated: end - start > max });
    start = nl + 1;
  }
  return out;
}

test('any way of cutting random input into reads gives the same lines as splitting it whole', () => {
  let seed = 42;
  const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
  const alphabet = [0x61, 0x62, 0x0a, 0x0d, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xff, 0x20];
  for (let round = 0; round < 300; round++) {
    const buf = Buffer.from(Array.from({ length: rand(400) }, () => alphabet[rand(alphabet.length)]!));
    const max = 1 + rand(40);
    const chunks: Buffer[] = [];
    for (let at = 0; at < buf.length;) {
      const n = 1 + rand(60);
      chunks.push(buf.subarray(at, at + n));
      at += n;
    }
    assert.deepEqual(run(chunks, { maxLineBytes: max }), reference(buf, max), `round ${round}, max ${max}`);
  }
});
