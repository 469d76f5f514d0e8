import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { afterEach, beforeEach, test } from 'node:test';
import { DeadLetterFile } from '../../delivery/dead-letter.js';
import { DeliveryChain } from '../../delivery/delivery-chain.js';
import { DurableQueue, type FrameCodec } from '../../delivery/durable-queue.js';
import { MemoryQueue } from '../../delivery/memory-queue.js';
import type { DeliverySink, SendInfo, SendOutcome } from '../../delivery/sink.js';
import { silentLogger } from '../../platform/log.js';
import { createRegistry, type Registry } from '../../platform/self-metrics.js';

/** Batches of strings framed as "TDC1", u32 length, u32 CRC-32, JSON. */
const MAGIC = Buffer.from('TDC1', 'latin1');
const codec: FrameCodec<string[], string[]> = {
  magicPrefix: MAGIC,
  headerBytes: 12,
  encode(batch) {
    const body = Buffer.from(JSON.stringify(batch));
    const head = Buffer.alloc(12);
    MAGIC.copy(head);
    head.writeUInt32LE(body.length, 4);
    head.writeUInt32LE(crc32(body), 8);
    return [head, body];
  },
  records: (b) => b.length,
  read(buf, at) {
    if (buf.length - at < 12) return { kind: 'short', size: 0 };
    if (!buf.subarray(at, at + 4).equals(MAGIC)) return { kind: 'damaged', reason: 'no frame starts here' };
    const size = 12 + buf.readUInt32LE(at + 4);
    if (buf.length - at < size) return { kind: 'short', size };
    const body = buf.subarray(at + 12, at + size);
    if (crc32(body) !== buf.readUInt32LE(at + 8)) return { kind: 'damaged', reason: 'checksum mismatch' };
    const value = JSON.parse(body.toString()) as string[];
    return { kind: 'frame', value, records: value.length, bytes: body.length, size };
  },
  join: (values) => values.flat(),
};

/** A backend stand-in whose answers the test scripts: it is the fault the chain must ride out. */
class ScriptedSink implements DeliverySink<string[]> {
  readonly name = 'scripted';
  stored: string[] = [];
  sends = 0;
  down = false;
  /** Records answered "retry" once each (as Elasticsearch answers 429 for an item). */
  retryOnce = new Set<string>();
  refuse = new Set<string>();
  replayedSends = 0;
  async send(batch: string[], _signal: AbortSignal, info: SendInfo): Promise<SendOutcome<string[]>> {
    this.sends++;
    if (info.replayed) this.replayedSends++;
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED'), { retryAfterMs: 10 });
    const again = batch.filter((r) => this.retryOnce.delete(r));
    const refused = batch.filter((r) => this.refuse.has(r));
    const ok = batch.filter((r) => !again.includes(r) && !refused.includes(r));
    this.stored.push(...ok);
    return {
      delivered: ok.length,
      rejected: refused.map((r) => ({ index: 'x', status: 400, reason: `bad record ${r}`, id: r, record: JSON.stringify({ r }) })),
      retry: again.length > 0 ? { batch: again, records: again.length, reason: '429', retryAfterMs: 5 } : undefined,
    };
  }
  classify(err: unknown) {
    return { retry: true as const, retryAfterMs: (err as { retryAfterMs?: number }).retryAfterMs };
  }
  split(batch: string[], max: number): string[][] {
    const parts: string[][] = [];
    for (let i = 0; i < batch.length; i += max) parts.push(batch.slice(i, i + max));
    return parts;
  }
}

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'sw-chain-'));
});
afterEach(async () => rm(dataDir, { recursive: true, force: true }));

const policy = { initialDelayMs: 5, maxDelayMs: 20 };

async function durableChain(sink: ScriptedSink, registry: Registry, extra: { maxBytes?: number; whenFull?: 'block' | 'drop'; maxPendingRecords?: number } = {}) {
  const queue = await DurableQueue.open({ name: 'scripted', dataDir, maxBytes: extra.maxBytes ?? 1 << 20, whenFull: extra.whenFull ?? 'block', codec, registry });
  const chain = new DeliveryChain({
    sink, queue, records: (b: string[]) => b.length, maxPendingRecords: extra.maxPendingRecords ?? 1000,
    batch: { maxRecords: 10, maxBytes: 1 << 20, flushIntervalMs: 5 }, concurrency: 2, retryPolicy: policy,
    deadLetters: new DeadLetterFile(dataDir, 'scripted', registry), registry, log: silentLogger, drainTimeoutMs: 2000,
  });
  chain.start();
  return { chain, queue };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const numbered = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `r${from + i}`);

test('records submitted are delivered once each, items answered retry are sent again alone, and the queue is emptied', async () => {
  const sink = new ScriptedSink();
  sink.retryOnce = new Set(['r3', 'r17']);
  const { chain, queue } = await durableChain(sink, createRegistry('t', false));
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => chain.submit(numbered(i * 5, 5))));
  assert.deepEqual(new Set(answers), new Set(['accepted']));
  await until(() => sink.stored.length === 50);
  assert.deepEqual([...sink.stored].sort(), numbered(0, 50).sort());
  await until(() => queue.isEmpty);
  await chain.close();
});

test('while the sink is down the records wait, /health is told why, and they are delivered when it is back', async () => {
  const sink = new ScriptedSink();
  sink.down = true;
  const { chain } = await durableChain(sink, createRegistry('t', false));
  assert.equal(await chain.submit(numbered(0, 20)), 'accepted');
  await until(() => sink.sends >= 3);
  assert.match(chain.problem() ?? '', /^scripted: connect ECONNREFUSED/);
  sink.down = false;
  await until(() => sink.stored.length === 20);
  await until(() => chain.problem() === undefined);
  await chain.close();
});

test('records refused for their content go to the dead-letter file with the reason and are not sent again', async () => {
  const sink = new ScriptedSink();
  sink.refuse = new Set(['r2']);
  const { chain, queue } = await durableChain(sink, createRegistry('t', false));
  await chain.submit(numbered(0, 5));
  await until(() => sink.stored.length === 4);
  await until(() => queue.isEmpty);
  await chain.close();
  const [file] = await readdir(path.join(dataDir, 'dead-letter'));
  const letter = JSON.parse((await readFile(path.join(dataDir, 'dead-letter', file!), 'utf8')).trim()) as { reason: string; id: string };
  assert.equal(letter.id, 'r2');
  assert.equal(letter.reason, 'bad record r2');
});

test('what was not acknowledged when the program stopped is delivered by the next start, and nothing acknowledged is sent again', async () => {
  const first = new ScriptedSink();
  const a = await durableChain(first, createRegistry('t', false));
  await a.chain.submit(numbered(0, 10));
  await until(() => first.stored.length === 10);
  await until(() => a.queue.isEmpty);
  first.down = true;
  await a.chain.submit(numbered(10, 10));
  await until(() => first.sends >= 3);
  await a.chain.close();

  const second = new ScriptedSink();
  const b = await durableChain(second, createRegistry('t', false));
  await until(() => second.stored.length === 10);
  assert.deepEqual(second.stored.sort(), numbered(10, 10).sort());
  assert.ok(second.replayedSends > 0, 'the sink is told the batch is a replay');
  assert.equal(first.replayedSends, 0);
  await b.chain.submit(numbered(20, 5));
  await until(() => second.stored.length === 15);
  const replays = second.replayedSends;
  await b.chain.submit(numbered(25, 5));
  await until(() => second.stored.length === 20);
  assert.equal(second.replayedSends, replays, 'what this process wrote is not a replay');
  await b.chain.close();
});

test('a full disk budget blocks: the memory in front fills and further batches are answered busy', async () => {
  const sink = new ScriptedSink();
  sink.down = true;
  const { chain } = await durableChain(sink, createRegistry('t', false), { maxBytes: 300, maxPendingRecords: 20 });
  const answers: Array<Promise<string>> = [];
  for (let i = 0; i < 20; i++) answers.push(chain.submit(numbered(i * 10, 10)));
  const refused = await Promise.all(answers.slice(2));
  assert.ok(refused.every((a) => a === 'busy'), 'past the memory bound every batch is answered busy at once');
  assert.ok(chain.fill >= 1);
  sink.down = false;
  await until(() => sink.stored.length === 20);
  await chain.close();
});

test('a source that asks to wait for room (a file tail) is held while the budget is used, and accepted once deliveries free it', async () => {
  const sink = new ScriptedSink();
  sink.down = true;
  // Room for one batch of ten.
  const { chain } = await durableChain(sink, createRegistry('t', false), { maxBytes: 100 });
  assert.equal(await chain.submit(numbered(0, 10), { waitForRoom: true }), 'accepted');
  let answer: string | undefined;
  const waiting = chain.submit(numbered(10, 10), { waitForRoom: true }).then((a) => (answer = a));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(answer, undefined, 'held, not answered busy');
  sink.down = false;
  await waiting;
  assert.equal(answer, 'accepted');
  await until(() => sink.stored.length === 20);
  assert.deepEqual(sink.stored, numbered(0, 20));
  await chain.close();
});

test('with when_full=drop a batch past the disk budget is dropped and answered busy', async () => {
  const sink = new ScriptedSink();
  sink.down = true;
  const { chain } = await durableChain(sink, createRegistry('t', false), { maxBytes: 300, whenFull: 'drop' });
  const answers = [];
  for (let i = 0; i < 10; i++) answers.push(await chain.submit(numbered(i * 10, 10)));
  assert.equal(answers[0], 'accepted');
  assert.ok(answers.includes('busy'), 'once the budget is used the batches are dropped');
  await chain.close();
});

test('a memory queue delivers the same way and counts what it still holds at shutdown as abandoned', async () => {
  const registry = createRegistry('t', false);
  const sink = new ScriptedSink();
  const queue = new MemoryQueue<string[]>({ name: 'scripted', maxRecords: 100, whenFull: 'block', records: (b) => b.length, join: (b) => b.flat(), registry });
  const chain = new DeliveryChain({
    sink, queue, records: (b: string[]) => b.length, maxPendingRecords: 100, batch: { maxRecords: 10, maxBytes: 1 << 20, flushIntervalMs: 5 },
    concurrency: 2, retryPolicy: policy, registry, log: silentLogger,
  });
  chain.start();
  assert.equal(chain.offer(numbered(0, 30)), 'accepted');
  await until(() => sink.stored.length === 30);
  sink.down = true;
  chain.offer(numbered(30, 5));
  await until(() => sink.sends >= 6);
  await chain.close();
  const m = (await registry.getSingleMetric('shipwatch_delivery_abandoned_records_total')!.get()).values;
  assert.equal(m.reduce((s, v) => s + v.value, 0), 5);
});
