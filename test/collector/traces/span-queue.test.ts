import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SpanQueue } from '../../../collector/traces/span-queue.js';
import { silentLogger } from '../../../platform/log.js';
import { chunkSize, type Span, type SpanChunk, type WireSpans } from '../../../model/span.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import type { SpanWriter } from '../../../storage/span-storage.js';

function spans(from: number, n: number): Span[] {
  return Array.from({ length: n }, (_, i) => ({
    traceId: '1'.padStart(32, '0'), spanId: (from + i).toString(16).padStart(16, '0'), operationName: 'op', references: [], flags: 0,
    startTimeMicros: 1, durationMicros: 1, tags: [], logs: [], process: { serviceName: 's', tags: [] },
  }));
}

/** Spans still "on the wire": decoded only when asked, and counted when they are. */
class Wire implements WireSpans {
  decodes = 0;
  constructor(private readonly spans: Span[]) {}
  get count(): number {
    return this.spans.length;
  }
  decode(): Span[] {
    this.decodes++;
    return this.spans;
  }
}

function queue(writers: SpanWriter[], maxQueuedSpans = 1_000): SpanQueue {
  return new SpanQueue({ writers, maxQueuedSpans, maxBatchSpans: 10, flushIntervalMs: 5, concurrency: 1, log: silentLogger, registry: createRegistry('t', false) });
}

const ids = (batch: Span[]): number[] => batch.map((s) => Number.parseInt(s.spanId, 16));

test('batches hold whole chunks up to the batch size: model chunks are split, wire chunks never', async () => {
  const chunked: SpanChunk[][] = [];
  const flat: Span[][] = [];
  const wire = new Wire(spans(100, 4));
  const big = new Wire(spans(200, 12));
  const q = queue([
    { writeSpans: async () => assert.fail('a writer taking chunks is given chunks'), writeChunks: async (c) => void chunked.push([...c]), close: async () => {} },
    { writeSpans: async (s) => void flat.push(s), close: async () => {} },
  ]);
  for (const chunk of [spans(0, 7), wire, spans(7, 6), big, spans(13, 2)]) assert.equal(q.consume(chunk), 'accepted');
  await q.close();
  // 7 model spans, then the 4 of the wire chunk do not fit (11 > 10): they open the next batch with 6 model spans,
  // the 12 of the big wire chunk form a batch alone, then the last 2.
  assert.deepEqual(chunked.map((b) => b.map(chunkSize)), [[7], [4, 6], [12], [2]]);
  assert.deepEqual(flat.map(ids), [ids(spans(0, 7)), [...ids(spans(100, 4)), ...ids(spans(7, 6))], ids(spans(200, 12)), ids(spans(13, 2))]);
  assert.equal(wire.decodes, 1, 'decoded once, for the writer that wants objects');
  assert.deepEqual(chunked[1]![0], wire, 'the chunk-taking writer gets the wire chunk itself');
});

test('a model chunk larger than a batch is split across batches in order', async () => {
  const flat: Span[][] = [];
  const q = queue([{ writeSpans: async (s) => void flat.push(s), close: async () => {} }]);
  q.consume(spans(0, 3));
  q.consume(spans(3, 25));
  await q.close();
  assert.deepEqual(flat.map((b) => b.length), [10, 10, 8]);
  assert.deepEqual(flat.flatMap(ids), ids(spans(0, 28)));
});

test('the queue answers busy when a chunk would pass the spans it holds, and accepts again once written', async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  let written = 0;
  const q = queue([{ writeSpans: async (s) => { await gate; written += s.length; }, close: async () => {} }], 20);
  assert.equal(q.consume(spans(0, 15)), 'accepted');
  assert.equal(q.consume(new Wire(spans(15, 6))), 'busy', '15 + 6 > 20');
  assert.equal(q.consume(new Wire(spans(15, 5))), 'accepted');
  release();
  await q.drain();
  assert.equal(written, 20);
  assert.equal(q.consume(new Wire(spans(20, 6))), 'accepted');
  await q.close();
  assert.equal(written, 26);
});
