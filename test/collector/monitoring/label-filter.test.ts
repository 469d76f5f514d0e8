import assert from 'node:assert/strict';
import { test } from 'node:test';
import { labelFilter, labelTags } from '../../../collector/monitoring/label-filter.js';

test('with no include glob every label is kept but the excluded ones', () => {
  const keep = labelFilter([], ['aliyun.*', 'secret']);
  assert.equal(keep('team'), true);
  assert.equal(keep('com.docker.compose.service'), true);
  assert.equal(keep('aliyun.logs.app'), false);
  assert.equal(keep('secret'), false);
  assert.equal(keep('secrets'), true, 'a glob without * matches the whole name only');
});

test('include globs keep only the labels they match, and exclude still wins', () => {
  const keep = labelFilter(['com.docker.*', 'tea?'], ['com.docker.compose.config-hash']);
  assert.equal(keep('com.docker.compose.project'), true);
  assert.equal(keep('com.docker.compose.config-hash'), false);
  assert.equal(keep('team'), true);
  assert.equal(keep('teams'), false);
  assert.equal(keep('io.kubernetes.pod.name'), false);
});

test('glob characters of regular expressions are taken literally', () => {
  const keep = labelFilter(['a.b', 'x+(y)', 'ta[gs]'], []);
  assert.equal(keep('a.b'), true);
  assert.equal(keep('axb'), false, 'a dot is a dot');
  assert.equal(keep('x+(y)'), true);
  assert.equal(keep('ta[gs]'), true);
  assert.equal(keep('tag'), false);
});

test('labels become tags; the tags already set win and empty label values are left out', () => {
  const tags = labelTags(
    { team: 'payments', host: 'from-a-label', empty: '', 'aliyun.logs.app': 'stdout' },
    labelFilter([], ['aliyun.*']),
    { host: 'node-1', container_name: 'web' },
  );
  assert.deepEqual(tags, { team: 'payments', host: 'node-1', container_name: 'web' });
});
