/**
 * OTLP/HTTP receive path without the socket: request bodies as the real OTLP exporters serialize them (batches of
 * 512 spans from the SDK), decoded (JSON.parse or the hand-written protobuf decoder), translated to the span model
 * and handed to a consumer. Prints spans per CPU-second for OTLP/JSON and OTLP/protobuf, MiB/s, peak RSS.
 * `node --import tsx bench/otlp.bench.ts [spans] [rounds]`
 */
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { decodeOtlpTraces, type OtlpEncoding } from '../collector/traces/codecs/otlp/otlp-decode.js';
import { batches, cpuSeconds, sdkSpans } from './support/sdk-spans.js';

const SPANS = Number(process.argv[2] ?? 20_000);
const ROUNDS = Number(process.argv[3] ?? 10);

const spans = await sdkSpans(SPANS);
const groups = batches(spans, 512);
const bodies: Record<OtlpEncoding, Buffer[]> = {
  json: groups.map((g) => Buffer.from(JsonTraceSerializer.serializeRequest(g)!)),
  protobuf: groups.map((g) => Buffer.from(ProtobufTraceSerializer.serializeRequest(g)!)),
};

let consumed = 0;
const consume = (n: number) => {
  consumed += n;
};

for (const encoding of ['json', 'protobuf'] as const) {
  const bytes = bodies[encoding].reduce((n, b) => n + b.length, 0);
  // Warm-up round: JIT and inline caches settle before the measured rounds.
  for (const body of bodies[encoding]) decodeOtlpTraces(body, encoding, 100_000);
  consumed = 0;
  const cpu = cpuSeconds(() => {
    for (let r = 0; r < ROUNDS; r++) {
      for (const body of bodies[encoding]) {
        const out = decodeOtlpTraces(body, encoding, 100_000);
        if (!out.ok || out.translation.rejected > 0) throw new Error(`bench input did not decode: ${JSON.stringify(out)}`);
        consume(out.translation.spans.length);
      }
    }
  });
  console.log(`otlp-${encoding}: ${consumed} spans in ${cpu.toFixed(2)} CPU-s = ${Math.round(consumed / cpu).toLocaleString('en')} spans per CPU-second, ` +
    `${((bytes * ROUNDS) / 1048576 / cpu).toFixed(1)} MiB/s of body (${Math.round(bytes / spans.length)} bytes/span)`);
}
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
