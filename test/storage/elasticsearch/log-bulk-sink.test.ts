import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import { BulkEncoder } from '../../../storage/elasticsearch/bulk-encoder.js';
import { describeItem, itemCount, type BulkItems } from '../../../storage/elasticsearch/bulk-items.js';
import { BulkSink } from '../../../storage/elasticsearch/bulk-sink.js';
import { DeadLetterFile } from '../../../delivery/dead-letter.js';
import { silentLogger } from '../../../platform/log.js';
import type { LogEvent } from '../../../model/log-record.js';
import { createRegistry, type Registry } from '../../../platform/self-metrics.js';
import { startBulkStandIn } from '../../helpers/bulk-stand-in.js';
import { esTestUrl } from '../../helpers/elasticsearch.js';
import { makeLogEvents } from '../../helpers/log-events.js';

const FAST_RETRY = { initialDelayMs: 10, maxDelayMs: 50, maxElapsedMs: 10_000 };

async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const { values } = await m.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((s, v) => s + v.value, 0);
}

const encoder = new BulkEncoder('daily');
const items = (events: LogEvent[]): BulkItems => encoder.encodeItems(events);
const idsOf = (b: BulkItems): string[] => Array.from({ length: itemCount(b) }, (_, i) => describeItem(b, i).id);

function makeSink(client: Client, dataDir: string, registry: Registry, overrides: Partial<ConstructorParameters<typeof BulkSink>[0]> = {}): BulkSink {
  return new BulkSink({
    name: 'es-test',
    client,
    opType: 'index',
    maxBatchEvents: 100,
    maxBatchBytes: 1 << 20,
    flushIntervalMs: 20,
    concurrency: 2,
    retryPolicy: FAST_RETRY,
    deadLetters: new DeadLetterFile(dataDir, 'es-test', registry),
    registry,
    log: silentLogger,
    ...overrides,
  });
}

describe('the bulk sink against a real Elasticsearch', () => {
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

  test('records land in <target>-YYYY.MM.DD of their UTC day, and sending them again overwrites', async () => {
    const registry = createRegistry('test', false);
    const sink = makeSink(client, dataDir, registry);
    const events = [...makeLogEvents(150, { target, timestampMs: day }), ...makeLogEvents(50, { target, timestampMs: day + 86_400_000, idPrefix: 'next-day' })];
    const first = await sink.deliver(items(events));
    assert.deepEqual({ delivered: first.delivered, rejected: first.rejected, undelivered: itemCount(first.undelivered) }, { delivered: 200, rejected: 0, undelivered: 0 });
    await client.indices.refresh({ index: `${target}-*` });
    assert.equal((await client.count({ index: `${target}-2024.03.05` })).count, 150);
    assert.equal((await client.count({ index: `${target}-2024.03.06` })).count, 50);

    const again = await sink.deliver(items(events));
    assert.equal(again.delivered, 200);
    await client.indices.refresh({ index: `${target}-*` });
    assert.equal((await client.count({ index: `${target}-*` })).count, 200);
    const doc = await client.get<{ message: string }>({ index: `${target}-2024.03.05`, id: events[7]!.id });
    assert.equal(doc._source?.message, 'line 7');
    assert.equal(await metric(registry, 'shipwatch_output_events_total', { outcome: 'delivered' }), 400);
    await sink.close();
  });

  test('a record refused for a mapping conflict goes to the dead-letter file with its reason while the rest is indexed', async () => {
    const registry = createRegistry('test', false);
    const sink = makeSink(client, dataDir, registry);
    const conflictTarget = `${target}-conflict`;
    // The first batch maps `status` as a number; then one record carries text there.
    await sink.deliver(items(makeLogEvents(1, { target: conflictTarget, timestampMs: day, idPrefix: 'seed', extra: () => ({ status: 200 }) })));
    const events = makeLogEvents(20, { target: conflictTarget, timestampMs: day, extra: (i) => ({ status: i === 13 ? 'not a number' : 404 }) });
    const report = await sink.deliver(items(events));
    assert.equal(report.delivered, 19);
    assert.equal(report.rejected, 1);
    assert.equal(itemCount(report.undelivered), 0);
    await client.indices.refresh({ index: `${conflictTarget}-*` });
    assert.equal((await client.count({ index: `${conflictTarget}-*` })).count, 20); // 19 + the seed

    const files = await readdir(path.join(dataDir, 'dead-letter'));
    const lines = (await Promise.all(files.map((f) => readFile(path.join(dataDir, 'dead-letter', f), 'utf8')))).join('').trim().split('\n');
    const letters = lines.map((l) => JSON.parse(l) as { id: string; status: number; reason: string; index: string; record: { status: string } });
    const letter = letters.find((l) => l.id === events[13]!.id);
    assert.ok(letter, 'the refused record is in the dead-letter file');
    assert.equal(letter.status, 400);
    assert.match(letter.reason, /document_parsing_exception|mapper_parsing_exception/);
    assert.equal(letter.index, `${conflictTarget}-2024.03.05`);
    assert.equal(letter.record.status, 'not a number');
    assert.equal(await metric(registry, 'shipwatch_dead_letters_total', {}), 1);
    await sink.close();
  });

  test('a down Elasticsearch makes records come back undelivered at the retry deadline, counted', async () => {
    const registry = createRegistry('test', false);
    const closed = new Client({ node: 'http://127.0.0.1:9', maxRetries: 0 });
    const sink = makeSink(closed, dataDir, registry, { retryPolicy: { initialDelayMs: 10, maxDelayMs: 20, maxElapsedMs: 200 } });
    const events = makeLogEvents(5, { target, timestampMs: day });
    const report = await sink.deliver(items(events));
    assert.deepEqual(idsOf(report.undelivered), events.map((e) => e.id));
    assert.ok((await metric(registry, 'shipwatch_retries_total', { operation: 'es-test.bulk' })) >= 1);
    assert.equal(await metric(registry, 'shipwatch_retry_exhausted_total', { operation: 'es-test.bulk' }), 1);
    assert.equal(await metric(registry, 'shipwatch_output_events_total', { outcome: 'undelivered' }), 5);
    await sink.close();
    await closed.close();
  });
});

describe('the bulk sink under faults a real node will not produce on demand (loopback stand-in)', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'sw-bulk-fault-'));
  });
  after(async () => rm(dataDir, { recursive: true, force: true }));

  test('a 429 storm is waited out, honouring Retry-After, and every record is finally delivered', async () => {
    // Three quick refusals, then one asking for a whole second: the backoff alone would wait at most 50 ms.
    const stand = await startBulkStandIn((n) => (n <= 4 ? { kind: 'status', status: 429, headers: { 'retry-after': n === 4 ? '1' : '0' } } : { kind: 'items', statuses: [] }));
    const client = new Client({ node: stand.url, maxRetries: 0 });
    const registry = createRegistry('test', false);
    const sink = makeSink(client, dataDir, registry);
    const events = makeLogEvents(30, { target: 'storm', timestampMs: Date.UTC(2024, 0, 1) });
    const began = Date.now();
    const report = await sink.deliver(items(events));
    assert.ok(Date.now() - began >= 1000, 'Retry-After: 1 was waited');
    assert.equal(report.delivered, 30);
    assert.equal(stand.requests.length, 5);
    assert.ok(stand.requests.every((r) => r.ids.length === 30), 'a whole-request failure resends the whole batch');
    assert.equal(await metric(registry, 'shipwatch_retries_total', { operation: 'es-test.bulk' }), 4);
    assert.equal(await metric(registry, 'shipwatch_es_bulk_requests_total', { result: 'failed' }), 4);
    assert.equal(await metric(registry, 'shipwatch_output_events_total', { outcome: 'delivered' }), 30);
    await sink.close();
    await client.close();
    await stand.close();
  });

  test('items answering 503 are retried alone, and a half-written answer resends the batch, until all are delivered', async () => {
    const stand = await startBulkStandIn((n, ids) => {
      if (n === 1) return { kind: 'items', statuses: ids.map((_, i) => (i % 3 === 0 ? 503 : 201)) };
      if (n === 2) return { kind: 'cut' };
      return { kind: 'items', statuses: [] };
    });
    const client = new Client({ node: stand.url, maxRetries: 0 });
    const registry = createRegistry('test', false);
    const sink = makeSink(client, dataDir, registry);
    const events = makeLogEvents(12, { target: 'partial', timestampMs: Date.UTC(2024, 0, 1) });
    const report = await sink.deliver(items(events));
    assert.equal(report.delivered, 12);
    assert.equal(itemCount(report.undelivered), 0);
    const retried = events.filter((_, i) => i % 3 === 0).map((e) => e.id);
    assert.equal(stand.requests.length, 3);
    assert.deepEqual(stand.requests[1]!.ids, retried, 'only the 503 items are sent again');
    assert.deepEqual(stand.requests[2]!.ids, retried, 'after the cut answer the same items are sent once more');
    assert.equal(await metric(registry, 'shipwatch_es_bulk_item_retries_total', {}), 4);
    assert.equal(await metric(registry, 'shipwatch_retries_total', { operation: 'es-test.bulk' }), 2);
    assert.equal(await metric(registry, 'shipwatch_output_events_total', { outcome: 'delivered' }), 12);
    await sink.close();
    await client.close();
    await stand.close();
  });
});
