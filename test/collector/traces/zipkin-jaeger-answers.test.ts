/**
 * Zipkin intake as Jaeger 2.x shows it. Each expectation is the answer of a real Jaeger 2.x (module
 * github.com/jaegertracing/jaeger v1.75.0, which receives Zipkin through opentelemetry-collector-contrib v0.139.0's
 * zipkin receiver; memory storage) to GET /api/traces/{id}?raw=true after the same body was posted to its
 * /api/v2/spans or /api/v1/spans. Endpoints become `net.host.ip`, `net.host.port`, `peer.service`, `net.peer.ip`
 * and `net.peer.port` in that version (not the newer `network.*` names). Tags compare as sets: the translator walks
 * Zipkin's tags as a Go map, in no fixed order.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeZipkin, type ZipkinFormat } from '../../../collector/traces/codecs/zipkin/zipkin-decode.js';
import type { KeyValue, Span } from '../../../model/span.js';

const T0 = 1_700_000_000_000_000;
const str = (key: string, value: string): KeyValue => ({ key, type: 'string', value });
const int = (key: string, value: number): KeyValue => ({ key, type: 'int64', value });
const bool = (key: string, value: boolean): KeyValue => ({ key, type: 'bool', value });

interface Answer {
  operationName: string;
  parent?: string;
  startTimeMicros: number;
  durationMicros: number;
  tags: KeyValue[];
  logs?: Array<{ timestampMicros: number; fields: KeyValue[] }>;
  warnings?: string[];
  service: string;
  processTags?: KeyValue[];
}

const CASES: Array<{ name: string; format: ZipkinFormat; body: unknown; answer: Answer }> = [
  {
    name: 'v2: endpoints, an error tag that is not "true", an annotation',
    format: 'v2-json',
    body: [{ traceId: 'f1', id: '1', name: 'get', kind: 'CLIENT', timestamp: T0, duration: 10, localEndpoint: { serviceName: 'zfront', ipv4: '10.0.0.1', port: 8080 }, remoteEndpoint: { serviceName: 'zback', ipv4: '10.0.0.2', ipv6: '2001:db8::1', port: 9000 }, tags: { 'http.path': '/x', error: 'boom' }, annotations: [{ timestamp: T0 + 1, value: 'ws' }] }],
    answer: {
      operationName: 'get', startTimeMicros: T0, durationMicros: 10, service: 'zfront',
      // The string error tag stays beside the error=true of the status; the IPv6 address is the peer's (put last).
      tags: [str('http.path', '/x'), str('error', 'boom'), str('net.host.ip', '10.0.0.1'), int('net.host.port', 8080), str('peer.service', 'zback'), str('net.peer.ip', '2001:db8::1'), int('net.peer.port', 9000), str('span.kind', 'client'), str('otel.status_code', 'ERROR'), bool('error', true)],
      logs: [{ timestampMicros: T0 + 1, fields: [str('event', 'ws')] }],
    },
  },
  {
    name: 'v2: no local endpoint, an empty name, debug, duration 0, span.kind internal as a tag, peer.ipv4 as text',
    format: 'v2-json',
    body: [{ traceId: 'f2', id: '1', parentId: '9', name: '', debug: true, timestamp: T0, duration: 0, tags: { 'span.kind': 'internal', 'peer.ipv4': '167772161' } }],
    answer: {
      operationName: '', parent: '0000000000000009', startTimeMicros: T0, durationMicros: 0, service: 'missing-service-name',
      tags: [str('peer.ipv4', '167772161'), str('span.kind', 'internal')],
      warnings: ['Negative duration detected, sanitizing end timestamp. Original end timestamp: 2023-11-14 22:13:20 +0000 UTC, adjusted to: 2023-11-14 22:13:20.000000001 +0000 UTC'],
    },
  },
  {
    name: 'v2: error "true" wins over otel.status_code OK',
    format: 'v2-json',
    body: [{ traceId: 'f3', id: '1', name: 'send', kind: 'PRODUCER', timestamp: T0, duration: 3, localEndpoint: { serviceName: 'zfront' }, tags: { error: 'true', 'otel.status_code': 'STATUS_CODE_OK' } }],
    answer: { operationName: 'send', startTimeMicros: T0, durationMicros: 3, service: 'zfront', tags: [str('span.kind', 'producer'), str('otel.status_code', 'ERROR'), bool('error', true)] },
  },
  {
    name: 'v2: no timestamp, a scope from otel.library.*, host.name a resource tag, port 0 left out',
    format: 'v2-json',
    body: [{ traceId: 'f4', id: '1', name: 'x', duration: 5, localEndpoint: { serviceName: 'zfront', ipv4: '192.168.1.1', port: 0 }, remoteEndpoint: { ipv6: '2001:DB8:0:0:0:0:0:1', port: 443 }, tags: { 'otel.library.name': 'lib', 'otel.library.version': '1.0', 'host.name': 'hh' } }],
    answer: {
      operationName: 'x', startTimeMicros: 0, durationMicros: 5, service: 'zfront', processTags: [str('host.name', 'hh')],
      tags: [str('otel.scope.name', 'lib'), str('otel.scope.version', '1.0'), str('net.host.ip', '192.168.1.1'), str('net.peer.ip', '2001:db8::1'), int('net.peer.port', 443), bool('otel.zipkin.absentField.startTime', true)],
    },
  },
  {
    name: 'v1: cs/cr make a client, lc is component, the endpoint is the process (ipv4 and port as text)',
    format: 'v1-json',
    body: [{ traceId: '00000000000000f5', id: '0000000000000001', name: 'rpc', timestamp: T0, duration: 20, annotations: [
      { timestamp: T0, value: 'cs', endpoint: { serviceName: 'zv1a', ipv4: '10.0.0.5', port: 80 } }, { timestamp: T0 + 20, value: 'cr', endpoint: { serviceName: 'zv1a', ipv4: '10.0.0.5', port: 80 } },
      { timestamp: T0 + 5, value: 'custom', endpoint: { serviceName: 'zv1a', ipv4: '10.0.0.5', port: 80 } }],
    binaryAnnotations: [{ key: 'http.url', value: '/u', endpoint: { serviceName: 'zv1a' } }, { key: 'sa', value: 'true', endpoint: { serviceName: 'zv1b', ipv4: '10.0.0.6', port: 81 } }, { key: 'lc', value: 'comp', endpoint: { serviceName: 'zv1a' } }] }],
    answer: {
      operationName: 'rpc', startTimeMicros: T0, durationMicros: 20, service: 'zv1a', processTags: [str('ipv4', '10.0.0.5'), str('port', '80')],
      tags: [str('http.url', '/u'), str('sa', 'true'), str('component', 'comp'), str('span.kind', 'client')],
      logs: [{ timestampMicros: T0 + 5, fields: [str('event', 'custom')] }],
    },
  },
  {
    name: 'v1: sr/ss make a server timed by them, an error annotation is the status and goes',
    format: 'v1-json',
    body: [{ traceId: '00000000000000f6', id: '0000000000000002', parentId: '0000000000000001', name: 'handle', annotations: [
      { timestamp: T0 + 2, value: 'sr', endpoint: { serviceName: 'zv1b', ipv4: '10.0.0.6', port: 81 } }, { timestamp: T0 + 12, value: 'ss', endpoint: { serviceName: 'zv1b', ipv4: '10.0.0.6', port: 81 } }],
    binaryAnnotations: [{ key: 'error', value: 'oops', endpoint: { serviceName: 'zv1b' } }, { key: 'http.status_code', value: '503', endpoint: { serviceName: 'zv1b' } }, { key: 'ca', value: '1', endpoint: { serviceName: 'zv1a', ipv4: '10.0.0.5' } }] }],
    answer: {
      operationName: 'handle', parent: '0000000000000001', startTimeMicros: T0 + 2, durationMicros: 10, service: 'zv1b', processTags: [str('ipv4', '10.0.0.6'), str('port', '81')],
      tags: [str('http.status_code', '503'), str('ca', '1'), str('span.kind', 'server'), str('otel.status_code', 'ERROR'), bool('error', true)],
    },
  },
];

const sortedTags = (tags: KeyValue[]): string[] => tags.map((t) => JSON.stringify(t)).sort();

test('Zipkin bodies decode to the spans Jaeger 2.x shows for them', () => {
  for (const c of CASES) {
    const result = decodeZipkin(Buffer.from(JSON.stringify(c.body)), c.format, 100);
    assert.ok(result.ok, `${c.name}: ${result.ok ? '' : result.message}`);
    assert.equal(result.spans.length, 1, c.name);
    const span: Span = result.spans[0]!;
    const a = c.answer;
    assert.equal(span.operationName, a.operationName, c.name);
    assert.deepEqual(span.references.map((r) => [r.refType, r.spanId]), a.parent === undefined ? [] : [['CHILD_OF', a.parent]], c.name);
    assert.equal(span.startTimeMicros, a.startTimeMicros, c.name);
    assert.equal(span.durationMicros, a.durationMicros, c.name);
    assert.deepEqual(sortedTags(span.tags), sortedTags(a.tags), c.name);
    assert.deepEqual(span.logs, a.logs ?? [], c.name);
    assert.deepEqual(span.warnings, a.warnings, c.name);
    assert.equal(span.process.serviceName, a.service, c.name);
    assert.deepEqual(sortedTags(span.process.tags), sortedTags(a.processTags ?? []), c.name);
  }
});
