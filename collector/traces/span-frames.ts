/**
 * How spans are framed in their durable queue (delivery/durable-queue.ts): one frame per hand-over of a receiver.
 *
 * Header (20 bytes): "SWS1", u8 form, 3 bytes zero, u32 spans, u32 body bytes, u32 CRC-32 of the body.
 * - form 1, spans in the model: a JSON array of `[traceId, spanId, operation, start µs, duration µs, service,
 *   process tags, data]`, `data` the store's compact span text (storage/sqlite/span-codec.ts), so every tag value
 *   (int64 past 2^53, binary) survives exactly.
 * - form 2, a Jaeger compact datagram (model/span.ts WireSpans): its bytes as received. Read back, it is walked
 *   again (≈ 1.75 µs a span) rather than decoded, so the embedded store still writes it from its bytes.
 * - forms 3 and 4, an OTLP/HTTP body in JSON or protobuf (./received-spans.ts): the body as received, decoded again
 *   when read back.
 * A frame's spans come back as one chunk; the CRC makes a damaged frame found and set aside, never delivered.
 */
import { crc32 } from 'node:zlib';
import type { FrameCodec, FrameRead } from '../../delivery/durable-queue.js';
import { JaegerCompactSpans, JaegerCompactWalker } from '../../model/jaeger-thrift/jaeger-compact-spans.js';
import type { JaegerDecodeLimits } from '../../model/jaeger-thrift/jaeger-thrift.js';
import { chunkSize, type Span, type SpanChunk } from '../../model/span.js';
import { decodeKvs, decodeSpan, encodeKvs, encodeSpanData, type EncodedKv } from '../../storage/sqlite/span-codec.js';
import { decodeReceived, ReceivedSpans, type ReceivedCodec } from './received-spans.js';

const MAGIC = Buffer.from('SWS1', 'latin1');
const HEADER_BYTES = 20;
const FORM_MODEL = 1;
const FORM_JAEGER_COMPACT = 2;
const FORM_OF_CODEC: Record<ReceivedCodec, number> = { 'otlp-json': 3, 'otlp-protobuf': 4 };
const CODEC_OF_FORM = new Map<number, ReceivedCodec>(Object.entries(FORM_OF_CODEC).map(([codec, form]) => [form, codec as ReceivedCodec]));

type FramedSpan = [string, string, string, number, number, string, EncodedKv[], string];

function encodeModel(spans: Span[]): Buffer {
  const rows: FramedSpan[] = spans.map((s) => [
    s.traceId, s.spanId, s.operationName, s.startTimeMicros, s.durationMicros, s.process.serviceName, encodeKvs(s.process.tags), encodeSpanData(s),
  ]);
  return Buffer.from(JSON.stringify(rows), 'utf8');
}

function decodeModel(body: Buffer): Span[] | string {
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
  const frame = (chunk: SpanChunk): Buffer[] => {
    const isWire = chunk instanceof JaegerCompactSpans;
    const received = chunk instanceof ReceivedSpans ? chunk : undefined;
    const body = isWire || received ? (chunk as JaegerCompactSpans | ReceivedSpans).bytes : encodeModel(Array.isArray(chunk) ? chunk : chunk.decode());
    const head = Buffer.alloc(HEADER_BYTES);
    MAGIC.copy(head, 0);
    head[4] = isWire ? FORM_JAEGER_COMPACT : received ? FORM_OF_CODEC[received.codec] : FORM_MODEL;
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
      let chunk: SpanChunk;
      if (form === FORM_JAEGER_COMPACT) {
        // The walker keeps the bytes it was given: a copy, so the chunk outlives the read buffer.
        const walked = walker.walk(Buffer.from(body));
        if (!walked.ok) return { kind: 'damaged', reason: `span frame datagram: ${walked.error}` };
        chunk = walked.spans;
      } else if (CODEC_OF_FORM.has(form!)) {
        const spans = decodeReceived(CODEC_OF_FORM.get(form!)!, Buffer.from(body));
        if (typeof spans === 'string') return { kind: 'damaged', reason: spans };
        chunk = spans;
      } else if (form === FORM_MODEL) {
        const spans = decodeModel(body);
        if (typeof spans === 'string') return { kind: 'damaged', reason: spans };
        chunk = spans;
      } else {
        return { kind: 'damaged', reason: `unknown span frame form ${form}` };
      }
      if (chunkSize(chunk) !== count) return { kind: 'damaged', reason: 'span frame count mismatch' };
      return { kind: 'frame', value: [chunk], records: count, bytes: body.length, size };
    },
    join: (values) => values.flat(),
  };
}
