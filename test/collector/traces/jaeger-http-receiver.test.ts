import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startJaegerHttpReceiver, type JaegerHttpReceiver } from '../../../collector/traces/receivers/jaeger-http-receiver.js';
import { silentLogger } from '../../../platform/log.js';
import type { Span } from '../../../model/span.js';
import { createRegistry, type Registry } from '../../../platform/self-metrics.js';
import { CollectingConsumer, counterValue } from './support/collecting-consumer.js';
import { HTTPSender } from './support/jaeger-client.js';
import { sendThriftSpans, traceWithTracer } from './support/jaeger-scenarios.js';
import { encodeBatch, type TSpan } from './support/thrift-writer.js';

const byId = (spans: Span[]): Span[] => [...spans].sort((a, b) => (a.spanId < b.spanId ? -1 : 1));

function span(i: number): TSpan {
  return {
    traceIdLow: BigInt(i + 1), traceIdHigh: 0n, spanId: BigInt(i + 100), parentSpanId: 0n, operationName: `op${i}`, flags: 1,
    startTime: 1_700_000_000_000_000n, duration: 10n,
  };
}

describe('the Jaeger HTTP receiver', () => {
  let registry: Registry;
  let consumer: CollectingConsumer;
  let receiver: JaegerHttpReceiver;
  let url: string;
  const MAX_BODY = 64 * 1024;

  const post = (body: Uint8Array | string, contentType?: string): Promise<Response> =>
    fetch(url, { method: 'POST', body, headers: contentType === undefined ? {} : { 'content-type': contentType } });

  before(async () => {
    registry = createRegistry('collector', false);
    consumer = new CollectingConsumer();
    receiver = await startJaegerHttpReceiver({
      consumer, registry, log: silentLogger, listen: { host: '127.0.0.1', port: 0 },
      maxBodyBytes: MAX_BODY, maxSpansPerBatch: 200, retryAfterMs: 2500,
    });
    url = `http://127.0.0.1:${receiver.port}/api/traces`;
  });
  after(async () => {
    await receiver.close();
    await receiver.close();
  });

  test('spans traced with jaeger-client and sent by its HTTP sender map exactly', async () => {
    consumer.spans.length = 0;
    const expected = await traceWithTracer(new HTTPSender({ endpoint: url }));
    const got = await consumer.waitFor(expected.length);
    assert.deepEqual(byId(got), byId(expected));
  });

  test('LONG tags beyond 2^53, extreme ids and every tag type survive jaeger-client\'s HTTP sender exactly', async () => {
    consumer.spans.length = 0;
    const expected = await sendThriftSpans(new HTTPSender({ endpoint: url }));
    const got = await consumer.waitFor(expected.length);
    assert.deepEqual(byId(got), byId(expected));
  });

  test('a batch is answered 202 with no body, under both Thrift content types', async () => {
    consumer.spans.length = 0;
    const body = encodeBatch({ process: { serviceName: 's' }, spans: [span(1)] }, 'binary');
    for (const type of ['application/x-thrift', 'application/vnd.apache.thrift.binary; charset=binary']) {
      const res = await post(body, type);
      assert.equal(res.status, 202);
      assert.equal(await res.text(), '');
    }
    assert.equal(consumer.spans.length, 2);
  });

  test('a malformed body gets a 400 naming the problem', async () => {
    const good = encodeBatch({ process: { serviceName: 's' }, spans: [span(1), span(2)] }, 'binary');
    const cases: Array<[Uint8Array, RegExp]> = [
      [good.subarray(0, good.length - 10), /malformed Jaeger Thrift batch: span 1: truncated/],
      [encodeBatch({ process: { serviceName: 's' }, spans: [span(1)] }, 'compact'), /malformed Jaeger Thrift batch/],
      [Buffer.from('{"spans": []}'), /malformed Jaeger Thrift batch/],
      [new Uint8Array(0), /empty body/],
    ];
    for (const [body, message] of cases) {
      const res = await post(body, 'application/x-thrift');
      assert.equal(res.status, 400);
      const answer = (await res.json()) as { error: string; message: string };
      assert.equal(answer.error, 'SW_BAD_REQUEST');
      assert.match(answer.message, message);
    }
  });

  test('a batch without a required span field gets a 400 naming the field', async () => {
    // A Batch whose only span stops after traceIdLow: hand-assembled binary protocol.
    const body = Buffer.from([
      0x0c, 0x00, 0x01, 0x0b, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x73, 0x00, // process { serviceName: "s" }
      0x0f, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x01, // spans: list<struct> of 1
      0x0a, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1, 0x00, // { traceIdLow: 1 }
      0x00,
    ]);
    const res = await post(body, 'application/x-thrift');
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { message: string }).message, /span 0: Span is missing its required field traceIdHigh/);
  });

  test('another content type, or none, gets a 415 naming the accepted ones', async () => {
    const body = encodeBatch({ process: { serviceName: 's' }, spans: [span(1)] }, 'binary');
    for (const type of ['application/json', 'application/x-protobuf', undefined]) {
      const res = await post(body, type);
      assert.equal(res.status, 415);
      const answer = (await res.json()) as { error: string; message: string };
      assert.equal(answer.error, 'SW_UNSUPPORTED_MEDIA_TYPE');
      assert.match(answer.message, /application\/x-thrift or application\/vnd\.apache\.thrift\.binary/);
    }
  });

  test('a body over the size limit, or with more spans than allowed, gets a 413', async () => {
    const big = await post(Buffer.alloc(MAX_BODY + 1), 'application/x-thrift');
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as { error: string }).error, 'SW_PAYLOAD_TOO_LARGE');
    const many = await post(encodeBatch({ process: { serviceName: 's' }, spans: Array.from({ length: 201 }, (_, i) => span(i)) }, 'binary'), 'application/x-thrift');
    assert.equal(many.status, 413);
    assert.match(((await many.json()) as { message: string }).message, /201 spans exceeds the limit of 200/);
  });

  test('while storage is busy a batch gets 503 with Retry-After, and is taken once it is not', async () => {
    const body = encodeBatch({ process: { serviceName: 's' }, spans: [span(1), span(2)] }, 'binary');
    const refusedBefore = await counterValue(registry, 'shipwatch_trace_spans_refused_busy_total', { protocol: 'jaeger-http' });
    consumer.spans.length = 0;
    consumer.busy = true;
    const busy = await post(body, 'application/x-thrift');
    consumer.busy = false;
    assert.equal(busy.status, 503);
    assert.equal(busy.headers.get('retry-after'), '3');
    assert.equal(((await busy.json()) as { error: string }).error, 'SW_BUSY');
    assert.equal(await counterValue(registry, 'shipwatch_trace_spans_refused_busy_total', { protocol: 'jaeger-http' }), refusedBefore + 2);
    assert.equal(consumer.spans.length, 0);
    assert.equal((await post(body, 'application/x-thrift')).status, 202);
    assert.equal(consumer.spans.length, 2);
  });

  test('bad requests are counted as decode errors', async () => {
    const before = await counterValue(registry, 'shipwatch_trace_decode_errors_total', { protocol: 'jaeger-http' });
    await (await post(Buffer.from([1, 2, 3]), 'application/x-thrift')).text();
    await (await post('x', 'text/plain')).text();
    assert.equal(await counterValue(registry, 'shipwatch_trace_decode_errors_total', { protocol: 'jaeger-http' }), before + 2);
  });
});
