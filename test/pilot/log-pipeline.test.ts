import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../../platform/log.js';
import type { LogEvent, LogSink } from '../../model/log-record.js';
import { createRegistry } from '../../platform/self-metrics.js';
import { parseDeclarations } from '../../pilot/log-declarations.js';
import { SourceTail } from '../../pilot/file-tail.js';
import { LogPipeline } from '../../pilot/log-pipeline.js';
import { PositionStore } from '../../pilot/positions.js';
import { createRecordEncoder } from '../../pilot/record-encoder.js';
import { containerMeta } from '../helpers/container-meta.js';
import { waitFor } from '../helpers/wait.js';

const quiet = createLogger({ level: 'silent' });

/** An output whose acknowledgements the test releases (an output that is behind). */
class HeldSink implements LogSink {
  readonly name = 'held';
  readonly events: LogEvent[] = [];
  private holding = true;
  private waiting: Array<() => void> = [];
  failing = false;

  async write(events: LogEvent[]): Promise<void> {
    if (this.holding) await new Promise<void>((r) => this.waiting.push(r));
    if (this.failing) throw new Error('output refused the batch');
    this.events.push(...events);
  }

  release(): void {
    this.holding = false;
    for (const w of this.waiting.splice(0)) w();
  }

  async close(): Promise<void> {}
}

function setup(t: { after(fn: () => unknown): void }, labels: Record<string, string>, sink: LogSink, maxInFlightBytes: number) {
  const dir = mkdtempSync(join(tmpdir(), 'sw-pipe-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'a.log');
  writeFileSync(file, '');
  const meta = containerMeta({ labels });
  const decl = parseDeclarations(meta, { prefixes: ['aliyun'] }).declarations[0]!;
  const encoder = createRecordEncoder(meta, decl, { hostName: 'h', nodeName: '' });
  const pipeline = new LogPipeline({ sinks: [sink], maxInFlightBytes, maxLineBytes: 1024 * 1024, registry: createRegistry('pilot', false), log: quiet });
  const positions = PositionStore.open(join(dir, 'positions.json'), quiet, 60_000);
  t.after(() => positions.close());
  const tail = new SourceTail({
    containerId: meta.id, source: '/logs/a.log', positions, log: quiet,
    targets: {
      current: async () => ({ files: [{ hostPath: file, containerPath: '/logs/a.log', open: () => open(file, 'r') }], problems: [] }),
      rotated: async () => [],
    },
    consumer: (f, start) => pipeline.consumer(encoder, f, start),
    scanIntervalMs: 50, pollIntervalMs: 10, readChunkBytes: 16 * 1024, maxLineBytes: 1024 * 1024, rotatedGraceMs: 100,
    onProblem: () => {},
  });
  t.after(() => tail.stop());
  const committed = (): number => positions.ofSource(meta.id, '/logs/a.log')[0]?.offset ?? -1;
  return { file, pipeline, tail, committed };
}

test('while an output is behind, reading stops at the in-flight bound; released, every line arrives once, in order', async (t) => {
  const sink = new HeldSink();
  const { file, pipeline, tail, committed } = setup(t, { 'aliyun.logs.a': '/logs/a.log' }, sink, 64 * 1024);
  const lines = Array.from({ length: 50_000 }, (_, i) => `line ${i + 1} ${'x'.repeat(20)}`);
  writeFileSync(file, lines.join('\n') + '\n');
  const size = Buffer.byteLength(lines.join('\n') + '\n');
  await tail.start();
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(pipeline.pendingBytes > 0 && pipeline.pendingBytes <= 64 * 1024 + 16 * 1024, `in flight: ${pipeline.pendingBytes} bytes`);
  assert.equal(committed(), 0, 'nothing acknowledged, nothing saved');
  sink.release();
  await waitFor(() => committed() === size, { what: 'the position to reach the end' });
  assert.deepEqual(sink.events.map((e) => JSON.parse(e.json).message), lines);
  assert.equal(new Set(sink.events.map((e) => e.id)).size, lines.length, 'one id per line');
});

test('a batch an output fails is not acknowledged: the saved position stays before it', async (t) => {
  const sink = new HeldSink();
  const s = setup(t, { 'aliyun.logs.a': '/logs/a.log' }, sink, 1024 * 1024);
  sink.failing = true;
  sink.release();
  writeFileSync(s.file, 'one\ntwo\n');
  await s.tail.start();
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(s.committed(), 0);
  assert.equal(sink.events.length, 0);
});

test('a multiline declaration joins a stack trace into one record and ships the last one after its timeout', async (t) => {
  const sink = new HeldSink();
  sink.release();
  const { file, tail, committed } = setup(t, {
    'aliyun.logs.a': '/logs/a.log', 'aliyun.logs.a.multiline.pattern': '^\\d{4}-', 'aliyun.logs.a.multiline.timeout': '200ms',
  }, sink, 1024 * 1024);
  await tail.start();
  appendFileSync(file, '2026-01-01 boom\n  at a.b(C.java:1)\n  at d.e(F.java:2)\n2026-01-01 next\n  at x\n');
  await waitFor(() => sink.events.length === 2, { what: 'both records' });
  assert.deepEqual(sink.events.map((e) => JSON.parse(e.json).message), ['2026-01-01 boom\n  at a.b(C.java:1)\n  at d.e(F.java:2)', '2026-01-01 next\n  at x']);
  await waitFor(() => committed() === Buffer.byteLength('2026-01-01 boom\n  at a.b(C.java:1)\n  at d.e(F.java:2)\n2026-01-01 next\n  at x\n'), { what: 'the position after the flushed record' });
});
