/**
 * The retention rules without Elasticsearch: which names the cleaner takes and when (Jaeger's es-index-cleaner
 * rules), the ILM policy and settings it would put (the test node has no ILM, so these requests are checked as
 * built, not as applied), and the retention variables refused at start when wrong.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../../platform/config/load-config.js';
import { ShipwatchError } from '../../../platform/errors.js';
import {
  DAY_MS, dailyLogShape, expiredBackingIndices, expiredIndices, indexFacts, jaegerDailyShape, jaegerIndexPattern, monthlyLogShape, retentionCutoffMs,
  type IndexFacts,
} from '../../../storage/elasticsearch/index-cleaner.js';
import { lifecycleOf, logsIlmPolicy, samePolicy, withLifecycleSetting } from '../../../storage/elasticsearch/ilm-policy.js';

const NOW = Date.UTC(2026, 11, 7, 6, 30);
const created = (name: string, daysAgo: number, writeIndex = false): IndexFacts => ({ name, creationMs: NOW - daysAgo * DAY_MS, writeIndex });

test('the cutoff is now less the days, as Jaeger 2.x computes it', () => {
  assert.equal(retentionCutoffMs(NOW, 3), Date.UTC(2026, 11, 4, 6, 30));
});

test('span indices are judged by their creation date; the date in the name only selects them', () => {
  const indices = [
    created('jaeger-span-2026-12-01', 6),
    created('jaeger-service-2026-12-01', 6),
    created('jaeger-dependencies-2026-12-01', 6),
    created('jaeger-sampling-2026-12-01', 6),
    created('jaeger-span-2026-12-05', 2),
    // Named for a day long past but created yesterday (a replay): kept until it is itself old.
    created('jaeger-span-2026-01-01', 1),
    // Just inside the limit, and just past it.
    { name: 'jaeger-span-2026-12-04', creationMs: retentionCutoffMs(NOW, 3), writeIndex: false },
    { name: 'jaeger-span-2026-12-03', creationMs: retentionCutoffMs(NOW, 3) - 1, writeIndex: false },
  ];
  assert.deepEqual(expiredIndices(indices, [jaegerDailyShape('')], retentionCutoffMs(NOW, 3)), [
    'jaeger-dependencies-2026-12-01', 'jaeger-sampling-2026-12-01', 'jaeger-service-2026-12-01', 'jaeger-span-2026-12-01', 'jaeger-span-2026-12-03',
  ]);
});

test('malformed names, unreal dates, write aliases and other prefixes are left alone', () => {
  const old = 30;
  const indices = [
    created('prod-jaeger-span-2026-11-01', old),
    created('prod-jaeger-span-2026-1-1', old),
    created('prod-jaeger-span-2026', old),
    created('prod-jaeger-span-2026-11', old),
    created('prod-jaeger-span-2026-02-30', old),
    created('prod-jaeger-span-2026-11-01-restored', old),
    created('prod-jaeger-span-000001', old),
    created('prod-jaeger-span-2026-11-02', old, true),
    created('jaeger-span-2026-11-01', old),
    created('xprod-jaeger-span-2026-11-01', old),
    created('prod-jaeger-spans-2026-11-01', old),
  ];
  const cutoff = retentionCutoffMs(NOW, 7);
  assert.deepEqual(expiredIndices(indices, [jaegerDailyShape('prod')], cutoff), ['prod-jaeger-span-2026-11-01']);
  // ES_INDEX_PREFIX written with its dash is the same prefix (Jaeger's IndexPrefix.Apply).
  assert.deepEqual(expiredIndices(indices, [jaegerDailyShape('prod-')], cutoff), ['prod-jaeger-span-2026-11-01']);
  assert.equal(jaegerIndexPattern('prod'), 'prod-jaeger-*');
  assert.equal(jaegerIndexPattern(''), 'jaeger-*');
});

test('a target\'s daily and monthly indices are taken, a monthly one only once its month ended before the cutoff', () => {
  const shapes = [dailyLogShape('app'), monthlyLogShape('app')];
  const indices = [
    created('app-2026.11.20', 17),
    created('app-2026.12.06', 1),
    created('app-2026.11', 36),
    // The running month's index, created 6 days ago: never deleted while the month runs.
    created('app-2026.12', 6),
    created('app', 60),
    created('app-2026.11.31', 17),
    created('app-1x-2026.11.20', 17),
    created('app-2026.11.20.bak', 17),
    created('web-2026.11.20', 17),
  ];
  assert.deepEqual(expiredIndices(indices, shapes, retentionCutoffMs(NOW, 3)), ['app-2026.11', 'app-2026.11.20']);
  // November ended on 1 December: with 7 days kept it stays until 8 December.
  assert.deepEqual(expiredIndices(indices, shapes, retentionCutoffMs(NOW, 7)), ['app-2026.11.20']);
  // A target whose name has regular-expression characters matches itself only.
  assert.deepEqual(expiredIndices([created('a.b-2026.11.20', 17), created('axb-2026.11.20', 17)], [dailyLogShape('a.b')], NOW), ['a.b-2026.11.20']);
});

test('a data stream\'s backing index goes once its successor was created before the cutoff; the write index stays', () => {
  const backing = [
    { name: '.ds-s-000001', creationMs: NOW - 10 * DAY_MS },
    { name: '.ds-s-000002', creationMs: NOW - 9 * DAY_MS },
    { name: '.ds-s-000003', creationMs: NOW - 2 * DAY_MS },
    { name: '.ds-s-000004', creationMs: NOW - 30 * DAY_MS },
  ];
  assert.deepEqual(expiredBackingIndices(backing.slice(0, 3), retentionCutoffMs(NOW, 5)), ['.ds-s-000001']);
  assert.deepEqual(expiredBackingIndices(backing.slice(0, 3), retentionCutoffMs(NOW, 1)), ['.ds-s-000001', '.ds-s-000002']);
  assert.deepEqual(expiredBackingIndices(backing.slice(3), NOW), []);
});

test('the index listing is read for creation dates and write aliases', () => {
  const facts = indexFacts({
    a: { aliases: {}, settings: { 'index.creation_date': '1796626729736' } },
    b: { aliases: { 'jaeger-span-write': {} }, settings: { 'index.creation_date': '1' } },
    c: { aliases: { logs: { is_write_index: true } }, settings: { 'index.creation_date': '2' } },
    d: { aliases: { 'jaeger-span-read': {} }, settings: { 'index.creation_date': '3' } },
    e: { settings: {} },
  });
  assert.deepEqual(facts, [
    { name: 'a', creationMs: 1796626729736, writeIndex: false },
    { name: 'b', creationMs: 1, writeIndex: true },
    { name: 'c', creationMs: 2, writeIndex: true },
    { name: 'd', creationMs: 3, writeIndex: false },
  ]);
});

test('the ILM policy rolls over by age and size and deletes after the days; a stored copy saying the same is not put again', () => {
  const body = logsIlmPolicy(14);
  assert.deepEqual(body.policy.phases, {
    hot: { actions: { rollover: { max_age: '1d', max_primary_shard_size: '50gb' } } },
    delete: { min_age: '14d', actions: { delete: {} } },
  });
  assert.equal(body.policy._meta['managed_by'], 'shipwatch');
  // As GET _ilm/policy answers it.
  const stored = { phases: { hot: { min_age: '0ms', actions: { rollover: { max_age: '1d', max_primary_shard_size: '50gb' } } }, delete: { min_age: '14d', actions: { delete: { delete_searchable_snapshot: true } } } } };
  assert.equal(samePolicy(stored, body), true);
  assert.equal(samePolicy(stored, logsIlmPolicy(7)), false);
  assert.equal(samePolicy(undefined, body), false);
});

test('the policy is named in a stream template\'s settings without losing the others', () => {
  const settings = { index: { mapping: { total_fields: { limit: '2000' } }, mode: 'standard' } };
  const named = withLifecycleSetting(settings, 'shipwatch-logs');
  assert.deepEqual(named, { index: { mapping: { total_fields: { limit: '2000' } }, mode: 'standard', lifecycle: { name: 'shipwatch-logs' } } });
  assert.equal(lifecycleOf(named), 'shipwatch-logs');
  assert.equal(lifecycleOf({ 'index.lifecycle.name': 'other' }), 'other');
  assert.equal(lifecycleOf(settings), undefined);
});

test('the retention variables are unset by default and a wrong value stops the start naming the variable', () => {
  const ok = loadConfig({ ELASTICSEARCH_RETENTION_DAYS: '7', ES_RETENTION_DAYS: ' 30 ' }, 'all');
  assert.equal(ok.pilot.esRetentionDays, 7);
  assert.equal(ok.spanStorage.esRetentionDays, 30);
  assert.equal(loadConfig({}, 'all').pilot.esRetentionDays, undefined);
  assert.equal(loadConfig({}, 'all').spanStorage.esRetentionDays, undefined);
  for (const [variable, value] of [['ELASTICSEARCH_RETENTION_DAYS', '0'], ['ELASTICSEARCH_RETENTION_DAYS', '7d'], ['ES_RETENTION_DAYS', '-1'], ['ES_RETENTION_DAYS', '99999']] as const) {
    const program = variable === 'ES_RETENTION_DAYS' ? 'collector' : 'pilot';
    assert.throws(() => loadConfig({ [variable]: value }, program), (err: unknown) => {
      assert.ok(err instanceof ShipwatchError && err.code === 'SW_CONFIG_INVALID');
      assert.match(err.message, new RegExp(`${variable}: "${value}" is not a number of days from 1 to 36500`));
      return true;
    });
  }
});
