import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MULTILINE_DEFAULTS, type MultilineSpec } from '../../pilot/log-declarations.js';
import { MultilineAggregator, type MultilineRecord } from '../../pilot/multiline.js';

const JAVA = /^\d{4}-\d{2}-\d{2} /u;

function setup(over: Partial<MultilineSpec> = {}) {
  let now = 1000;
  const out: MultilineRecord[] = [];
  const agg = new MultilineAggregator({ pattern: JAVA, ...MULTILINE_DEFAULTS, ...over }, (r) => out.push(r), () => now);
  let offset = 0;
  const push = (text: string, stream: 'stdout' | 'stderr' | null = null, truncated = false): void => {
    offset += Buffer.byteLength(text) + 1;
    agg.push(text, offset, offset, truncated, stream, now);
  };
  return { agg, out, push, tick: (ms: number) => { now += ms; }, clock: () => now };
}

test('a Java stack trace becomes one record, positioned at the end of its last line', () => {
  const { agg, out, push } = setup();
  const trace = ['2026-03-01 12:00:00 ERROR boom', 'java.lang.IllegalStateException: x', '\tat a.b.C.d(C.java:1)', ''];
  for (const line of trace) push(line);
  push('2026-03-01 12:00:01 INFO next');
  assert.equal(out.length, 1);
  assert.equal(out[0]!.text, '2026-03-01 12:00:00 ERROR boom\njava.lang.IllegalStateException: x\n\tat a.b.C.d(C.java:1)\n');
  assert.equal(out[0]!.lines, 4);
  assert.equal(out[0]!.endOffset, trace.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0));
  agg.flush();
  assert.equal(out[1]!.text, '2026-03-01 12:00:01 INFO next');
  assert.equal(agg.hasPending, false);
});

test('a first line that does not match still starts a record', () => {
  const { agg, out, push } = setup();
  push('\tat orphan');
  push('\tat orphan2');
  agg.flush();
  assert.deepEqual(out.map((r) => r.text), ['\tat orphan\n\tat orphan2']);
});

test('a record is flushed when it reaches max_lines; the next line starts a new one', () => {
  const { agg, out, push } = setup({ maxLines: 3 });
  push('2026-03-01 00:00:00 start');
  for (let i = 0; i < 4; i++) push(`  line ${i}`);
  agg.flush();
  assert.deepEqual(out.map((r) => r.lines), [3, 2]);
});

test('a record is flushed before its next line would pass max_bytes', () => {
  const { agg, out, push } = setup({ maxBytes: 40 });
  push('2026-03-01 00:00:00 start'); // 25 bytes
  push('  0123456789'); // 25 + 1 + 12 = 38
  push('  é'); // 38 + 1 + 4 = 43 > 40
  agg.flush();
  assert.deepEqual(out.map((r) => r.lines), [2, 1]);
  assert.ok(out.every((r) => Buffer.byteLength(r.text) <= 40));
});

test('a pending record is flushed by flushDue once the timeout passed, not before', () => {
  const { agg, out, push, tick, clock } = setup({ timeoutMs: 5000 });
  push('2026-03-01 00:00:00 start');
  tick(3000);
  push('  more');
  assert.equal(agg.nextDueMs(), clock() + 5000);
  tick(4999);
  agg.flushDue(clock());
  assert.equal(out.length, 0);
  tick(1);
  agg.flushDue(clock());
  assert.equal(out.length, 1);
  assert.equal(agg.nextDueMs(), Infinity);
});

test('stdout and stderr lines are never joined; the record keeps its first line\'s stream and time', () => {
  const { agg, out, push } = setup();
  push('2026-03-01 00:00:00 out', 'stdout');
  push('  err detail', 'stderr');
  push('  err more', 'stderr');
  agg.flush();
  assert.deepEqual(out.map((r) => [r.stream, r.lines]), [['stdout', 1], ['stderr', 2]]);
});

test('a truncated line marks its record', () => {
  const { agg, out, push } = setup();
  push('2026-03-01 00:00:00 start');
  push('  cut', null, true);
  agg.flush();
  assert.equal(out[0]!.truncated, true);
});
