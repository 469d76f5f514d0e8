/**
 * Inputs for fuzzing the Jaeger Thrift readers: seeded batches of every tag type, and random damage to their bytes
 * (truncation, overwritten bytes, enormous lengths and counts, insertions, garbage).
 */
import { seededRandom } from '../../../helpers/seeded-random.js';
import { REF, TAG, type TBatch } from './thrift-writer.js';

/** `n` spans of random ids and every tag type, a log, and references and parents on some. */
export function seedBatch(random: () => number, n: number): TBatch {
  const big = (): bigint => BigInt.asIntN(64, BigInt(Math.floor(random() * 2 ** 32)) << 32n | BigInt(Math.floor(random() * 2 ** 32)));
  return {
    process: { serviceName: 'fuzz', tags: [{ key: 'host', vType: TAG.STRING, vStr: 'h1' }, { key: 'n', vType: TAG.LONG, vLong: big() }] },
    spans: Array.from({ length: n }, (_, i) => ({
      traceIdLow: big(), traceIdHigh: big(), spanId: big(), parentSpanId: i % 2 ? big() : 0n, operationName: `op-${i}`, flags: i,
      startTime: 1_700_000_000_000_000n + BigInt(i), duration: BigInt(i * 10),
      references: i % 3 === 0 ? [{ refType: REF.FOLLOWS_FROM, traceIdLow: big(), traceIdHigh: 0n, spanId: big() }] : [],
      tags: [
        { key: 's', vType: TAG.STRING, vStr: 'value' }, { key: 'd', vType: TAG.DOUBLE, vDouble: random() },
        { key: 'b', vType: TAG.BOOL, vBool: random() < 0.5 }, { key: 'l', vType: TAG.LONG, vLong: big() },
        { key: 'x', vType: TAG.BINARY, vBinary: Buffer.from([1, 2, 3]) },
      ],
      logs: [{ timestamp: 1_700_000_000_000_001n, fields: [{ key: 'event', vType: TAG.STRING, vStr: 'e' }] }],
    })),
  };
}

/** A damaged copy of `input`. */
export function mutate(random: () => number, input: Buffer): Buffer {
  const out = Buffer.from(input);
  const pick = (n: number): number => Math.floor(random() * n);
  switch (pick(5)) {
    case 0: return out.subarray(0, pick(out.length));
    case 1: {
      for (let i = 0, n = 1 + pick(8); i < n; i++) out[pick(out.length)] = pick(256);
      return out;
    }
    case 2: {
      // a plausible but enormous length or count somewhere
      const at = pick(out.length - 4);
      out.writeUInt32BE([0x7fffffff, 0xffffffff, 0x80000000, 0x0fffffff][pick(4)]!, at);
      return out;
    }
    case 3: {
      const at = pick(out.length);
      return Buffer.concat([out.subarray(0, at), Buffer.from(Array.from({ length: 1 + pick(16) }, () => pick(256))), out.subarray(at)]);
    }
    default: return Buffer.from(Array.from({ length: pick(300) }, () => pick(256)));
  }
}

/** What Thrift allows and clients rarely send: repeated fields, odd value types, references the decoder drops. */
export function irregularBatch(): TBatch {
  const batch = seedBatch(seededRandom(7), 4);
  const [a, b, c, d] = batch.spans;
  a!.again = {
    tags: [{ key: 'span.kind', vType: TAG.STRING, vStr: 'client' }, { key: 'second', vType: TAG.LONG, vLong: 2n ** 63n - 1n }],
    logs: [{ timestamp: 5n, fields: [{ key: 'first', vType: TAG.STRING, vStr: 'x' }], fieldsAgain: [{ key: 'last', vType: TAG.BOOL, vBool: true }] }],
  };
  b!.tags = [
    { key: 'span.kind', vType: 9, vStr: 'ignored' }, { key: 'odd', vType: -2 }, { key: 'no value', vType: TAG.DOUBLE },
    { key: 'naïve ✓', vType: TAG.STRING, vStr: 'wert ü' }, { key: 'empty', vType: TAG.BINARY, vBinary: new Uint8Array(0) },
    { key: 'span.kind', vType: TAG.STRING, vStr: 'server' },
  ];
  // A reference of an unknown type (dropped with a warning), then CHILD_OF another span before one naming the parent.
  c!.parentSpanId = 77n;
  c!.references = [
    { refType: 5, traceIdLow: c!.traceIdLow, traceIdHigh: c!.traceIdHigh, spanId: 1n },
    { refType: REF.CHILD_OF, traceIdLow: c!.traceIdLow, traceIdHigh: c!.traceIdHigh, spanId: 66n },
    { refType: REF.CHILD_OF, traceIdLow: c!.traceIdLow, traceIdHigh: c!.traceIdHigh, spanId: 77n },
  ];
  // No parent field, only a reference into another trace.
  d!.parentSpanId = 0n;
  d!.references = [{ refType: REF.FOLLOWS_FROM, traceIdLow: 9n, traceIdHigh: 0n, spanId: 99n }];
  return batch;
}
