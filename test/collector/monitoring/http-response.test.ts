/**
 * The http_response point as Telegraf's http_response input names and numbers it, and the monitor's results against
 * a real HTTP server of this process (no engine needed): an answer, a server that hangs, one that breaks off its body
 * and a port nobody listens on.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { httpMonitorRun } from '../../../collector/monitoring/http-monitor.js';
import { httpResponsePoint, requestFailureResult, RESULT_CODES } from '../../../collector/monitoring/http-response.js';
import { fieldPairs, tagPairs, type MetricPoint } from '../../../model/metric-point.js';
import { silentLogger } from '../../../platform/log.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import { freePort } from '../../helpers/ports.js';

test('result codes are Telegraf\'s: success 0 … dns_error 5, response_status_code_mismatch 6', () => {
  assert.deepEqual(RESULT_CODES, {
    success: 0, response_string_mismatch: 1, body_read_error: 2, connection_failed: 3, timeout: 4, dns_error: 5, response_status_code_mismatch: 6,
  });
});

test('an answered poll has Telegraf\'s tags and typed fields; the container\'s tags come along, Telegraf\'s own win a clash', () => {
  const p = httpResponsePoint(
    { server: 'http://10.0.0.5:8080/stats', method: 'GET', result: 'success', answer: { status: 503, responseTimeS: 0.0125 }, contentLength: 17 },
    { container_name: 'web-1', host: 'h', result: 'not-this' }, 5n,
  );
  assert.equal(p.measurement, 'http_response');
  assert.deepEqual(tagPairs(p), [['container_name', 'web-1'], ['host', 'h'], ['method', 'GET'], ['result', 'success'], ['server', 'http://10.0.0.5:8080/stats'], ['status_code', '503']]);
  assert.deepEqual(fieldPairs(p), [
    ['response_time', { type: 'float', value: 0.0125 }], ['http_response_code', { type: 'int', value: 503n }], ['content_length', { type: 'int', value: 17n }],
    ['result_type', { type: 'string', value: 'success' }], ['result_code', { type: 'int', value: 0n }],
  ]);
  assert.equal(p.timeNs, 5n);
});

test('a poll without an answer has no status_code, response_time, http_response_code or content_length, as Telegraf', () => {
  const p = httpResponsePoint({ server: 'http://x/', method: 'GET', result: 'timeout' }, {}, 1n);
  assert.deepEqual(tagPairs(p), [['method', 'GET'], ['result', 'timeout'], ['server', 'http://x/']]);
  assert.deepEqual(fieldPairs(p), [['result_type', { type: 'string', value: 'timeout' }], ['result_code', { type: 'int', value: 4n }]]);
});

test('fetch\'s failures are told apart: a refused port is connection_failed, a name that does not resolve dns_error, the timeout timeout', async () => {
  const port = await freePort();
  const refused = await fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
  assert.equal(requestFailureResult(refused), 'connection_failed');
  const dns = await fetch('http://no-such-host.invalid/').catch((e: unknown) => e);
  assert.equal(requestFailureResult(dns), 'dns_error');
  const server = http.createServer(() => undefined); // never answers
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const slow = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { signal: AbortSignal.timeout(100) }).catch((e: unknown) => e);
    assert.equal(requestFailureResult(slow), 'timeout');
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('the monitor against a real server: success with the JSON points, a 500 still success with its code, a body broken off body_read_error', async (t) => {
  const server = http.createServer((req, res) => {
    if (req.url === '/ok') res.end('{"a":1}');
    else if (req.url === '/fail') {
      res.statusCode = 500;
      res.end('oops');
    } else {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('{"a":');
      setTimeout(() => res.destroy(), 20);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const poll = async (path: string): Promise<{ outcome: string; points: MetricPoint[] }> => {
    const points: MetricPoint[] = [];
    const run = httpMonitorRun({
      url: new URL(base + path), tagKeys: [], containerName: 'c', tags: { container_name: 'c' }, timeoutMs: 2_000, maxBodyBytes: 1 << 20,
      emit: (p) => points.push(...p), log: silentLogger, registry: createRegistry('collector', false),
    });
    return { outcome: await run(), points };
  };
  const view = (p: MetricPoint): Record<string, unknown> => ({
    ...Object.fromEntries(tagPairs(p).filter(([k]) => k === 'result' || k === 'status_code')),
    ...Object.fromEntries(fieldPairs(p).filter(([k]) => k !== 'response_time').map(([k, v]) => [k, String(v.value)])),
  });

  const ok = await poll('/ok');
  assert.equal(ok.outcome, 'ok');
  assert.deepEqual(ok.points.map((p) => p.measurement), ['httpjson_c', 'http_response']);
  assert.deepEqual(view(ok.points[1]!), { result: 'success', status_code: '200', http_response_code: '200', content_length: '7', result_type: 'success', result_code: '0' });

  const failed = await poll('/fail');
  assert.equal(failed.outcome, 'status');
  assert.deepEqual(failed.points.map(view), [{ result: 'success', status_code: '500', http_response_code: '500', content_length: '4', result_type: 'success', result_code: '0' }]);

  const broken = await poll('/broken');
  assert.equal(broken.outcome, 'unreachable');
  assert.deepEqual(broken.points.map(view), [{ result: 'body_read_error', status_code: '200', http_response_code: '200', content_length: '5', result_type: 'body_read_error', result_code: '2' }]);
});
