/**
 * Jaeger 2.x as the side-by-side benches run it (bench/peer-*.bench.ts): the binary given, a configuration written
 * for the run — OTLP (HTTP and gRPC) and Zipkin receivers, the batch processor, the storage exporter into Badger in
 * the run's folder or into an Elasticsearch under a prefix of the run's own, the query extension when a port is
 * given — and its spans written as the OpenTelemetry Collector counts them.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPeer, sumSamples, type PeerProcess } from './peer-process.js';

export interface JaegerPorts {
  otlpHttp: number;
  otlpGrpc: number;
  zipkin: number;
  /** The collector's own Prometheus metrics. */
  metrics: number;
  /** The query extension's HTTP API (Jaeger UI's /api/...); none when absent. */
  query?: number;
  queryGrpc?: number;
}

export type JaegerBackend = { kind: 'badger' } | { kind: 'elasticsearch'; url: string; indexPrefix: string };

export function jaegerConfig(dir: string, ports: JaegerPorts, backend: JaegerBackend): string {
  const store = backend.kind === 'badger'
    ? `badger: { directories: { keys: "${join(dir, 'keys')}", values: "${join(dir, 'values')}" }, ephemeral: false }`
    // The integ-test distribution of Elasticsearch answers no GET /: Jaeger's version probe and health check are off.
    : `elasticsearch: { server_urls: ["${backend.url}"], version: 8, disable_health_check: true, indices: { index_prefix: "${backend.indexPrefix}" } }`;
  const query = ports.query === undefined ? '' : `
  jaeger_query:
    storage: { traces: bench_store }
    http: { endpoint: "127.0.0.1:${ports.query}" }
    grpc: { endpoint: "127.0.0.1:${ports.queryGrpc}" }`;
  return `service:
  extensions: [jaeger_storage${ports.query === undefined ? '' : ', jaeger_query'}]
  pipelines:
    traces: { receivers: [otlp, zipkin], processors: [batch], exporters: [jaeger_storage_exporter] }
  telemetry:
    metrics:
      level: detailed
      readers: [{ pull: { exporter: { prometheus: { host: 127.0.0.1, port: ${ports.metrics} } } } }]
    logs: { level: warn }
extensions:
  jaeger_storage:
    backends:
      bench_store: { ${store} }${query}
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:${ports.otlpGrpc}" }
      http: { endpoint: "127.0.0.1:${ports.otlpHttp}" }
  zipkin: { endpoint: "127.0.0.1:${ports.zipkin}" }
processors:
  batch: {}
exporters:
  jaeger_storage_exporter: { trace_storage: bench_store }
`;
}

export interface JaegerPeer {
  proc: PeerProcess;
  /** Spans the exporter wrote to storage, and spans it failed to write. */
  written(): Promise<{ written: number; failed: number }>;
}

export function startJaeger(bin: string, dir: string, ports: JaegerPorts, backend: JaegerBackend): JaegerPeer {
  const config = join(dir, 'jaeger.yaml');
  writeFileSync(config, jaegerConfig(dir, ports, backend));
  const proc = startPeer('jaeger', bin, ['--config', config], { PATH: process.env['PATH'], HOME: dir }, join(dir, 'program.log'), dir);
  return {
    proc,
    async written() {
      const page = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
      // The metric's name has had a `_total` suffix in some collector versions and not in others.
      const of = (name: string): number => sumSamples(page, name) + sumSamples(page, `${name}_total`);
      return { written: of('otelcol_exporter_sent_spans'), failed: of('otelcol_exporter_send_failed_spans') };
    },
  };
}
