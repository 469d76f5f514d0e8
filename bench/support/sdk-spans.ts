/**
 * Realistic spans for the trace benchmarks, made by the real OpenTelemetry SDK: an HTTP server span with a
 * database client child, ~10 attributes of mixed types, an event on every second span, a resource of 5 attributes.
 */
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

export async function sdkSpans(count: number): Promise<ReadableSpan[]> {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'shop-web', 'service.version': '1.4.2', 'host.name': 'node-1', 'process.pid': 4242, 'deployment.environment': 'prod' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('@shop/http', '2.1.0');
  for (let i = 0; i < count / 2; i++) {
    const server = tracer.startSpan(`GET /api/orders/{id}`, { kind: SpanKind.SERVER, attributes: { 'http.method': 'GET', 'http.route': '/api/orders/{id}', 'http.status_code': 200, 'net.peer.ip': '10.0.0.7', 'user_agent.original': 'curl/8.5.0' } });
    const db = tracer.startSpan('SELECT orders', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql', 'db.statement': `SELECT * FROM orders WHERE id = ${i}`, 'db.rows': i % 50, 'db.cached': i % 3 === 0, 'db.latency_ratio': 0.25 } }, trace.setSpan(context.active(), server));
    if (i % 2 === 0) db.addEvent('retry', { attempt: 1, reason: 'connection reset' });
    if (i % 10 === 0) db.setStatus({ code: SpanStatusCode.ERROR, message: 'timeout' });
    db.end();
    server.end();
  }
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

/** Splits into batches of `size`, as a BatchSpanProcessor would export them. */
export function batches<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs `fn` over every batch `rounds` times; returns CPU seconds used. */
export function cpuSeconds(fn: () => void): number {
  const before = process.cpuUsage();
  fn();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}
