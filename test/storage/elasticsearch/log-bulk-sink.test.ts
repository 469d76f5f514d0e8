import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import { DeadLetterFile } from '../../../delivery/dead-letter.js';
import { Sender } from '../../../delivery/sender.js';
import { BulkEncoder } from '../../../storage/elasticsearch/bulk-encoder.js';
import { describeItem, itemCount, type BulkItems } from '../../../storage/elasticsearch/bulk-items.js';
import { BulkRequestFailure, LogBulkSink } from '../../../storage/elasticsearch/log-bulk-sink.js';
import { silentLogger } from '../../../platform/log.js';
import type { LogEvent } from '../../../model/log-record.js';
import { createRegistry, type Registry } from '../../../platform/self-metrics.js';
import { startBulkStandIn } from '../../helpers/bulk-stand-in.js';
import { esTestUrl } from '../../helpers/elasticsearch.js';
import { makeLogEvents } from '../../helpers/log-events.js';

const FAST_RETRY = { initialDelayMs: 10, maxDelayMs: 50 };

async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const { values } = await m.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((s, v) => s + v.value, 0);
}

const encoder = new BulkEncoder('daily');
const items = (events: LogEvent[]): BulkItems => encoder.encodeItems(events);
const idsOf = (b: BulkItems): string[] => Array.from({ length: itemCount(b) }, (_, i) => describeItem(b, i).id);
const never = new AbortController().signal;

function makeSink(client: Client, registry: Registry): LogBulkSink {
  return new LogBulkSink({ name: 'es-test', client, opType: 'index', registry });
}

/** The chain's sender over the sink: what retries and writes dead letters. */
function sender(sink: LogBulkSink, registry: Registry, dataDir: string): Sender<BulkItems> {
  return new Sender({
    sink, deadLetters: new DeadLetterFile(dataDir, 'es-test', registry), retryPolicy: FAST_RETRY, registry, log: silentLogger, onProblem: () => undefined,
  });
}

describe('the log bulk sink against a real Elasticsearch', () => {
  let client: Client;
  let dataDir: string;
  const target = `sw-bulk-${process.pid}-${Date.now().toString(36)}`;
  const day = Date.UTC(2024, 2, 5, 10, 0, 0);

  before(async () => {
    client = new Client({ node: await esTestUrl(), maxRetries: 0 });
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'sw-bulk-'));
  });
  after(async () => {
    await client.indices.delete({ index: `${target}*`, ignore_unavailable: true, allow_no_indices: true });
    await client.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('records land in <target>-YYYY.MM.DD of their UTC day in one request, and sending them again overwrites', async () => {
    const registry = createRegistry('test', false);
    const sink = makeSink(client, registry);
    const events = [...makeLogEvents(150, { target, timestampMs: day }), ...makeLogEvents(50, { target, timestampMs: day + 86_400_000, idPrefix: 'next-day' })];
    const first = await sink.send(items(events), never);
    assert.deepEqual(first, { delivered: 200 });
    await client.indices.refresh({ index: `${target}-*` });
    assert.equal((await client.count({ index: `${target}-2024.03.05` })).count, 150);
    assert.equal((await client.count({ index: `${target}-2024.03.06` })).count, 50);

    const again = await sink.send(items(events), never);
    assert.equal(again.delivered, 200);
    await client.indices.refresh({ index: `${target}-*` });
    assert.equal((await client.count({ index: `${target}-*` })).count, 200);
    const doc = await client.get<{ message: string }>({ index: `${target}-2024.03.05`, id: events[7]!.id });
    assert.equal(doc._source?.message, 'line 7');
    assert.equal(doc._version, 2, 'the same id overwrote its document');
    assert.equal(await metric(registry, 'shipwatch_es_bulk_requests_total', { result: 'ok' }), 2);
  });

  test('a record refused for its mapping is sent again in the safe shape while the rest is indexed', async () => {
    const registry = createRegistry('test', false);
    const sink = makeSink(client, registry);
    const conflictTarget = `${target}-conflict`;
    // The first batch maps `status` as an object; then one record carries text there.
    await sink.send(items(makeLogEvents(1, { target: conflictTarget, timestampMs: day, idPrefix: 'seed', extra: () => ({ status: { code: 200 } }) })), never);
    const events = makeLogEvents(20, { target: conflictTarget, timestampMs: day, extra: (i) => ({ status: i === 13 ? 'not an object' : { code: 404 } }) });
    const outcome = await sink.send(items(events), never);
    assert.equal(outcome.delivered, 20);
    assert.equal(outcome.retry, undefined);
    assert.deepEqual(outcome.rejected, []);
    assert.equal(await metric(registry, 'shipwatch_es_mapping_conflicts_total', { outcome: 'reshaped' }), 1);
    const stored = (await client.get({ index: `${conflictTarget}-2024.03.05`, id: events[13]!.id }))._source as Record<string, unknown>;
    assert.equal(stored['message'], 'line 13');
    assert.equal(stored['docker_container'], 'app-1', 'the record fields stay');
    assert.deepEqual(JSON.parse(stored['json_text'] as string), { status: 'not an object' });
    assert.match(stored['mapping_error'] as string, /document_parsing_exception/);
    await client.indices.refresh({ index: `${conflictTarget}-*` });
    assert.equal((await client.count({ index: `${conflictTarget}-*` })).count, 21); // 20 + the seed
  });

  test('a record refused in the safe shape too is a dead letter with both reasons while the rest is indexed', async () => {
    const registry = createRegistry('test', false);
    const sink = makeSink(client, registry);
    const conflictTarget = `${target}-conflict2`;
    // The first record of the index makes `message` a date (no template here): a text message fits in no shape.
    const seed = makeLogEvents(1, { target: conflictTarget, timestampMs: day, idPrefix: 'seed' });
    seed[0]!.json = JSON.stringify({ ...JSON.parse(seed[0]!.json), message: '2024-03-05' });
    await sink.send(items(seed), never);
    const events = makeLogEvents(3, { target: conflictTarget, timestampMs: day, extra: (i) => ({ message: i === 1 ? 'text' : `2024-03-0${i + 1}` }) });
    const outcome = await sink.send(items(events), never);
    assert.equal(outcome.delivered, 2);
    assert.equal(outcome.retry, undefined);
    assert.equal(outcome.rejected?.length, 1);
    const letter = outcome.rejected![0]!;
    assert.equal(letter.id, events[1]!.id);
    assert.equal(letter.status, 400);
    assert.match(letter.reason, /document_parsing_exception.*; in the safe shape: document_parsing_exception/);
    assert.equal(letter.index, `${conflictTarget}-2024.03.05`);
    assert.equal(letter.record, events[1]!.json, 'the record as written');

    // Through the chain's sender the letter reaches the dead-letter file, and the batch is done.
    assert.equal(await sender(sink, registry, dataDir).send(items(events), never), 'done');
    const files = await readdir(path.join(dataDir, 'dead-letter'));
    const lines = (await Promise.all(files.map((f) => readFile(path.join(dataDir, 'dead-letter', f), 'utf8')))).join('').trim().split('\n');
    const filed = lines.map((l) => JSON.parse(l) as { id: string; status: number; reason: string; record: { message: string } });
    assert.deepEqual(filed.map((l) => [l.id, l.status, l.record.message]), [[events[1]!.id, 400, 'text']]);
    assert.equal(await metric(registry, 'shipwatch_dead_letters_total', {}), 1);
    assert.equal(await metric(registry, 'shipwatch_delivery_records_total', { outcome: 'rejected' }), 1);
    assert.equal(await metric(registry, 'shipwatch_es_mapping_conflicts_total', { outcome: 'dead_letter' }), 2);
  });

  test('a node out of reach fails the request as a whole, worded for /health, and worth another try', async () => {
    const registry = createRegistry('test', false);
    const closed = new Client({ node: 'http://127.0.0.1:9', maxRetries: 0 });
    const sink = makeSink(closed, registry);
    const err = await sink.send(items(makeLogEvents(5, { target, timestampMs: day })), never).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof BulkRequestFailure);
    assert.match(err.message, /^unreachable \(/);
    assert.deepEqual(sink.classify(err), { retry: true });
    assert.equal(await metric(registry, 'shipwatch_es_bulk_requests_total', { result: 'failed' }), 1);
    await closed.close();
  });
});

describe('the log bulk sink under faults a real node will not produce on demand (loopback stand-in)', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'sw-bulk-fault-'));
  });
  after(async () => rm(dataDir, { recursive: true, force: true }));

  test('a 429 storm is waited out by the sender, honouring Retry-After, and every record is finally delivered', async () => {
    // Three quick refusals, then one asking for a whole second: the backoff alone would wait at most 50 ms.
    const stand = await startBulkStandIn((n) => (n <= 4 ? { kind: 'status', status: 429, headers: { 'retry-after': n === 4 ? '1' : '0' } } : { kind: 'items', statuses: [] }));
    const client = new Client({ node: stand.url, maxRetries: 0 });
    const registry = createRegistry('test', false);
    const sink = makeSink(client, registry);
    const events = makeLogEvents(30, { target: 'storm', timestampMs: Date.UTC(2024, 0, 1) });
    const began = Date.now();
    assert.equal(await sender(sink, registry, dataDir).send(items(events), never), 'done');
    assert.ok(Date.now() - began >= 1000, 'Retry-After: 1 was waited');
    assert.equal(stand.requests.length, 5);
    assert.ok(stand.requests.every((r) => r.ids.length === 30), 'a whole-request failure resends the whole batch');
    assert.equal(await metric(registry, 'shipwatch_retries_total', { operation: 'es-test.send' }), 4);
    assert.equal(await metric(registry, 'shipwatch_es_bulk_requests_total', { result: 'failed' }), 4);
    assert.equal(await metric(registry, 'shipwatch_delivery_records_total', { outcome: 'delivered' }), 30);
    await client.close();
    await stand.close();
  });

  test('a whole request answered 503 is retried as it was, until the node takes it', async () => {
    const stand = await startBulkStandIn((n) => (n <= 2 ? { kind: 'status', status: 503 } : { kind: 'items', statuses: [] }));
    const client = new Client({ node: stand.url, maxRetries: 0 });
    const registry = createRegistry('test', false);
    const sink = makeSink(client, registry);
    const events = makeLogEvents(10, { target: 'down', timestampMs: Date.UTC(2024, 0, 1) });
    const err = await sink.send(items(events), never).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof BulkRequestFailure);
    assert.match(err.message, /^answered 503 /);
    assert.deepEqual(sink.classify(err), { retry: true });
    assert.equal(await sender(sink, registry, dataDir).send(items(events), never), 'done');
    assert.deepEqual(stand.requests.map((r) => r.ids.length), [10, 10, 10]);
    assert.equal(await metric(registry, 'shipwatch_delivery_records_total', { outcome: 'delivered' }), 10);
    await client.close();
    await stand.close();
  });

  test('items answering 429 come back alone as the batch to send again, with the reason', async () => {
    const stand = await startBulkStandIn((n, ids) => (n === 1 ? { kind: 'items', statuses: ids.map((_, i) => (i === 2 || i === 3 || i === 7 ? 429 : 201)) } : { kind: 'items', statuses: [] }));
    const client = new Client({ node: stand.url, maxRetries: 0 });
    const registry = createRegistry('test', false);
    const sink = makeSink(client, registry);
    const events = makeLogEvents(10, { target: 'busy', timestampMs: Date.UTC(2024, 0, 1) });
    const outcome = await sink.send(items(events), never);
    assert.equal(outcome.delivered, 7);
    assert.deepEqual(outcome.rejected, []);
    assert.ok(outcome.retry);
    assert.equal(outcome.retry.records, 3);
    assert.deepEqual(idsOf(outcome.retry.batch), [events[2]!.id, events[3]!.id, events[7]!.id]);
    assert.match(outcome.retry.reason, /answered 429 for .*stand-in shard busy/);
    const again = await sink.send(outcome.retry.batch, never);
    assert.deepEqual(again, { delivered: 3 });
    assert.deepEqual(stand.requests[1]!.ids, [events[2]!.id, events[3]!.id, events[7]!.id], 'only the refused items were sent again');
    assert.equal(await metric(registry, 'shipwatch_es_bulk_item_retries_total', {}), 3);
    await client.close();
    await stand.close();
  });

  test('items answering 503 are retried alone, and a half-written answer resends them, until all are delivered', async () => {
    const stand = await startBulkStandIn((n, ids) => {
      if (n === 1) return { kind: 'items', statuses: ids.map((_, i) => (i % 3 === 0 ? 503 : 201)) };
      if (n === 2) return { kind: 'cut' };
      return { kind: 'items', statuses: [] };
    });
    const client = new Client({ node: stand.url, maxRetries: 0 });
    const registry = createRegistry('test', false);
    const sink = makeSink(client, registry);
    const events = makeLogEvents(12, { target: 'partial', timestampMs: Date.UTC(2024, 0, 1) });
    assert.equal(await sender(sink, registry, dataDir).send(items(events), never), 'done');
    const retried = events.filter((_, i) => i % 3 === 0).map((e) => e.id);
    assert.equal(stand.requests.length, 3);
    assert.deepEqual(stand.requests[1]!.ids, retried, 'only the 503 items are sent again');
    assert.deepEqual(stand.requests[2]!.ids, retried, 'after the cut answer the same items are sent once more');
    assert.equal(await metric(registry, 'shipwatch_es_bulk_item_retries_total', {}), 4);
    assert.equal(await metric(registry, 'shipwatch_retries_total', { operation: 'es-test.send' }), 2);
    assert.equal(await metric(registry, 'shipwatch_delivery_records_total', { outcome: 'delivered' }), 12);
    await client.close();
    await stand.close();
  });

  test('a request too large (413) is sent in halves until each passes; an item too large alone is a dead letter', async () => {
    const big = 'big-5';
    const stand = await startBulkStandIn((_, ids) => (ids.length > 3 || ids.includes(big) ? { kind: 'status', status: 413 } : { kind: 'items', statuses: [] }));
    const client = new Client({ node: stand.url, maxRetries: 0 });
    const registry = createRegistry('test', false);
    const sink = makeSink(client, registry);
    const events = makeLogEvents(10, { target: 'large', timestampMs: Date.UTC(2024, 0, 1), idPrefix: 'big' });
    const outcome = await sink.send(items(events), never);
    assert.equal(outcome.delivered, 9);
    assert.equal(outcome.retry, undefined);
    assert.deepEqual(outcome.rejected?.map((l) => [l.id, l.status]), [[big, 413]]);
    const delivered = stand.requests.filter((r) => r.ids.length <= 3 && !r.ids.includes(big)).flatMap((r) => r.ids);
    assert.deepEqual(delivered.sort(), events.map((e) => e.id).filter((id) => id !== big).sort(), 'every other item went through once');
    await client.close();
    await stand.close();
  });

  test('split cuts a run by the bulk bounds, items and bytes, and keeps a larger item alone', async () => {
    const client = new Client({ node: 'http://127.0.0.1:9' });
    const sink = makeSink(client, createRegistry('test', false));
    const all = items(makeLogEvents(10, { target: 'cut', timestampMs: Date.UTC(2024, 0, 1), extra: (i) => (i === 6 ? { pad: 'p'.repeat(2000) } : {}) }));
    const whole = sink.split(all, 100, 1 << 20);
    assert.equal(whole.length, 1);
    assert.equal(whole[0], all, 'a run within the bounds is sent as it is');
    assert.deepEqual(sink.split(all, 4, 1 << 20).map(itemCount), [4, 4, 2]);
    const one = describeItem(all, 0).record.length + 100;
    const parts = sink.split(all, 100, 3 * one);
    assert.ok(parts.every((p) => itemCount(p) === 1 || p.bytes.length <= 3 * one), 'no part past the byte bound but an item alone');
    assert.deepEqual(parts.flatMap(idsOf), idsOf(all), 'every item once, in order');
    assert.ok(parts.some((p) => itemCount(p) === 1 && idsOf(p)[0]!.endsWith('-6')), 'the large item goes alone');
    await client.close();
  });
});
