/**
 * Realistic Jaeger agent `emitBatch` datagrams (compact protocol) for the trace benchmarks: 10 spans each, 8 tags of
 * mixed types, 2 logs, a reference, a process with 4 tags (≈ 3.6 KB). Datagram `d` holds trace `d`: every datagram
 * up to `count` carries distinct trace and span ids.
 */
import { REF, TAG, encodeEmitBatch, type TBatch } from '../../test/collector/traces/support/thrift-writer.js';

export const SPANS_PER_DATAGRAM = 10;

export function datagrams(count: number): Buffer[] {
  const out: Buffer[] = [];
  const t0 = BigInt(Date.UTC(2024, 0, 1)) * 1000n;
  for (let d = 0; d < count; d++) {
    const traceLow = BigInt(d + 1) * 0x9e3779b97f4a7c15n;
    const batch: TBatch = {
      process: {
        serviceName: `shop-${d % 5}`,
        tags: [
          { key: 'hostname', vType: TAG.STRING, vStr: 'node-1.example.internal' }, { key: 'ip', vType: TAG.STRING, vStr: '10.0.3.17' },
          { key: 'jaeger.version', vType: TAG.STRING, vStr: 'Go-2.30.0' }, { key: 'client-uuid', vType: TAG.STRING, vStr: '4f1c0ffe-e0d1-5ea5-e4f1-c0ffee0d15ea' },
        ],
      },
      spans: Array.from({ length: SPANS_PER_DATAGRAM }, (_, i) => ({
        traceIdLow: traceLow, traceIdHigh: BigInt(d), spanId: traceLow + BigInt(i + 1), parentSpanId: i === 0 ? 0n : traceLow + 1n,
        operationName: `GET /api/orders/{id}`, flags: 1, startTime: t0 + BigInt(d * 1000 + i * 10), duration: BigInt(1000 + i * 37),
        references: i === 0 ? [] : [{ refType: REF.CHILD_OF, traceIdLow: traceLow, traceIdHigh: BigInt(d), spanId: traceLow + 1n }],
        tags: [
          { key: 'span.kind', vType: TAG.STRING, vStr: 'server' }, { key: 'component', vType: TAG.STRING, vStr: 'net/http' },
          { key: 'http.method', vType: TAG.STRING, vStr: 'GET' }, { key: 'http.url', vType: TAG.STRING, vStr: `/api/orders/${d * 10 + i}?expand=items` },
          { key: 'http.status_code', vType: TAG.LONG, vLong: 200n }, { key: 'error', vType: TAG.BOOL, vBool: false },
          { key: 'peer.address', vType: TAG.STRING, vStr: '10.0.7.2:51234' }, { key: 'sampler.param', vType: TAG.DOUBLE, vDouble: 0.001 },
        ],
        logs: [
          { timestamp: t0 + BigInt(d * 1000 + i * 10 + 1), fields: [{ key: 'event', vType: TAG.STRING, vStr: 'cache miss' }, { key: 'key', vType: TAG.STRING, vStr: `order:${d}` }, { key: 'size', vType: TAG.LONG, vLong: 1234n }] },
          { timestamp: t0 + BigInt(d * 1000 + i * 10 + 5), fields: [{ key: 'event', vType: TAG.STRING, vStr: 'db query' }, { key: 'rows', vType: TAG.LONG, vLong: 3n }, { key: 'retry', vType: TAG.BOOL, vBool: false }] },
        ],
      })),
    };
    out.push(encodeEmitBatch(batch, 'compact', d));
  }
  return out;
}
