import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { startJaegerUdpReceiver, type JaegerUdpReceiver } from '../../../collector/traces/receivers/jaeger-udp-receiver.js';
import { silentLogger } from '../../../platform/log.js';
import type { Span } from '../../../model/span.js';
import { createRegistry, type Registry } from '../../../platform/self-metrics.js';
import { CollectingConsumer, counterValue } from './support/collecting-consumer.js';
import { UDPSender } from './support/jaeger-client.js';
import { sendThriftSpans, traceWithTracer } from './support/jaeger-scenarios.js';
import { TAG, encodeEmitBatch, type TBatch, type TSpan } from './support/thrift-writer.js';

const byId = (spans: Span[]): Span[] => [...spans].sort((a, b) => (a.spanId < b.spanId ? -1 : 1));

async function send(port: number, ...datagrams: Buffer[]): Promise<void> {
  const socket = dgram.createSocket('udp4');
  for (const d of datagrams) await new Promise<void>((resolve, reject) => socket.send(d, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  socket.close();
}

function span(i: number, tagBytes = 0): TSpan {
  return {
    traceIdLow: BigInt(i + 1), traceIdHigh: 7n, spanId: BigInt(i + 100), parentSpanId: 0n, operationName: `op${i}`, flags: 1,
    startTime: 1_700_000_000_000_000n, duration: 10n,
    tags: tagBytes > 0 ? [{ key: 'blob', vType: TAG.STRING, vStr: 'x'.repeat(tagBytes) }] : [{ key: 'n', vType: TAG.LONG, vLong: BigInt(i) }],
  };
}

describe('the Jaeger UDP receivers', () => {
  let registry: Registry;
  let consumer: CollectingConsumer;
  let compact: JaegerUdpReceiver;
  let binary: JaegerUdpReceiver;
  const transport = (p: 'compact' | 'binary') => ({ protocol: `jaeger-udp-${p}` });

  before(async () => {
    registry = createRegistry('collector', false);
    consumer = new CollectingConsumer();
    const common = { consumer, registry, log: silentLogger, maxSpansPerBatch: 50 };
    compact = await startJaegerUdpReceiver({ ...common, listen: { host: '127.0.0.1', port: 0 }, protocol: 'compact' });
    binary = await startJaegerUdpReceiver({ ...common, listen: { host: '127.0.0.1', port: 0 }, protocol: 'binary' });
  });
  after(async () => {
    await compact.close();
    await binary.close();
    await compact.close();
  });

  test('spans traced with jaeger-client and sent by its UDP sender (binary) map exactly', async () => {
    consumer.spans.length = 0;
    const expected = await traceWithTracer(new UDPSender({ host: '127.0.0.1', port: binary.port }));
    const got = await consumer.waitFor(expected.length);
    assert.deepEqual(byId(got), byId(expected));
  });

  test('LONG tags beyond 2^53, extreme ids and every tag type survive jaeger-client\'s UDP sender exactly', async () => {
    consumer.spans.length = 0;
    const expected = await sendThriftSpans(new UDPSender({ host: '127.0.0.1', port: binary.port }));
    const got = await consumer.waitFor(expected.length);
    assert.deepEqual(byId(got), byId(expected));
  });

  test('a compact emitBatch datagram of 65,000 bytes is received whole', async () => {
    consumer.spans.length = 0;
    const batch: TBatch = { process: { serviceName: 'big' }, spans: [span(0, 1000)] };
    let size = 1000;
    let datagram = encodeEmitBatch(batch, 'compact');
    // The string's length prefix grows with it, so converge on the exact datagram size.
    while (datagram.length !== 65_000) {
      size += 65_000 - datagram.length;
      batch.spans[0] = span(0, size);
      datagram = encodeEmitBatch(batch, 'compact');
    }
    await send(compact.port, datagram);
    const [got] = await consumer.waitFor(1);
    assert.equal(got!.process.serviceName, 'big');
    assert.equal((got!.tags[0]!.value as string).length, size);
  });

  test('truncated, random and wrong-protocol datagrams are counted as decode errors and nothing is consumed', async () => {
    consumer.spans.length = 0;
    const before = await counterValue(registry, 'shipwatch_trace_decode_errors_total', transport('compact'));
    const good = encodeEmitBatch({ process: { serviceName: 's' }, spans: [span(1), span(2)] }, 'compact');
    const bad = [
      good.subarray(0, good.length - 3),
      good.subarray(0, 5),
      Buffer.from([0x82]),
      Buffer.alloc(0),
      Buffer.from('this is not thrift at all'),
      encodeEmitBatch({ process: { serviceName: 's' }, spans: [span(1)] }, 'binary'),
    ];
    await send(compact.port, ...bad, good);
    await consumer.waitFor(2);
    // The good datagram was sent last; UDP on loopback keeps order, so the bad ones are counted by now.
    assert.equal(await counterValue(registry, 'shipwatch_trace_decode_errors_total', transport('compact')), before + bad.length);
    assert.deepEqual(consumer.spans.map((s) => s.operationName), ['op1', 'op2']);
  });

  test('a datagram with more spans than allowed is refused whole and counted', async () => {
    consumer.spans.length = 0;
    const before = await counterValue(registry, 'shipwatch_trace_decode_errors_total', transport('binary'));
    const many = encodeEmitBatch({ process: { serviceName: 's' }, spans: Array.from({ length: 51 }, (_, i) => span(i)) }, 'binary');
    const ok = encodeEmitBatch({ process: { serviceName: 's' }, spans: [span(9)] }, 'binary');
    await send(binary.port, many, ok);
    await consumer.waitFor(1);
    assert.equal(consumer.spans.length, 1);
    assert.equal(await counterValue(registry, 'shipwatch_trace_decode_errors_total', transport('binary')), before + 1);
  });

  test('spans arriving while storage is busy are dropped and counted, and received again once it is not', async () => {
    consumer.spans.length = 0;
    const droppedBefore = await counterValue(registry, 'shipwatch_trace_spans_refused_busy_total', transport('compact'));
    const receivedBefore = await counterValue(registry, 'shipwatch_trace_spans_received_total', transport('compact'));
    consumer.busy = true;
    await send(compact.port, encodeEmitBatch({ process: { serviceName: 's' }, spans: [span(1), span(2), span(3)] }, 'compact'));
    const deadline = Date.now() + 5000;
    while (consumer.refused < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    consumer.busy = false;
    assert.equal(await counterValue(registry, 'shipwatch_trace_spans_refused_busy_total', transport('compact')), droppedBefore + 3);
    await send(compact.port, encodeEmitBatch({ process: { serviceName: 's' }, spans: [span(4)] }, 'compact'));
    await consumer.waitFor(1);
    assert.equal(await counterValue(registry, 'shipwatch_trace_spans_received_total', transport('compact')), receivedBefore + 1);
  });
});

test('a receiver cannot start on a port already taken, and says which', async () => {
  const registry = createRegistry('collector', false);
  const common = { consumer: new CollectingConsumer(), registry, log: silentLogger, maxSpansPerBatch: 10, protocol: 'compact' as const };
  const first = await startJaegerUdpReceiver({ ...common, listen: { host: '127.0.0.1', port: 0 } });
  try {
    await assert.rejects(startJaegerUdpReceiver({ ...common, listen: { host: '127.0.0.1', port: first.port } }), new RegExp(`udp 127.0.0.1:${first.port}`));
  } finally {
    await first.close();
  }
});
