import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import { ElasticsearchOutput, type ElasticsearchOutputOptions } from '../../../storage/elasticsearch/elasticsearch-output.js';
import { silentLogger } from '../../../platform/log.js';
import { createRegistry, type Registry } from '../../../platform/self-metrics.js';
import { esTestUrl } from '../../helpers/elasticsearch.js';
import { makeLogEvents } from '../../helpers/log-events.js';
import { startBulkStandIn } from '../../helpers/bulk-stand-in.js';
import { startTcpSwitch } from '../../helpers/tcp-switch.js';

async function metric(registry: Registry, name: string): Promise<number> {
  const m = registry.getSingleMetric(name);
  return m ? (await m.get()).values.reduce((s, v) => s + v.value, 0) : 0;
}

describe('the elasticsearch output with its disk buffer, against a real Elasticsearch', () => {
  let esUrl: string;
  let es: Client;
  let dataDir: string;
  const target = `sw-out-${process.pid}-${Date.now().toString(36)}`;
  const day = Date.UTC(2024, 5, 1, 12);

  before(async () => {
    esUrl = await esTestUrl();
    es = new Client({ node: esUrl, maxRetries: 0 });
  });
  after(async () => {
    await es.indices.delete({ index: `${target}*`, ignore_unavailable: true, allow_no_indices: true });
    const templates = await es.indices.getIndexTemplate({ name: `shipwatch-logs-${target}*` }, { ignore: [404] });
    for (const t of templates.index_templates ?? []) await es.indices.deleteIndexTemplate({ name: t.name });
    await es.close();
  });

  async function open(client: Client, registry: Registry, extra: Partial<ElasticsearchOutputOptions> = {}): Promise<ElasticsearchOutput> {
    return ElasticsearchOutput.open({
      client, dataDir, rotation: 'daily', maxBatchEvents: 50, maxBatchBytes: 1 << 20, flushIntervalMs: 10, concurrency: 2,
      retryPolicy: { initialDelayMs: 20, maxDelayMs: 100 },
      bufferMaxBytes: 1 << 20, bufferWhenFull: 'block', registry, log: silentLogger, ...extra,
    });
  }

  async function count(index: string): Promise<number> {
    await es.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
    return (await es.count({ index, ignore_unavailable: true, allow_no_indices: true })).count;
  }

  test('while Elasticsearch is down records wait on disk, and are replayed in order when it comes back', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'sw-out-'));
    const relay = await startTcpSwitch(esUrl, false);
    const client = new Client({ node: relay.url, maxRetries: 0 });
    const registry = createRegistry('test', false);
    // One request at a time: requests under way together may be indexed in any order.
    const out = await open(client, registry, { concurrency: 1 });
    const index = `${target}-a-2024.06.01`;
    for (let i = 0; i < 4; i++) await out.write(makeLogEvents(25, { target: `${target}-a`, timestampMs: day, idPrefix: `w${i}` }));
    assert.ok(out.bufferedBytes > 0, 'the batches are in the disk buffer');
    assert.equal(await count(index), 0);
    relay.setUp(true);
    await out.drained();
    assert.equal(out.bufferedBytes, 0);
    assert.equal(await count(index), 100);
    // One shard (the default): its sequence numbers are the order the batches were indexed in.
    const seq = async (id: string) => (await es.get({ index, id }))._seq_no!;
    const order = [await seq('w0-0'), await seq('w1-0'), await seq('w2-0'), await seq('w3-0')];
    assert.deepEqual(order, [...order].sort((a, b) => a - b), 'batches replayed oldest first');
    assert.ok((await metric(registry, 'shipwatch_buffer_written_events_total')) >= 100);
    // Records written once it answers go the same way, and are delivered as soon.
    await out.write(makeLogEvents(10, { target: `${target}-a`, timestampMs: day, idPrefix: 'direct' }));
    await out.drained();
    assert.equal(out.bufferedBytes, 0);
    assert.equal(await count(index), 110);
    await out.close();
    await client.close();
    await relay.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('many small buffered batches drain without each waiting for the flush interval', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'sw-out-'));
    const relay = await startTcpSwitch(esUrl, false);
    const client = new Client({ node: relay.url, maxRetries: 0 });
    // The default flush interval: a replay that waited for it would take a second per buffered batch.
    const out = await open(client, createRegistry('test', false), { flushIntervalMs: 1000 });
    const batches = 60;
    for (let i = 0; i < batches; i++) await out.write(makeLogEvents(2, { target: `${target}-e`, timestampMs: day, idPrefix: `e${i}` }));
    assert.ok(out.bufferedBytes > 0);
    relay.setUp(true);
    const t0 = Date.now();
    await out.drained();
    const tookMs = Date.now() - t0;
    assert.equal(await count(`${target}-e-2024.06.01`), batches * 2);
    assert.ok(tookMs < 15_000, `${batches} buffered batches replayed in ${tookMs} ms`);
    await out.close();
    await client.close();
    await relay.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('batches sent from the read-behind memory are the records written, though the encoder reuses the buffers of others', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'sw-out-'));
    const out = await open(es, createRegistry('test', false));
    const index = `${target}-rb-2024.06.01`;
    // Batches of one size one after another: a buffer given back is the next batch's, while earlier ones still wait.
    const batches = 40;
    for (let b = 0; b < batches; b++) {
      await out.write(makeLogEvents(50, { target: `${target}-rb`, timestampMs: day, idPrefix: `m${b}`, extra: (i) => ({ seq: `m${b}-${i}`, pad: 'x'.repeat(60) }) }));
    }
    await out.drained();
    assert.equal(await count(index), batches * 50);
    const found = await es.search<{ seq: string }>({ index, size: batches * 50, _source: ['seq'] });
    const mismatched = found.hits.hits.filter((h) => h._id !== h._source?.seq);
    assert.deepEqual(mismatched.map((h) => h._id).slice(0, 5), [], 'every document holds the record written with its id');
    await out.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('what is on disk survives a restart and is delivered by the next run', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'sw-out-'));
    const closedPort = new Client({ node: 'http://127.0.0.1:9', maxRetries: 0 });
    const first = await open(closedPort, createRegistry('test', false));
    await first.write(makeLogEvents(40, { target: `${target}-b`, timestampMs: day }));
    assert.ok(first.bufferedBytes > 0);
    await first.close();
    await closedPort.close();

    const registry = createRegistry('test', false);
    const second = await open(es, registry);
    await second.drained();
    assert.equal(await count(`${target}-b-2024.06.01`), 40);
    await second.close();
    // A third run finds nothing left to replay.
    const third = await open(es, createRegistry('test', false));
    assert.equal(third.bufferedBytes, 0);
    await third.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('records delivered but not acknowledged (a crash in between) are replayed by the next run, each stored once', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'sw-out-'));
    const relay = await startTcpSwitch(esUrl, false);
    const client = new Client({ node: relay.url, maxRetries: 0 });
    const first = await open(client, createRegistry('test', false));
    const index = `${target}-h-2024.06.01`;
    await first.write(makeLogEvents(30, { target: `${target}-h`, timestampMs: day, idPrefix: 'h' }));
    // What the disk held when write resolved: the state a crash right after the delivery would leave.
    const bufferDir = path.join(dataDir, 'buffer', 'elasticsearch');
    const kept = path.join(dataDir, 'kept');
    await cp(bufferDir, kept, { recursive: true });
    relay.setUp(true);
    await first.drained();
    assert.equal(await count(index), 30);
    await first.close();
    await client.close();
    await relay.close();

    await rm(bufferDir, { recursive: true });
    await rename(kept, bufferDir);
    const registry = createRegistry('test', false);
    const second = await open(es, registry);
    await second.drained();
    assert.equal(await metric(registry, 'shipwatch_delivery_records_total'), 30, 'the 30 records were sent again');
    assert.equal(await count(index), 30, 'each record is stored once: its id is the same');
    const versions = await es.search({ index, size: 100, version: true, query: { match_all: {} } });
    assert.deepEqual([...new Set(versions.hits.hits.map((h) => h._version))], [2], 'every document was overwritten by its replay');
    await second.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('a full buffer blocks write (back-pressure) until Elasticsearch drains it', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'sw-out-'));
    const relay = await startTcpSwitch(esUrl, false);
    const client = new Client({ node: relay.url, maxRetries: 0 });
    const out = await open(client, createRegistry('test', false), { bufferMaxBytes: 16 * 1024 });
    let written = 0;
    let blocked = false;
    for (let i = 0; i < 40 && !blocked; i++) {
      const w = out.write(makeLogEvents(10, { target: `${target}-c`, timestampMs: day, idPrefix: `c${i}` })).then(() => written++);
      blocked = await Promise.race([w.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 1500))]);
      if (blocked) {
        relay.setUp(true);
        await w;
      }
    }
    assert.ok(blocked, 'a write waited for space');
    await out.drained();
    assert.equal(await count(`${target}-c-2024.06.01`), written * 10);
    await out.close();
    await client.close();
    await relay.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('with when_full=drop records beyond the buffer are dropped and counted, the rest delivered', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'sw-out-'));
    const relay = await startTcpSwitch(esUrl, false);
    const client = new Client({ node: relay.url, maxRetries: 0 });
    const registry = createRegistry('test', false);
    const out = await open(client, registry, { bufferMaxBytes: 8 * 1024, bufferWhenFull: 'drop' });
    for (let i = 0; i < 12; i++) await out.write(makeLogEvents(10, { target: `${target}-d`, timestampMs: day, idPrefix: `d${i}` }));
    const dropped = await metric(registry, 'shipwatch_buffer_dropped_events_total');
    assert.ok(dropped > 0, 'some records were dropped');
    relay.setUp(true);
    await out.drained();
    assert.equal(await count(`${target}-d-2024.06.01`), 120 - dropped);
    await out.close();
    await client.close();
    await relay.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('a buffered record refused for its mapping is stored in the safe shape when replayed, and the rest of its batch is indexed', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'sw-out-'));
    const index = `${target}-f-2024.06.01`;
    // An index made before its template (an older pilot's): `status` mapped long without ignore_malformed.
    await es.index({ index, id: 'seed', document: { '@timestamp': new Date(day).toISOString(), status: 200 }, refresh: true });
    const relay = await startTcpSwitch(esUrl, false);
    const client = new Client({ node: relay.url, maxRetries: 0 });
    const registry = createRegistry('test', false);
    const out = await open(client, registry);
    const events = makeLogEvents(30, { target: `${target}-f`, timestampMs: day, idPrefix: 'f', extra: (i) => ({ status: i === 17 ? 'not a number' : 404 }) });
    await out.write(events);
    assert.ok(out.bufferedBytes > 0, 'the batch waits in the disk buffer');
    relay.setUp(true);
    await out.drained();
    assert.equal(await count(index), 31, 'the seed and the 30 records');
    assert.equal(await metric(registry, 'shipwatch_dead_letters_total'), 0);
    assert.equal(await metric(registry, 'shipwatch_es_mapping_conflicts_total'), 1);
    const safe = (await es.get({ index, id: 'f-17' }))._source as Record<string, unknown>;
    assert.equal(safe['message'], 'line 17');
    assert.equal(safe['status'], undefined);
    assert.deepEqual(JSON.parse(safe['json_text'] as string), { status: 'not a number' });
    assert.match(safe['mapping_error'] as string, /failed to parse field \[status\] of type \[long\]/);
    await out.close();
    await client.close();
    await relay.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('a record refused again in the safe shape is a dead letter with both reasons and the record as written', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'sw-out-'));
    const index = `${target}-m-2024.06.01`;
    // An index made before its template with `message` a date (its first line was one): text lines cannot fit.
    await es.index({ index, id: 'seed', document: { '@timestamp': new Date(day).toISOString(), message: '2024-06-01' }, refresh: true });
    const registry = createRegistry('test', false);
    const out = await open(es, registry);
    await out.write(makeLogEvents(3, { target: `${target}-m`, timestampMs: day, idPrefix: 'h', extra: () => ({ status: 1 }) }));
    await out.drained();
    assert.equal(await count(index), 1, 'only the seed');
    assert.equal(await metric(registry, 'shipwatch_dead_letters_total'), 3);
    const dir = path.join(dataDir, 'dead-letter');
    const letters = (await Promise.all((await readdir(dir)).map((f) => readFile(path.join(dir, f), 'utf8')))).join('').trim().split('\n')
      .map((l) => JSON.parse(l) as { id: string; status: number; reason: string; record: Record<string, unknown> });
    assert.deepEqual(letters.map((l) => l.id).sort(), ['h-0', 'h-1', 'h-2']);
    for (const l of letters) {
      assert.equal(l.status, 400);
      assert.match(l.reason, /failed to parse field \[message\] of type \[date\].*; in the safe shape: .*failed to parse field \[message\] of type \[date\]/);
      assert.equal(l.record['status'], 1, 'the record as written, not its safe shape');
    }
    const counted = (await registry.getSingleMetric('shipwatch_es_mapping_conflicts_total')!.get()).values;
    assert.deepEqual(Object.fromEntries(counted.map((v) => [v.labels['outcome'], v.value])), { reshaped: 3, dead_letter: 3 });
    await out.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('a buffer written in the previous format (JSON arrays of records) is delivered by the next run', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'sw-out-'));
    const dir = path.join(dataDir, 'buffer', 'elasticsearch');
    await mkdir(dir, { recursive: true });
    const batches = [0, 1, 2].map((i) => makeLogEvents(10, { target: `${target}-g`, timestampMs: day, idPrefix: `g${i}` }));
    // The first batch was acknowledged before the restart: its position was saved.
    const lines = batches.map((b) => JSON.stringify(b) + '\n');
    await writeFile(path.join(dir, '000000000001.ndjson'), lines.join(''));
    await writeFile(path.join(dir, 'read-position.json'), JSON.stringify({ seq: 1, offset: Buffer.byteLength(lines[0]!) }));
    const out = await open(es, createRegistry('test', false));
    await out.drained();
    assert.equal(await count(`${target}-g-2024.06.01`), 20);
    assert.equal((await readdir(dir)).filter((f) => f.endsWith('.ndjson')).length, 0, 'the old segments are gone');
    await out.close();
    await rm(dataDir, { recursive: true, force: true });
  });
});

describe('replaying the disk buffer under faults a real node will not produce on demand (loopback stand-in)', () => {
  test('stored batches are joined into requests, and replayed items answering 503 are sent again alone', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'sw-out-fault-'));
    let mode: 'down' | 'partial' | 'up' = 'down';
    const stand = await startBulkStandIn((n, ids) => {
      if (mode === 'down') return { kind: 'status', status: 503 };
      if (mode === 'partial') {
        mode = 'up';
        return { kind: 'items', statuses: ids.map((_, i) => (i % 4 === 1 ? 503 : 201)) };
      }
      return { kind: 'items', statuses: [] };
    });
    const client = new Client({ node: stand.url, maxRetries: 0 });
    const registry = createRegistry('test', false);
    const out = await ElasticsearchOutput.open({
      client, dataDir, rotation: 'daily', maxBatchEvents: 100, maxBatchBytes: 1 << 20, flushIntervalMs: 10, concurrency: 1,
      retryPolicy: { initialDelayMs: 20, maxDelayMs: 50 }, installTemplates: false,
      bufferMaxBytes: 1 << 20, bufferWhenFull: 'block', registry, log: silentLogger,
    });
    const day = Date.UTC(2024, 5, 1);
    const written: string[] = [];
    for (let i = 0; i < 8; i++) {
      const events = makeLogEvents(5, { target: 'replay', timestampMs: day, idPrefix: `r${i}` });
      written.push(...events.map((e) => e.id));
      await out.write(events);
    }
    assert.ok(out.bufferedBytes > 0);
    // Let the chain's current attempt end (it is sending the run it read first), then let the node answer.
    await new Promise((r) => setTimeout(r, 400));
    const switchedAt = stand.requests.length;
    mode = 'partial';
    await out.drained();
    const after = stand.requests.slice(switchedAt);
    const delivered = new Set(after.flatMap((r) => r.ids));
    assert.deepEqual(written.filter((id) => !delivered.has(id)), [], 'every record was sent after the node came back');
    assert.ok(after.some((r) => new Set(r.ids.map((id) => id.split('-')[0])).size > 1), 'a request carried several stored batches');
    const first = after[0]!;
    assert.deepEqual(after[1]!.ids, first.ids.filter((_, i) => i % 4 === 1), 'only the items that answered 503 were sent again');
    assert.ok(after.length <= 4, `${after.length} requests after the node came back for ${written.length} records`);
    const outcomes = (await registry.getSingleMetric('shipwatch_delivery_records_total')!.get()).values;
    assert.equal(outcomes.filter((v) => v.labels['outcome'] === 'delivered').reduce((sum, v) => sum + v.value, 0), written.length, 'each record counted delivered once');
    await out.close();
    await client.close();
    await stand.close();
    await rm(dataDir, { recursive: true, force: true });
  });
});
