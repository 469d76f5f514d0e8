/**
 * How spans are framed in their durable queue (delivery/durable-queue.ts): one frame per hand-over of a receiver.
 *
 * Header (20 bytes): "SWS1", u8 form, 3 bytes zero, u32 spans, u32 body bytes, u32 CRC-32 of the body.
 * - form 5: the spans of the model as model/span-bytes.ts writes them — what every receiver hands over but one;
 * - form 2: a Jaeger agent datagram (Thrift compact) as the UDP receiver checked it, walked again when read back
 *   (≈ 1.75 µs a span): the embedded store writes such spans from their bytes, and turning them into objects for
 *   the queue cut the Jaeger compact path to the store from ≈ 54k to ≈ 23k spans per CPU-second
 *   (docs/design/span-delivery.md);
 * - forms 1, 3 and 4 are only read, from queues an earlier version wrote: 1 a JSON array of `[traceId, spanId,
 *   operation, start µs, duration µs, service, process tags, data]` with `data` the store's span text
 *   (storage/sqlite/span-codec.ts); 3 and 4 an OTLP/HTTP body in JSON or protobuf as received.
 * A frame's spans come back as one chunk; the CRC makes a damaged frame found and set aside, never delivered.
 */
import { crc32 } from 'node:zlib';
import type { FrameCodec, FrameRead } from '../../delivery/durable-queue.js';
import { JaegerCompactSpans, JaegerCompactWalker } from '../../model/jaeger-thrift/jaeger-compact-spans.js';
import type { JaegerDecodeLimits } from '../../model/jaeger-thrift/jaeger-thrift.js';
import { chunkSize, chunkSpans, type Span, type SpanChunk } from '../../model/span.js';
import { decodeKvs, decodeSpan, type EncodedKv } from '../../storage/sqlite/span-codec.js';
import { decodeSpanBytes, encodeSpanBytes } from '../../model/span-bytes.js';
import { decodeOtlpTraces } from './codecs/otlp/otlp-decode.js';

const MAGIC = Buffer.from('SWS1', 'latin1');
const HEADER_BYTES = 20;
const FORM_MODEL_JSON = 1;
const FORM_JAEGER_COMPACT = 2;
const FORM_OTLP_JSON = 3;
const FORM_OTLP_PROTOBUF = 4;
const FORM_MODEL = 5;

type FramedSpan = [string, string, string, number, number, string, EncodedKv[], string];

/** Form 1, read only. */
function decodeModelJson(body: Buffer): Span[] | string {
  let rows: FramedSpan[];
  try {
    rows = JSON.parse(body.toString('utf8')) as FramedSpan[];
  } catch (err) {
    return `spans do not parse: ${(err as Error).message}`;
  }
  if (!Array.isArray(rows)) return 'spans are not an array';
  const spans: Span[] = [];
  for (const r of rows) {
    if (!Array.isArray(r) || r.length !== 8) return 'a span is not a row of 8';
    try {
      spans.push(decodeSpan({
        traceId: r[0], spanId: r[1], operationName: r[2], startTimeMicros: r[3], durationMicros: r[4],
        process: { serviceName: r[5], tags: decodeKvs(r[6]) }, data: r[7],
      }));
    } catch (err) {
      return `a span does not decode: ${(err as Error).message}`;
    }
  }
  return spans;
}

/** The span frame codec; `limits` are the Jaeger receivers' (a datagram is walked again within them). */
export function spanFrameCodec(limits: JaegerDecodeLimits): FrameCodec<SpanChunk[], SpanChunk[]> {
  const walker = new JaegerCompactWalker(limits);
  /** A frame body's spans, or why they cannot be read. */
  const readBody = (form: number, body: Buffer): SpanChunk | string => {
    switch (form) {
      case FORM_MODEL:
        try {
          return decodeSpanBytes(body);
        } catch (err) {
          return (err as Error).message;
        }
      case FORM_JAEGER_COMPACT: {
        // The walker keeps the bytes it was given: a copy, so the chunk outlives the read buffer.
        const walked = walker.walk(Buffer.from(body));
        return walked.ok ? walked.spans : `span frame datagram: ${walked.error}`;
      }
      case FORM_OTLP_JSON:
      case FORM_OTLP_PROTOBUF: {
        const out = decodeOtlpTraces(Buffer.from(body), form === FORM_OTLP_JSON ? 'json' : 'protobuf', Number.MAX_SAFE_INTEGER);
        return out.ok ? out.translation.spans : `OTLP body: ${out.message}`;
      }
      case FORM_MODEL_JSON:
        return decodeModelJson(body);
      default:
        return `unknown span frame form ${form}`;
    }
  };
  const frame = (chunk: SpanChunk): Buffer[] => {
    const datagram = chunk instanceof JaegerCompactSpans;
    const body = datagram ? chunk.bytes : encodeSpanBytes(chunkSpans(chunk));
    const head = Buffer.alloc(HEADER_BYTES);
    MAGIC.copy(head, 0);
    head[4] = datagram ? FORM_JAEGER_COMPACT : FORM_MODEL;
    head.writeUInt32LE(chunkSize(chunk), 8);
    head.writeUInt32LE(body.length, 12);
    head.writeUInt32LE(crc32(body), 16);
    return [head, body];
  };
  return {
    magicPrefix: MAGIC,
    headerBytes: HEADER_BYTES,
    encode: (chunks) => chunks.flatMap(frame),
    records: (chunks) => chunks.reduce((n, c) => n + chunkSize(c), 0),
    read(buf: Buffer, at: number): FrameRead<SpanChunk[]> {
      if (buf.length - at < HEADER_BYTES) return { kind: 'short', size: 0 };
      if (buf.compare(MAGIC, 0, 4, at, at + 4) !== 0) return { kind: 'damaged', reason: 'no span frame starts here' };
      const form = buf[at + 4];
      const count = buf.readUInt32LE(at + 8);
      const size = HEADER_BYTES + buf.readUInt32LE(at + 12);
      if (buf.length - at < size) return { kind: 'short', size };
      const body = buf.subarray(at + HEADER_BYTES, at + size);
      if (crc32(body) !== buf.readUInt32LE(at + 16)) return { kind: 'damaged', reason: 'span frame checksum mismatch' };
      const chunk = readBody(form!, body);
      if (typeof chunk === 'string') return { kind: 'damaged', reason: chunk };
      if (chunkSize(chunk) !== count) return { kind: 'damaged', reason: 'span frame count mismatch' };
      return { kind: 'frame', value: [chunk], records: count, bytes: body.length, size };
    },
    join: (values) => values.flat(),
    // The chunks themselves: their frames decode to equal chunks.
    readBack: (chunks) => chunks,
  };
}
