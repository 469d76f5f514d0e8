/**
 * Retention runs against the real Elasticsearch. The cleaner judges an index by its creation date (as Jaeger's
 * es-index-cleaner), which Elasticsearch sets itself and a test cannot backdate: so each test creates its "old"
 * indices, waits a moment, creates its "young" ones, reads their real creation dates back, and runs the cleaner
 * with a clock moved forward so that the cutoff falls between the two groups. Every index carries this run's
 * prefix; the node is shared, and nothing outside the prefix is ever listed.
 *
 * The node (integ-test-zip) has no ILM and no data stream API beyond the core: the data stream test takes the
 * no-ILM path (rollover and cleaning by the run) on one stream reused across runs, since a stream cannot be
 * deleted there.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import { silentLogger } from '../../../platform/log.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import { DAY_MS } from '../../../storage/elasticsearch/index-cleaner.js';
import { initLogs } from '../../../storage/elasticsearch/es-init.js';
import { LOG_TEMPLATE_VERSION } from '../../../storage/elasticsearch/log-index-templates.js';
import { cleanLogIndices, cleanSpanIndices, RetentionJob } from '../../../storage/elasticsearch/retention.js';
import { esTestUrl } from '../../helpers/elasticsearch.js';

const run = `swret-${process.pid}-${Date.now().toString(36)}`;
/** Long enough for two creation dates to differ clearly on a loaded machine. */
const GAP_MS = 1500;

let es: Client;

/** Creates the indices at once: the node batches their creation into one cluster state update (one by one took ~5 s each on a busy node). */
async function createIndices(names: string[], aliases: Record<string, Record<string, unknown>> = {}): Promise<void> {
  await Promise.all(names.map((index) => es.indices.create({
    index, settings: { number_of_shards: 1, number_of_replicas: 0 }, wait_for_active_shards: 1, ...(aliases[index] ? { aliases: aliases[index] } : {}),
  })));
}

/** Creation dates of the indices matching `pattern`. */
async function creationDates(pattern: string): Promise<Map<string, number>> {
  const r = await es.indices.getSettings({ index: pattern, name: 'index.creation_date', flat_settings: true, expand_wildcards: 'all' });
  return new Map(Object.entries(r).map(([name, body]) => [name, Number((body.settings as Record<string, string>)['index.creation_date'])]));
}

async function existing(pattern: string): Promise<string[]> {
  return Object.keys(await es.indices.get({ index: pattern, ignore_unavailable: true, allow_no_indices: true, expand_wildcards: 'all' })).sort();
}

/** A clock at which `days` before is halfway between the newest of `old` and the oldest of `young`. */
function clockBetween(dates: Map<string, number>, old: string[], young: string[], days: number): number {
  const lastOld = Math.max(...old.map((n) => dates.get(n)!));
  const firstYoung = Math.min(...young.map((n) => dates.get(n)!));
  assert.ok(firstYoung > lastOld, `the young indices were created after the old ones (${lastOld} < ${firstYoung})`);
  return Math.floor((lastOld + firstYoung) / 2) + days * DAY_MS;
}

describe('retention runs against a real Elasticsearch', () => {
  before(async () => {
    es = new Client({ node: await esTestUrl(), maxRetries: 0, requestTimeout: 30_000 });
  });
  after(async () => {
    await es.indices.delete({ index: `${run}*,other-${run}*`, ignore_unavailable: true, allow_no_indices: true, expand_wildcards: 'all' });
    const templates = await es.indices.getIndexTemplate({ name: `*${run}*` }, { ignore: [404] });
    for (const t of templates.index_templates ?? []) await es.indices.deleteIndexTemplate({ name: t.name });
    await es.close();
  });

  test('span indices created before the cutoff are deleted; younger, malformed, aliased and other prefixes stay', async () => {
    const p = `${run}-sp`;
    const old = [`${p}-jaeger-span-2026-11-01`, `${p}-jaeger-service-2026-11-01`, `${p}-jaeger-dependencies-2026-11-01`];
    const oldKept = [
      `${p}-jaeger-span-2026-1-1`, `${p}-jaeger-span-2026-02-30`, `${p}-jaeger-span-2026-11-01-restored`, `${p}-jaeger-span-000001`,
      `${p}-jaeger-span-2026-11-02`, `${p}-other-2026-11-01`, `${p}x-jaeger-span-2026-11-01`, `other-${p}-jaeger-span-2026-11-01`,
    ];
    await createIndices([...old, ...oldKept], { [`${p}-jaeger-span-2026-11-02`]: { [`${p}-jaeger-span-write`]: {} } });
    await sleep(GAP_MS);
    const young = [`${p}-jaeger-span-2026-12-06`, `${p}-jaeger-service-2026-12-06`];
    await createIndices(young);
    const dates = await creationDates(`${run}*,other-${run}*`);

    // Everything was created just now: with the real clock nothing is old, whatever its name says.
    assert.deepEqual((await cleanSpanIndices(es, { days: 1, prefix: p })).deleted, []);

    const nowMs = clockBetween(dates, [...old, ...oldKept], young, 2);
    const report = await cleanSpanIndices(es, { days: 2, prefix: p, nowMs });
    assert.deepEqual(report.deleted, [...old].sort());
    assert.deepEqual(await existing(`${run}*,other-${run}*`), [...oldKept, ...young].sort());
    // The prefix written with its dash is the same prefix; a second run finds nothing more.
    assert.deepEqual((await cleanSpanIndices(es, { days: 2, prefix: `${p}-`, nowMs })).deleted, []);
  });

  test('log indices of targets with a Shipwatch template are deleted by the same rule; others stay', async () => {
    const app = `${run}-app`;
    const web = `${run}-web`;
    const said: string[] = [];
    await initLogs({ client: es, where: 'test', targets: [app, web], rotation: 'daily', dataStreamNamespace: 'default' }, (l) => said.push(l));
    assert.equal(said.length, 2);
    for (const line of said) assert.match(line, /^log index template shipwatch-logs-swret-.* installed \(version \d+/);

    const month = new Date().toISOString().slice(0, 7).replace('-', '.');
    const old = [`${app}-2026.11.01`, `${app}-2026.10`, `${web}-2026.11.01`];
    const oldKept = [
      `${app}-${month}`, // the running month
      `${app}-2026.11.31`, `${app}-old`, app, `${app}-2026.11.01.bak`,
      `${app}-1x-2026.11.01`, // a target without a template, named like app's
      `${run}-none-2026.11.01`,
    ];
    await createIndices([...old, ...oldKept]);
    await sleep(GAP_MS);
    const young = [`${app}-2026.12.06`, `${web}-2026.12.07`];
    await createIndices(young);
    const dates = await creationDates(`${run}-app*,${run}-web*,${run}-none*`);
    const templatePattern = `shipwatch-logs-${run}-*`;

    assert.deepEqual((await cleanLogIndices(es, { days: 1, templatePattern })).deleted, []);
    const report = await cleanLogIndices(es, { days: 3, templatePattern, nowMs: clockBetween(dates, [...old, ...oldKept], young, 3) });
    assert.deepEqual(report.deleted, [...old].sort());
    assert.equal(report.ilm, undefined, 'no data stream, so ILM was not asked about');
    assert.deepEqual(await existing(`${run}-app*,${run}-web*,${run}-none*`), [...oldKept, ...young].sort());
  });

  test('es-init is idempotent: a second run finds the templates up to date', async () => {
    const said: string[] = [];
    await initLogs({ client: es, where: 'test', targets: [`${run}-app`], rotation: 'daily', dataStreamNamespace: 'default' }, (l) => said.push(l));
    assert.deepEqual(said, [`log index template shipwatch-logs-${run}-app (${run}-app, ${[1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => `${run}-app-${d}*`).join(', ')}): up to date (version ${LOG_TEMPLATE_VERSION})`]);
  });

  test('the periodic job runs its first pass after its delay, counts what it deleted, and stops on close', async () => {
    const p = `${run}-job`;
    await createIndices([`${p}-jaeger-span-2026-11-01`]);
    const registry = createRegistry('test', false);
    let runs = 0;
    let done = 0;
    const job = new RetentionJob({
      what: 'spans', intervalMs: 60_000, firstDelayMs: 10, registry, log: silentLogger,
      run: async (signal) => {
        runs++;
        const r = await cleanSpanIndices(es, { days: 1, prefix: p, nowMs: Date.now() + 2 * DAY_MS, signal });
        done++;
        return r;
      },
    }).start();
    for (let i = 0; i < 400 && done === 0; i++) await sleep(25);
    await job.close();
    await job.close();
    assert.equal(runs, 1);
    assert.deepEqual(await existing(`${p}*`), []);
    const metric = await registry.getSingleMetric('shipwatch_retention_deleted_indices_total')!.get();
    assert.equal(metric.values.find((v) => v.labels['what'] === 'spans')?.value, 1);
  });

  test('a run that cannot reach Elasticsearch is counted and logged, and the job goes on', async () => {
    const down = new Client({ node: 'http://127.0.0.1:1', maxRetries: 0, requestTimeout: 2000 });
    const registry = createRegistry('test', false);
    const warnings: string[] = [];
    const log = { ...silentLogger, warn: (msg: string) => void warnings.push(msg), child: () => log } as typeof silentLogger;
    const job = new RetentionJob({ what: 'spans', intervalMs: 60_000, firstDelayMs: 60_000, registry, log, run: (signal) => cleanSpanIndices(down, { days: 1, prefix: `${run}-down`, signal }) });
    assert.equal(await job.runOnce(), undefined);
    await job.close();
    await down.close();
    assert.match(warnings[0] ?? '', /retention run on spans failed; trying again in 1 min/);
    const failed = await registry.getSingleMetric('shipwatch_retention_failed_runs_total')!.get();
    assert.equal(failed.values[0]?.value, 1);
  });

  test('a data stream on a cluster without ILM: said once, rolled over and its old backing indices deleted by the run', async () => {
    // One stream for every run of this test: the node cannot delete a data stream.
    const target = 'sw-retention-test';
    const templatePattern = 'shipwatch-logs-stream-logs-sw_retention_test-default';
    const said: string[] = [];
    await initLogs({ client: es, where: 'test', targets: [target], rotation: 'datastream', dataStreamNamespace: 'default', retentionDays: 1 }, (l) => said.push(l));
    assert.match(said[0]!, /has no ILM/);
    const stream = 'logs-sw_retention_test-default';
    await es.index({ index: stream, op_type: 'create', document: { '@timestamp': new Date().toISOString(), message: 'first' }, refresh: true });
    // The day passing, as the run or ILM would roll it: two rollovers, so the oldest index has a successor older
    // than the cutoff chosen below and the middle one has not.
    await es.indices.rollover({ alias: stream });
    await es.index({ index: stream, op_type: 'create', document: { '@timestamp': new Date().toISOString(), message: 'second' }, refresh: true });
    await sleep(GAP_MS);
    await es.indices.rollover({ alias: stream });
    const backing = (await es.indices.resolveIndex({ name: stream, expand_wildcards: 'all' })).data_streams[0]!.backing_indices as string[];
    const dates = await creationDates(stream);
    const [middle, write] = backing.slice(-2) as [string, string];
    const expected = backing.slice(0, -2);
    assert.ok(expected.length >= 1);

    let ilmTold: boolean | undefined;
    const report = await cleanLogIndices(es, { days: 1, templatePattern, nowMs: Math.floor((dates.get(middle)! + dates.get(write)!) / 2) + DAY_MS, onIlm: (ilm) => { ilmTold = ilm; } });
    assert.equal(ilmTold, false);
    assert.equal(report.ilm, false);
    // Its write index was made just now: Elasticsearch's own max_age condition keeps it from rolling over again.
    assert.deepEqual(report.rolledOver, []);
    assert.deepEqual(report.deleted, expected);
    assert.deepEqual((await es.indices.resolveIndex({ name: stream, expand_wildcards: 'all' })).data_streams[0]!.backing_indices, [middle, write]);
    assert.equal((await es.count({ index: stream })).count, 1, 'the middle index keeps the second document; the write index is empty');
  });
});
