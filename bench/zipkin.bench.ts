/**
 * Zipkin receive path without the socket: v2 JSON bodies shaped as the real Zipkin exporter writes them (batches
 * of 512 SDK spans, tags as strings, resource attributes among the tags), and the same spans as proto3 ListOfSpans,
 * decoded, mapped through OTLP to the span model and handed to a consumer. Prints spans per CPU-second, MiB/s,
 * peak RSS. `node --import tsx bench/zipkin.bench.ts [spans] [rounds]`
 */
import { decodeZipkin, type ZipkinFormat } from '../collector/traces/codecs/zipkin/zipkin-decode.js';
import { batches, cpuSeconds, sdkSpans } from './support/sdk-spans.js';
import { KIND, zipkinJson } from './support/zipkin-json.js';

const SPANS = Number(process.argv[2] ?? 20_000);
const ROUNDS = Number(process.argv[3] ?? 10);

// proto3 ListOfSpans, written field by field (zipkin.proto numbers) for the protobuf case.
const varint = (n: number, out: number[]) => {
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
};
const len = (f: number, b: number[], out: number[]) => {
  out.push((f << 3) | 2);
  varint(b.length, out);
  for (const x of b) out.push(x);
};
const text = (f: number, s: string, out: number[]) => len(f, [...Buffer.from(s)], out);
function zipkinProto(spans: Array<Record<string, any>>): Buffer {
  const out: number[] = [];
  for (const s of spans) {
    const b: number[] = [];
    len(1, [...Buffer.from(s.traceId, 'hex')], b);
    if (s.parentId) len(2, [...Buffer.from(s.parentId, 'hex')], b);
    len(3, [...Buffer.from(s.id, 'hex')], b);
    if (s.kind) b.push(4 << 3, KIND.indexOf(s.kind) === 1 ? 2 : 1);
    text(5, s.name, b);
    const ts = Buffer.alloc(8);
    ts.writeBigUInt64LE(BigInt(s.timestamp));
    b.push((6 << 3) | 1, ...ts);
    b.push(7 << 3);
    varint(s.duration, b);
    const ep: number[] = [];
    text(1, s.localEndpoint.serviceName, ep);
    len(8, ep, b);
    for (const a of s.annotations ?? []) {
      const ab: number[] = [];
      const at = Buffer.alloc(8);
      at.writeBigUInt64LE(BigInt(a.timestamp));
      ab.push((1 << 3) | 1, ...at);
      text(2, a.value, ab);
      len(10, ab, b);
    }
    for (const [k, v] of Object.entries(s.tags as Record<string, string>)) {
      const e: number[] = [];
      text(1, k, e);
      text(2, v, e);
      len(11, e, b);
    }
    len(1, b, out);
  }
  return Buffer.from(out);
}

const groups = batches((await sdkSpans(SPANS)).map(zipkinJson), 512);
const bodies: Partial<Record<ZipkinFormat, Buffer[]>> = {
  'v2-json': groups.map((g) => Buffer.from(JSON.stringify(g))),
  'v2-protobuf': groups.map((g) => zipkinProto(g)),
};

for (const format of ['v2-json', 'v2-protobuf'] as const) {
  const list = bodies[format]!;
  const bytes = list.reduce((n, b) => n + b.length, 0);
  for (const body of list) decodeZipkin(body, format, 100_000); // warm-up
  let consumed = 0;
  const cpu = cpuSeconds(() => {
    for (let r = 0; r < ROUNDS; r++) {
      for (const body of list) {
        const out = decodeZipkin(body, format, 100_000);
        if (!out.ok) throw new Error(`bench input did not decode: ${out.message}`);
        consumed += out.spans.length;
      }
    }
  });
  console.log(`zipkin-${format}: ${consumed} spans in ${cpu.toFixed(2)} CPU-s = ${Math.round(consumed / cpu).toLocaleString('en')} spans per CPU-second, ` +
    `${((bytes * ROUNDS) / 1048576 / cpu).toFixed(1)} MiB/s of body (${Math.round(bytes / (SPANS))} bytes/span)`);
}
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
