/**
 * The real `jaeger-client` (CommonJS, untyped) with just the types the tests use, and its own Thrift definitions
 * (thriftrw) for building thrift objects the tracer API cannot produce (LONG tags: the tracer maps every JS number
 * to a DOUBLE tag).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface JaegerSpanContext {
  traceIdStr: string;
  spanIdStr: string;
  parentIdStr: string | null;
}
export interface JaegerSpan {
  context(): JaegerSpanContext;
  setTag(key: string, value: unknown): JaegerSpan;
  log(fields: Record<string, unknown>, timestampMs?: number): JaegerSpan;
  finish(finishTimeMs?: number): void;
}
export interface JaegerTracer {
  startSpan(name: string, options?: { childOf?: JaegerSpan; references?: unknown[]; startTime?: number; tags?: Record<string, unknown> }): JaegerSpan;
  close(callback?: () => void): void;
  _process: { serviceName: string; tags: Array<{ key: string; value: unknown }> };
}
export interface ThriftSender {
  setProcess(process: { serviceName: string; tags: unknown[] }): void;
  append(span: unknown, callback?: (n: number, err?: string) => void): void;
  flush(callback?: (n: number, err?: string) => void): void;
  close(): void;
}

interface JaegerClient {
  Tracer: new (service: string, reporter: unknown, sampler: unknown, options?: { tags?: Record<string, unknown>; traceId128bit?: boolean }) => JaegerTracer;
  RemoteReporter: new (sender: ThriftSender, options?: { bufferFlushIntervalMs?: number }) => unknown;
  ConstSampler: new (decision: boolean) => unknown;
  opentracing: { childOf(ctx: JaegerSpanContext): unknown; followsFrom(ctx: JaegerSpanContext): unknown };
}

export const jaeger = require('jaeger-client') as JaegerClient;
export const UDPSender = (require('jaeger-client/dist/src/reporters/udp_sender.js') as { default: new (o: { host: string; port: number }) => ThriftSender }).default;
export const HTTPSender = (require('jaeger-client/dist/src/reporters/http_sender.js') as { default: new (o: { endpoint: string; maxSpanBatchSize?: number }) => ThriftSender }).default;

type Ctor = new (fields: Record<string, unknown>) => unknown;
interface ThriftTypes {
  Batch: Ctor & { rw: { toBuffer(v: unknown): { err: Error | null; value: Buffer } } };
  Process: Ctor;
  Span: Ctor;
  Tag: Ctor;
  Log: Ctor;
  SpanRef: Ctor;
}
/** jaeger-client's compiled jaeger.thrift (enum values are written by name: 'LONG', 'CHILD_OF'). */
export const thrift = (require('jaeger-client/dist/src/thrift.js') as { default: { _thrift: ThriftTypes } }).default._thrift;

/** An i64 the way jaeger-client's thrift layer takes it: 8 big-endian bytes. */
export function i64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt.asIntN(64, v));
  return b;
}
