import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authorization, createDatabaseRequest, databaseOf, queryError, writeApiFromPing, writeUrl } from '../../../storage/influxdb/write-api.js';

test('InfluxDB before 1.8 (and 0.x) has only the 1.x write API; 1.8, 2.x, 3.x and a server without a version header get the v2 API', () => {
  const api = (status: number, version?: string) => {
    const v = writeApiFromPing({ status, version });
    return v === 'unknown' ? v : v.api;
  };
  assert.equal(api(204, '1.6.7~rc0'), 'v1');
  assert.equal(api(204, '1.7.10'), 'v1');
  assert.equal(api(204, '0.13.0'), 'v1');
  assert.equal(api(204, '1.8.10'), 'v2');
  assert.equal(api(204, '1.11.8'), 'v2');
  assert.equal(api(204, 'v2.7.11'), 'v2');
  assert.equal(api(200, '3.0.1'), 'v2');
  assert.equal(api(204), 'v2', 'VictoriaMetrics answers /ping 204 without X-Influxdb-Version');
  assert.equal(api(204, 'unknown-build'), 'v2');
  assert.equal(api(401), 'v2', 'InfluxDB 1.x never asks credentials for /ping');
  assert.equal(api(404), 'v2');
  for (const busy of [408, 429, 500, 503]) assert.equal(api(busy, '1.6.7'), 'unknown');
  assert.deepEqual(writeApiFromPing({ status: 204, version: '1.6.7~rc0' }), { api: 'v1', server: 'InfluxDB 1.6.7~rc0' });
});

test('the 1.x API writes to the database and retention policy of the bucket; the v2 API names org and bucket', () => {
  const target = { url: 'http://influxdb:8086/', token: '', org: 'acme', bucket: 'telegraf' };
  assert.equal(writeUrl('v1', target), 'http://influxdb:8086/write?db=telegraf&precision=ns');
  assert.equal(writeUrl('v1', { ...target, bucket: 'telegraf/two weeks' }), 'http://influxdb:8086/write?db=telegraf&rp=two+weeks&precision=ns');
  assert.equal(writeUrl('v2', target), 'http://influxdb:8086/api/v2/write?org=acme&bucket=telegraf&precision=ns');
  assert.deepEqual(databaseOf('telegraf/autogen'), { database: 'telegraf', retentionPolicy: 'autogen' });
  assert.deepEqual(databaseOf('metrics'), { database: 'metrics', retentionPolicy: '' });
});

test('user:password is Basic auth on the 1.x API, a token is sent as Token, none is no header', () => {
  assert.deepEqual(authorization('v1', 'writer:s3cr:et'), { authorization: `Basic ${Buffer.from('writer:s3cr:et').toString('base64')}` });
  assert.deepEqual(authorization('v1', 'tok'), { authorization: 'Token tok' });
  assert.deepEqual(authorization('v2', 'writer:s3cret'), { authorization: 'Token writer:s3cret' });
  assert.deepEqual(authorization('v1', ''), {});
});

test('CREATE DATABASE quotes the name; a /query answer\'s error is found at the top or in a statement', () => {
  const req = createDatabaseRequest({ url: 'http://h:8086', token: '', org: '', bucket: 'we"ird\\db/rp' });
  assert.equal(req.url, 'http://h:8086/query');
  assert.equal(new URLSearchParams(req.body).get('q'), 'CREATE DATABASE "we\\"ird\\\\db"');
  assert.equal(queryError('{"results":[{"statement_id":0}]}'), undefined);
  assert.equal(queryError('{"results":[{"statement_id":0,"error":"requires admin privilege"}]}'), 'requires admin privilege');
  assert.equal(queryError('{"error":"authorization failed"}'), 'authorization failed');
  assert.equal(queryError('<html>proxy error</html>'), '<html>proxy error</html>');
});
