import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import type { LogEvent } from '../../../model/log-record.js';
import { parseDeclarations } from '../../../pilot/log-declarations.js';
import { createRecordEncoder } from '../../../pilot/record-encoder.js';
import { ElasticsearchOutput } from '../../../storage/elasticsearch/elasticsearch-output.js';
import { logQueryDsl } from '../../../storage/elasticsearch/log-query-dsl.js';
import { LOG_TEMPLATE_VERSION } from '../../../storage/elasticsearch/log-index-templates.js';
import { silentLogger } from '../../../platform/log.js';
import { createRegistry, type Registry } from '../../../platform/self-metrics.js';
import { BulkEncoder } from '../../../storage/elasticsearch/bulk-encoder.js';
import { LogTemplateInstaller } from '../../../storage/elasticsearch/log-template-installer.js';
import { makeLogEvents } from '../../helpers/log-events.js';
import { containerMeta } from '../../helpers/container-meta.js';
import { startTcpSwitch } from '../../helpers/tcp-switch.js';
import { emptyDataStream, esTestUrl } from '../../helpers/elasticsearch.js';

/**
 * Each mapping conflict a log line can meet, driven through the pilot's record encoder and the elasticsearch output
 * into the real Elasticsearch: every line stored and searchable by its `message`, nothing left only in the dead
 * letter, and the lines Elasticsearch refused as written counted and kept in the safe shape.
 */

async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  return (await m.get()).values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((s, v) => s + v.value, 0);
}

const DAY = Date.UTC(2026, 11, 6, 10);

describe('log lines whose fields conflict in type are all stored, against a real Elasticsearch', () => {
  let es: Client;
  let esUrl: string;
  const prefix = `swmap-${process.pid}-${Date.now().toString(36)}`;
  const standIn = `${prefix}-builtin-logs`;

  before(async () => {
    esUrl = await esTestUrl();
    es = new Client({ node: esUrl, maxRetries: 0 });
  });
  after(async () => {
    await es.indices.delete({ index: `${prefix}*,logs-${prefix}*`, ignore_unavailable: true, allow_no_indices: true });
    const templates = await es.indices.getIndexTemplate({ name: `*${prefix}*` }, { ignore: [404] });
    for (const t of templates.index_templates ?? []) await es.indices.deleteIndexTemplate({ name: t.name });
    await es.close();
  });

  interface Run {
    target: string;
    stored: Array<Record<string, unknown>>;
    reshaped: number;
    deadLetters: number;
    deadLetterText: string;
  }

  /** The lines through a container's declaration (`format`), the pilot's encoder and the output; what came out. */
  async function ship(name: string, lines: string[], format: 'json' | 'none', target = `${prefix}-${name}`): Promise<Run> {
    const meta = containerMeta({ labels: { [`aliyun.logs.${name}`]: 'stdout', [`aliyun.logs.${name}.format`]: format, [`aliyun.logs.${name}.target`]: target } });
    const { declarations } = parseDeclarations(meta, { prefixes: ['aliyun'], jsonLimits: { maxKeys: 5000, maxDepth: 100 } });
    const enc = createRecordEncoder(meta, declarations[0]!, { hostName: 'node-1', nodeName: '' }).forFile('', 'k');
    const events: LogEvent[] = lines.map((l, i) => enc.encode(l, (i + 1) * 100, false, 'stdout', DAY + i, NaN));
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'swmap-'));
    const registry = createRegistry('test', false);
    const client = new Client({ node: esUrl, maxRetries: 0 });
    // One line a request: each meets the mapping the lines before it made, as lines spread over time do.
    const out = await ElasticsearchOutput.open({
      client, dataDir, rotation: 'daily', maxBatchEvents: 1, maxBatchBytes: 1 << 20, flushIntervalMs: 5, concurrency: 1,
      retryPolicy: { initialDelayMs: 20, maxDelayMs: 100 }, bufferMaxBytes: 8 << 20, bufferWhenFull: 'block', registry, log: silentLogger,
    });
    for (const e of events) await out.write([e]);
    await out.drained();
    await out.close();
    await client.close();
    let deadLetterText = '';
    const letters = await readdir(path.join(dataDir, 'dead-letter')).catch(() => [] as string[]);
    for (const f of letters) deadLetterText += await readFile(path.join(dataDir, 'dead-letter', f), 'utf8');
    await rm(dataDir, { recursive: true, force: true });
    const index = `${target}-*`;
    await es.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
    const r = await es.search({ index, size: 1000, sort: [{ '@timestamp': 'asc' }], ignore_unavailable: true, allow_no_indices: true });
    return {
      target,
      stored: r.hits.hits.map((h) => h._source as Record<string, unknown>),
      reshaped: await metric(registry, 'shipwatch_es_mapping_conflicts_total', { outcome: 'reshaped' }),
      deadLetters: await metric(registry, 'shipwatch_es_mapping_conflicts_total', { outcome: 'dead_letter' }),
      deadLetterText,
    };
  }

  /** Each message found by a search on `message` (text) and on `message.keyword`, once. */
  async function assertSearchable(run: Run, messages: string[]): Promise<void> {
    const index = `${run.target}-*`;
    for (const m of messages) {
      const exact = await es.count({ index, query: { term: { 'message.keyword': m } } });
      assert.equal(exact.count, 1, `"${m}" found once by message.keyword`);
      const words = await es.count({ index, query: { match_phrase: { message: m } } });
      assert.ok(words.count >= 1, `"${m}" found by a match on message`);
    }
  }

  async function assertAllStored(run: Run, messages: string[], conflicts: number): Promise<void> {
    assert.equal(run.deadLetterText, '', 'nothing in the dead letter');
    assert.equal(run.deadLetters, 0);
    assert.equal(run.stored.length, messages.length, 'every line stored once');
    assert.deepEqual(run.stored.map((d) => d['message']), messages);
    assert.equal(run.reshaped, conflicts, 'lines stored in the safe shape, counted');
    await assertSearchable(run, messages);
  }

  /** json lines `{"message":"<name>-<i>", …fields}`. */
  function jsonLines(name: string, fields: string[]): { lines: string[]; messages: string[] } {
    const messages = fields.map((_, i) => `${name}-${i}`);
    return { messages, lines: fields.map((f, i) => `{"message":"${messages[i]}"${f === '' ? '' : ',' + f}}`) };
  }

  test('a container whose first line is a date keeps message as text: every later text line is stored', async () => {
    const lines = ['2026-12-06', '2026-12-06T10:00:00Z', 'started in 12 ms', '42', 'true', 'plain words'];
    const run = await ship('date-first', lines, 'none');
    await assertAllStored(run, lines, 0);
    const mapping = await es.indices.getMapping({ index: `${run.target}-*` });
    const props = Object.values(mapping)[0]!.mappings.properties!;
    assert.equal(props['message']!.type, 'text');
    assert.equal(props['@timestamp']!.type, 'date');
    assert.equal(props['host']!.type, 'keyword');
    // The log API's filters name the `.keyword` sub-fields of log-pilot-era indices: they find the records here too.
    const query = logQueryDsl({ target: run.target, container: 'shop-web-1', text: 'plain words' });
    assert.equal((await es.count({ index: `${run.target}-*`, query })).count, 1);
  });

  test('a json field that is a number and then an object: the object line is kept in the safe shape', async () => {
    const { lines, messages } = jsonLines('num-obj', ['"a":1', '"a":{"x":1}', '"a":2']);
    const run = await ship('num-obj', lines, 'json');
    await assertAllStored(run, messages, 1);
    assert.equal(run.stored[0]!['a'], 1);
    assert.equal(run.stored[1]!['a'], undefined, 'moved out of the top level');
    assert.deepEqual(JSON.parse(run.stored[1]!['json_text'] as string), { a: { x: 1 } });
    assert.match(run.stored[1]!['mapping_error'] as string, /failed to parse field \[a\] of type \[long\]/);
    assert.equal(run.stored[1]!['host'], 'node-1', 'the record fields stay');
    // The safe shape's text is searchable by its words.
    assert.equal((await es.count({ index: `${run.target}-*`, query: { match: { json_text: 'x' } } })).count, 1);
  });

  test('a json field that is a number and then a string is stored as written (ignore_malformed)', async () => {
    const { lines, messages } = jsonLines('num-str', ['"a":1', '"a":"abc"', '"a":3']);
    const run = await ship('num-str', lines, 'json');
    await assertAllStored(run, messages, 0);
    assert.equal(run.stored[1]!['a'], 'abc', 'kept in _source');
    assert.equal((await es.count({ index: `${run.target}-*`, query: { range: { a: { gte: 2 } } } })).count, 1, 'the numbers still range');
  });

  test('a json field that is a date and then text is stored (no date detection)', async () => {
    const { lines, messages } = jsonLines('date-text', ['"t":"2026-12-06T10:00:00Z"', '"t":"soon"', '"t":"2026-12-06"']);
    const run = await ship('date-text', lines, 'json');
    await assertAllStored(run, messages, 0);
    assert.equal((await es.count({ index: `${run.target}-*`, query: { term: { t: 'soon' } } })).count, 1);
  });

  test('a json field that is an object and then a string: the string line is kept in the safe shape', async () => {
    const { lines, messages } = jsonLines('obj-str', ['"o":{"x":1}', '"o":"flat"']);
    const run = await ship('obj-str', lines, 'json');
    await assertAllStored(run, messages, 1);
    assert.deepEqual(JSON.parse(run.stored[1]!['json_text'] as string), { o: 'flat' });
  });

  test('a json field that is a boolean and then a word is stored (booleans are keywords)', async () => {
    const { lines, messages } = jsonLines('bool-word', ['"ok":true', '"ok":"yes"', '"ok":false']);
    const run = await ship('bool-word', lines, 'json');
    await assertAllStored(run, messages, 0);
    assert.equal((await es.count({ index: `${run.target}-*`, query: { term: { ok: 'true' } } })).count, 1);
    assert.equal((await es.count({ index: `${run.target}-*`, query: { term: { ok: 'yes' } } })).count, 1);
  });

  test('a dotted key a.b and then a plain value of a: the second line is kept in the safe shape', async () => {
    const { lines, messages } = jsonLines('dotted', ['"a.b":1', '"a":"v"']);
    const run = await ship('dotted', lines, 'json');
    await assertAllStored(run, messages, 1);
  });

  test('an array of numbers and then an array of objects: the second line is kept in the safe shape', async () => {
    const { lines, messages } = jsonLines('arrays', ['"l":[1,2]', '"l":[{"x":1}]']);
    const run = await ship('arrays', lines, 'json');
    await assertAllStored(run, messages, 1);
    assert.deepEqual(JSON.parse(run.stored[1]!['json_text'] as string), { l: [{ x: 1 }] });
  });

  test('a json line with an _id key or an empty key is kept in the safe shape', async () => {
    const { lines, messages } = jsonLines('meta-keys', ['"_id":"abc"', '"":1', '"_source":{"a":1}', '"fine":1']);
    const run = await ship('meta-keys', lines, 'json');
    await assertAllStored(run, messages, 3);
    assert.deepEqual(JSON.parse(run.stored[0]!['json_text'] as string), { _id: 'abc' });
    assert.deepEqual(JSON.parse(run.stored[1]!['json_text'] as string), { '': 1 });
    assert.equal(run.stored[3]!['fine'], 1);
  });

  test('nesting deeper than Elasticsearch\'s default 20 levels is stored; past the template\'s limit in the safe shape', async () => {
    const nest = (key: string, depth: number): string => `"${key}":` + '{"n":'.repeat(depth - 1) + '1' + '}'.repeat(depth - 1);
    const { lines, messages } = jsonLines('deep', [nest('d', 25), nest('e', 60)]);
    const run = await ship('deep', lines, 'json');
    await assertAllStored(run, messages, 1);
    assert.equal(typeof run.stored[0]!['d'], 'object', 'stored as an object');
    assert.match(run.stored[1]!['mapping_error'] as string, /depth/);
  });

  test('lines bringing more than 1,000 and more than 2,000 fields are stored, the fields past the limit unindexed', async () => {
    const many = (from: number, n: number): string => Array.from({ length: n }, (_, k) => `"f${from + k}":${k}`).join(',');
    const { lines, messages } = jsonLines('wide', [many(0, 1500), many(1500, 1500), '"f1":7']);
    const run = await ship('wide', lines, 'json');
    await assertAllStored(run, messages, 0);
    assert.equal(Object.keys(run.stored[1]!).filter((k) => k.startsWith('f')).length, 1500, '_source keeps every field');
  });

  test('a json line with a key written twice and another spaced from its colon is stored with the last value', async () => {
    const lines = ['{"message":"dup-0","a":1,"a":2,"b" :3}', '{"message":"dup-1","c":{"k":1,"k":2, "j" :0}}'];
    const run = await ship('dup', lines, 'json');
    await assertAllStored(run, ['dup-0', 'dup-1'], 0);
    assert.equal(run.stored[0]!['a'], 2);
    assert.equal(run.stored[0]!['b'], 3);
    assert.deepEqual(run.stored[1]!['c'], { k: 2, j: 0 });
  });

  test('a target named like logs-*-* gets Shipwatch\'s template over a built-in one of its pattern, daily indices and all', async () => {
    // A stand-in for Elasticsearch's built-in `logs` template (priority 100, `logs-*-*`), narrowed to this test's names
    // and made to refuse text messages (no data stream: the test node cannot delete one).
    await es.indices.putIndexTemplate({
      name: standIn, index_patterns: [`logs-${prefix}*-*`], priority: 100,
      template: { mappings: { properties: { message: { type: 'long' } } } },
    });
    const target = `logs-${prefix}-web`;
    const lines = Array.from({ length: 11 }, (_, i) => `line ${i} of a logs-*-* target`);
    const run = await ship('logsweb', lines, 'none', target);
    await assertAllStored(run, lines, 0);
    const mapping = await es.indices.getMapping({ index: `${target}-*` });
    assert.deepEqual(Object.keys(mapping), [`${target}-2026.12.06`]);
    assert.equal(Object.values(mapping)[0]!.mappings.properties!['message']!.type, 'text');
  });

  test('the template is installed once, versioned, and an equal or newer version is left as it is', async () => {
    const target = `${prefix}-versioned`;
    await es.indices.putIndexTemplate({
      name: `shipwatch-logs-${target}`, index_patterns: [`${target}-1*`, `${target}-2*`], priority: 250, version: 99,
      template: { mappings: { properties: { operator_field: { type: 'keyword' } } } },
    });
    const run = await ship('versioned', ['kept'], 'none', target);
    assert.equal(run.stored.length, 1);
    const t = await es.indices.getIndexTemplate({ name: `shipwatch-logs-${target}` });
    assert.equal(t.index_templates[0]!.index_template.version, 99, 'the operator\'s newer template stays');
    const fresh = `${prefix}-fresh`;
    await ship('fresh', ['one'], 'none', fresh);
    const made = (await es.indices.getIndexTemplate({ name: `shipwatch-logs-${fresh}` })).index_templates[0]!.index_template;
    assert.equal(made.version, LOG_TEMPLATE_VERSION);
    assert.equal((made._meta as Record<string, unknown>)['managed_by'], 'shipwatch');
    assert.ok(made.priority! > 100);
  });

  test('while Elasticsearch is down the output opens and buffers; the template is installed when it answers, before the first document', async () => {
    const target = `${prefix}-late`;
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'swmap-'));
    const relay = await startTcpSwitch(esUrl, false);
    const client = new Client({ node: relay.url, maxRetries: 0 });
    const out = await ElasticsearchOutput.open({
      client, dataDir, rotation: 'daily', maxBatchEvents: 50, maxBatchBytes: 1 << 20, flushIntervalMs: 5, concurrency: 1,
      retryPolicy: { initialDelayMs: 20, maxDelayMs: 100 }, bufferMaxBytes: 8 << 20, bufferWhenFull: 'block', registry: createRegistry('test', false), log: silentLogger,
    });
    // The first document's message reads as a date: without the template first, `message` would be mapped a date.
    const events = makeLogEvents(5, { target, timestampMs: DAY, idPrefix: 'late' });
    events[0]!.json = JSON.stringify({ ...JSON.parse(events[0]!.json), message: '2026-12-06' });
    await out.write(events);
    assert.ok(out.bufferedBytes > 0, 'the records wait in the disk buffer');
    assert.equal((await es.indices.getIndexTemplate({ name: `shipwatch-logs-${target}` }, { ignore: [404] })).index_templates?.length ?? 0, 0);
    relay.setUp(true);
    await out.drained();
    await out.close();
    await client.close();
    await relay.close();
    await rm(dataDir, { recursive: true, force: true });
    await es.indices.refresh({ index: `${target}-*` });
    assert.equal((await es.count({ index: `${target}-*` })).count, 5);
    const mapping = await es.indices.getMapping({ index: `${target}-*` });
    assert.equal(Object.values(mapping)[0]!.mappings.properties!['message']!.type, 'text');
  });

  test('a data stream gets its own template in the Logs naming, installed where the cluster lacks constant_keyword too', async () => {
    const encoder = new BulkEncoder('datastream', 'swmap');
    const target = `${prefix}-stream-web`;
    const stream = encoder.indexName(target, DAY);
    assert.equal(stream, `logs-${prefix.replaceAll('-', '_')}_stream_web-swmap`);
    const installer = new LogTemplateInstaller(es, 'datastream', silentLogger);
    await installer.ensureFor(encoder.encodeItems(makeLogEvents(2, { target, timestampMs: DAY })), new AbortController().signal);
    const t = (await es.indices.getIndexTemplate({ name: `shipwatch-logs-stream-${stream}` })).index_templates[0]!.index_template;
    assert.deepEqual(t.index_patterns, [stream]);
    assert.ok(t.data_stream !== undefined, 'a data stream template');
    assert.ok(t.priority! > 100);
    // Writing to the stream is not tried here: the test node (integ-test distribution) cannot delete a data stream.
    await es.indices.deleteIndexTemplate({ name: `shipwatch-logs-stream-${stream}` });
  });

  test('with rotation datastream every line goes to logs-<dataset>-<namespace> with create, conflicts in the safe shape', async () => {
    // One stream reused by every run, emptied before and after: the integ-test distribution has no data stream API,
    // so a stream written cannot be deleted (its template stays with it).
    const target = 'swmap-ds';
    const namespace = 'swmap';
    const stream = `logs-${target.replaceAll('-', '_')}-${namespace}`;
    await emptyDataStream(es, stream);
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'swmap-'));
    const registry = createRegistry('test', false);
    const client = new Client({ node: esUrl, maxRetries: 0 });
    const out = await ElasticsearchOutput.open({
      client, dataDir, rotation: 'datastream', dataStreamNamespace: namespace, maxBatchEvents: 1, maxBatchBytes: 1 << 20, flushIntervalMs: 5, concurrency: 1,
      retryPolicy: { initialDelayMs: 20, maxDelayMs: 100 }, bufferMaxBytes: 8 << 20, bufferWhenFull: 'block', registry, log: silentLogger,
    });
    const events = makeLogEvents(3, { target, timestampMs: DAY, idPrefix: 'ds', extra: (i) => ({ a: i === 1 ? { x: 1 } : i }) });
    for (const e of events) await out.write([e]);
    await out.write([events[0]!]); // a replay: 409, already there
    await out.drained();
    await out.close();
    await client.close();
    await rm(dataDir, { recursive: true, force: true });
    try {
      await es.indices.refresh({ index: stream });
      const docs = await es.search<{ message: string; json_text?: string }>({ index: stream, size: 10, sort: ['_doc'] });
      assert.ok(docs.hits.hits.every((h) => h._index.startsWith(`.ds-${stream}-`)), 'in the stream\'s backing index');
      assert.deepEqual(docs.hits.hits.map((h) => h._source!.message).sort(), events.map((e) => e.text).sort(), 'every line once');
      assert.equal(docs.hits.hits.filter((h) => h._source!.json_text !== undefined).length, 1, 'the conflicting line in the safe shape');
      assert.equal(await metric(registry, 'shipwatch_es_mapping_conflicts_total', { outcome: 'reshaped' }), 1);
      assert.equal(await metric(registry, 'shipwatch_es_mapping_conflicts_total', { outcome: 'dead_letter' }), 0);
    } finally {
      await emptyDataStream(es, stream);
    }
  });
});
