import assert from 'node:assert/strict';
import { test } from 'node:test';
import { datagramFrame, SyslogStreamFramer, utf8Cut, type SyslogFrame } from '../../../pilot/syslog/syslog-framing.js';

interface Out { text: string; truncated: boolean; error?: string }

const show = (f: SyslogFrame): Out => ({ text: f.bytes.toString('utf8'), truncated: f.truncated, ...(f.error ? { error: f.error.code } : {}) });

/** Frames of a connection that sent `chunks` and then closed. */
function frames(chunks: Array<string | Buffer>, max = 1024): { frames: Out[]; framing: string | undefined } {
  const framer = new SyslogStreamFramer(max);
  const out: Out[] = [];
  for (const c of chunks) out.push(...framer.push(typeof c === 'string' ? Buffer.from(c) : c).map(show));
  const framing = framer.framing;
  out.push(...framer.end().map(show));
  return { frames: out, framing };
}

/** The same bytes cut every way into two reads, and one byte per read. */
function everySplit(text: string): string[][] {
  const out = [[text], [...text]];
  for (let i = 1; i < text.length; i++) out.push([text.slice(0, i), text.slice(i)]);
  return out;
}

test('newline framing: one message per line, a CRLF sender\'s CR taken off, empty lines skipped', () => {
  const { frames: f, framing } = frames(['<13>Oct 11 22:14:15 a b: one\n<13>Oct 11 22:14:15 a b: two\r\n\n<14>three\n']);
  assert.equal(framing, 'newline');
  assert.deepEqual(f.map((x) => x.text), ['<13>Oct 11 22:14:15 a b: one', '<13>Oct 11 22:14:15 a b: two', '<14>three']);
});

test('octet counting (RFC 6587 3.4.1) is chosen by the first digit and reads frames however the bytes are cut', () => {
  const one = '<34>1 2003-10-11T22:14:15.003Z host app - ID47 - hi';
  const two = '<34>1 - - - - - - line\nwith a newline inside';
  const stream = `${Buffer.byteLength(one)} ${one}${Buffer.byteLength(two)} ${two}`;
  for (const chunks of everySplit(stream)) {
    const { frames: f, framing } = frames(chunks);
    assert.equal(framing, 'octet-counting');
    assert.deepEqual(f, [{ text: one, truncated: false }, { text: two, truncated: false }], JSON.stringify(chunks));
  }
});

test('octet counting: the trailing newline Docker\'s driver puts inside a frame, and one between frames, are taken off', () => {
  const msg = '<30>1 2026-12-07T15:40:24Z h web 1 web - line\n';
  const { frames: f } = frames([`${Buffer.byteLength(msg)} ${msg}\n${Buffer.byteLength(msg)} ${msg}`]);
  assert.deepEqual(f.map((x) => x.text), [msg.trimEnd(), msg.trimEnd()]);
});

test('a bad octet count marks the raw line and the rest of the connection is read as newline-framed', () => {
  for (const bad of ['12x<13>hello\n<13>next\n', '012 <13>hello\n<13>next\n', '1234567890 <13>hello\n<13>next\n']) {
    const { frames: f } = frames([bad]);
    assert.equal(f.length, 2, bad);
    assert.equal(f[0]!.error, 'bad_octet_count', bad);
    assert.equal(f[0]!.text, bad.split('\n')[0]);
    assert.deepEqual(f[1], { text: '<13>next', truncated: false });
  }
});

test('a bad count after good frames: the good ones stand, the bad one is kept raw and marked', () => {
  const { frames: f } = frames(['5 <13>a7 <13>bcd', 'zz garbage\n']);
  assert.deepEqual(f, [
    { text: '<13>a', truncated: false },
    { text: '<13>bcd', truncated: false },
    { text: 'zz garbage', truncated: false, error: 'bad_octet_count' },
  ]);
});

test('a connection closed inside a frame hands out what arrived, marked as a half frame', () => {
  assert.deepEqual(frames(['20 <13>only ten']).frames, [{ text: '<13>only ten', truncated: false, error: 'half_frame' }]);
  assert.deepEqual(frames(['5 <13>a12']).frames, [{ text: '<13>a', truncated: false }, { text: '12', truncated: false, error: 'half_frame' }]);
  // Newline framing: a last line without its newline is a whole message.
  assert.deepEqual(frames(['<13>a\n<13>no newline']).frames, [{ text: '<13>a', truncated: false }, { text: '<13>no newline', truncated: false }]);
  assert.deepEqual(frames([]).frames, []);
});

test('a frame over the limit is cut there, its rest skipped, and the next frame read whole (both framings)', () => {
  const long = '<13>' + 'x'.repeat(100);
  assert.deepEqual(frames([`${long}\n<13>next\n`], 20).frames, [
    { text: long.slice(0, 20), truncated: true }, { text: '<13>next', truncated: false },
  ]);
  for (const chunks of everySplit(`${long.length} ${long}9 <13>after`)) {
    assert.deepEqual(frames(chunks, 20).frames, [{ text: long.slice(0, 20), truncated: true }, { text: '<13>after', truncated: false }]);
  }
  // A count far past the limit: nothing more than the limit is held, the frame ends where the count says.
  const framer = new SyslogStreamFramer(16);
  assert.deepEqual(framer.push(Buffer.from('999999999 <13>')), []);
  for (let i = 0; i < 100; i++) framer.push(Buffer.alloc(1 << 16, 0x61));
  assert.ok((framer as unknown as { kept: number }).kept <= 17);
});

test('a cut never splits a UTF-8 character', () => {
  const text = '<13>' + 'é'.repeat(10); // 2 bytes each
  const { frames: f } = frames([text + '\n'], 9);
  assert.deepEqual(f, [{ text: '<13>éé', truncated: true }]);
  assert.equal(utf8Cut(Buffer.from('aé'), 2), 1);
  assert.equal(utf8Cut(Buffer.from('a€'), 3), 1);
  assert.equal(utf8Cut(Buffer.from('a€'), 4), 4);
});

test('a datagram is one message: trailing newlines and NULs off, cut at the limit', () => {
  assert.deepEqual(show(datagramFrame(Buffer.from('<30>Dec  7 15:40:24 web[1]: line\n'), 100)), { text: '<30>Dec  7 15:40:24 web[1]: line', truncated: false });
  assert.deepEqual(show(datagramFrame(Buffer.from('<13>a\nb\r\n\0'), 100)), { text: '<13>a\nb', truncated: false });
  assert.deepEqual(show(datagramFrame(Buffer.from('<13>abcdef'), 6)), { text: '<13>ab', truncated: true });
});

test('garbage bytes of any value never throw and come out as frames', () => {
  let seed = 7;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let round = 0; round < 200; round++) {
    const framer = new SyslogStreamFramer(64);
    for (let i = 0; i < 10; i++) {
      const chunk = Buffer.alloc(rnd() % 50);
      for (let j = 0; j < chunk.length; j++) chunk[j] = rnd() & 0xff;
      for (const f of framer.push(chunk)) assert.ok(f.bytes.length <= 64);
    }
    for (const f of framer.end()) assert.ok(f.bytes.length <= 64);
  }
});
