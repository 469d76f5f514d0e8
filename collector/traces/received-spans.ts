/**
 * Spans an HTTP receiver decoded, kept with the request body they came in (model/span.ts WireSpans): in this process
 * they are handed on as the decoded spans; in the durable span queue the body is written as received, with its codec
 * tag (./span-frames.ts), and decoded again when read back. Writing the body costs nothing at receipt, where
 * serialising the decoded spans again cost more than the decode itself (bench/traces-to-store.bench.ts, OTLP/JSON).
 */
import type { Span, WireSpans } from '../../model/span.js';
import { decodeOtlpTraces } from './codecs/otlp/otlp-decode.js';

/** The codecs whose bodies are kept as received. */
export type ReceivedCodec = 'otlp-json' | 'otlp-protobuf';

export class ReceivedSpans implements WireSpans {
  constructor(readonly codec: ReceivedCodec, readonly bytes: Buffer, private readonly spans: Span[]) {}

  get count(): number {
    return this.spans.length;
  }

  decode(): Span[] {
    return this.spans;
  }
}

/** The spans of a body read back from the queue, decoded as its receiver decoded it; a reason when it does not decode. */
export function decodeReceived(codec: ReceivedCodec, bytes: Buffer): ReceivedSpans | string {
  const out = decodeOtlpTraces(bytes, codec === 'otlp-json' ? 'json' : 'protobuf', Number.MAX_SAFE_INTEGER);
  if (!out.ok) return `${codec} body: ${out.message}`;
  return new ReceivedSpans(codec, bytes, out.translation.spans);
}
