import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { decodeAgentEmitBatch, decodeJaegerBatch, type JaegerDecodeResult } from '../../../model/jaeger-thrift/jaeger-thrift.js';
import { createDatagramHandler, startJaegerUdpReceiver } from '../../../collector/traces/receivers/jaeger-udp-receiver.js';
import { silentLogger } from '../../../platform/log.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import { CollectingConsumer, counterValue } from '../../collector/traces/support/collecting-consumer.js';
import { mutate, seedBatch } from '../../collector/traces/support/jaeger-fuzz.js';
import { encodeBatch, encodeEmitBatch } from '../../collector/traces/support/thrift-writer.js';
import { seededRandom } from '../../helpers/seeded-random.js';

function check(result: JaegerDecodeResult): void {
  if (result.ok) {
    for (const s of result.spans) {
      assert.match(s.traceId, /^[0-9a-f]{32}$/);
      assert.match(s.spanId, /^[0-9a-f]{16}$/);
      assert.equal(typeof s.process.serviceName, 'string');
    }
  } else {
    assert.doesNotMatch(result.error, /decoder failure/, 'only a defect reaches the catch-all');
    assert.ok(result.error.length > 0 && result.error.length < 500);
  }
}

test('every prefix of valid datagrams and bodies fails cleanly, and only the whole decodes', () => {
  const random = seededRandom(1);
  const batch = seedBatch(random, 5);
  for (const protocol of ['compact', 'binary'] as const) {
    const emit = encodeEmitBatch(batch, protocol);
    const body = encodeBatch(batch, protocol);
    for (let n = 0; n < emit.length; n++) {
      const result = decodeAgentEmitBatch(emit.subarray(0, n), protocol);
      check(result);
      assert.equal(result.ok, false, `a ${protocol} datagram cut to ${n} of ${emit.length} bytes decoded`);
    }
    for (let n = 0; n < body.length; n++) check(decodeJaegerBatch(body.subarray(0, n), protocol));
    assert.equal(spans(decodeAgentEmitBatch(emit, protocol)), 5);
  }
});

function spans(result: JaegerDecodeResult): number {
  return result.ok ? result.spans.length : -1;
}

test('20,000 seeded mutations of valid input never throw and never yield malformed spans', () => {
  const random = seededRandom(0x5eed);
  const seeds: Array<[Buffer, 'compact' | 'binary', boolean]> = [];
  for (const protocol of ['compact', 'binary'] as const) {
    for (const n of [0, 1, 3, 10]) {
      const batch = seedBatch(random, n);
      seeds.push([encodeEmitBatch(batch, protocol), protocol, true], [encodeBatch(batch, protocol), protocol, false]);
    }
  }
  const handler = createDatagramHandler({
    protocol: 'compact', consumer: new CollectingConsumer(), registry: createRegistry('collector', false), log: silentLogger, maxSpansPerBatch: 100,
  });
  for (let i = 0; i < 20_000; i++) {
    const [seed, protocol, isEmit] = seeds[i % seeds.length]!;
    const input = mutate(random, seed);
    check(isEmit ? decodeAgentEmitBatch(input, protocol) : decodeJaegerBatch(input, protocol));
    // and the other way round: the wrong protocol must fail cleanly too
    const other = protocol === 'compact' ? 'binary' : 'compact';
    check(isEmit ? decodeAgentEmitBatch(input, other) : decodeJaegerBatch(input, other));
    assert.doesNotThrow(() => handler(input));
  }
});

test('two thousand garbage datagrams on a real socket leave the receiver serving', async () => {
  const random = seededRandom(42);
  const registry = createRegistry('collector', false);
  const consumer = new CollectingConsumer();
  const receiver = await startJaegerUdpReceiver({
    listen: { host: '127.0.0.1', port: 0 }, protocol: 'compact', consumer, registry, log: silentLogger, maxSpansPerBatch: 100,
  });
  const socket = dgram.createSocket('udp4');
  try {
    const good = encodeEmitBatch(seedBatch(random, 3), 'compact');
    const garbage = Array.from({ length: 2000 }, () => mutate(random, good));
    const sendOne = (d: Buffer): Promise<void> => new Promise((resolve, reject) => socket.send(d, receiver.port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    const receivedSoFar = () => counterValue(registry, 'shipwatch_trace_requests_received_total', { protocol: 'jaeger-udp-compact' });
    const waitUntilReceived = async (n: number): Promise<void> => {
      const deadline = Date.now() + 5000;
      while ((await receivedSoFar()) < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    };
    // Paced in groups, so the kernel's socket buffer (not the receiver) is never what drops a datagram.
    for (let i = 0; i < garbage.length; i += 50) {
      for (const g of garbage.slice(i, i + 50)) await sendOne(g);
      await waitUntilReceived(Math.min(i + 50, garbage.length));
    }
    await sendOne(good);
    await waitUntilReceived(2001);
    const received = await counterValue(registry, 'shipwatch_trace_requests_received_total', { protocol: 'jaeger-udp-compact' });
    const errors = await counterValue(registry, 'shipwatch_trace_decode_errors_total', { protocol: 'jaeger-udp-compact' });
    assert.equal(received, 2001, 'loopback delivered every datagram');
    // Each datagram either decoded (its spans consumed) or counted as an error; the last, good one decoded.
    assert.ok(errors > 1500, `most mutations are errors (${errors})`);
    assert.deepEqual(consumer.spans.slice(-3).map((s) => s.operationName), ['op-0', 'op-1', 'op-2']);
  } finally {
    socket.close();
    await receiver.close();
  }
});
