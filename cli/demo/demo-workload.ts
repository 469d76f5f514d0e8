/**
 * `shipwatch demo`'s workload: the shop of ./demo-shop.ts sent to the running programs through the ports a real
 * application would use, with the libraries a real application would use — spans and logs through the
 * OpenTelemetry SDK's OTLP/HTTP exporters (its logs carry the span they were written in, so a log line links to its
 * trace), request counts as InfluxDB line protocol to the collector's push endpoint. Nothing is written to a store
 * behind the programs' backs: what the demo shows went through the same receivers, pipeline and outputs as a
 * user's data.
 *
 * The SDKs are loaded only here, when the demo runs.
 */
import type { Config } from '../../platform/config/load-config.js';
import type { Logger } from '../../platform/log.js';
import { seededRandom } from '../../platform/seeded-random.js';
import { DEMO_SERVICES, planRequest, type PlannedRequest } from './demo-shop.js';

export interface DemoOptions {
  /** Milliseconds between requests. */
  intervalMs: number;
  /** Milliseconds between metric pushes. */
  metricsIntervalMs: number;
  seed: number;
}

export interface RunningDemo {
  /** Requests sent so far. */
  readonly requests: number;
  close(): Promise<void>;
}

type Listen = { host: string; port: number };

/** Where a program listening on `listen` is reached from this process. */
function local(listen: Listen, path: string): string {
  const host = listen.host === '0.0.0.0' || listen.host === '::' || listen.host === '' ? '127.0.0.1' : listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return `http://${host}:${listen.port}${path}`;
}

/** The ports the demo sends to must be known before it starts: port 0 is chosen by the program, unseen here. */
export function demoEndpoints(config: Config): { traces: string; logs: string; write: string } {
  const c = config.collector;
  for (const [variable, listen] of [['COLLECTOR_OTLP_HTTP_LISTEN', c.otlpHttpListen], ['COLLECTOR_ADMIN_LISTEN', c.adminListen]] as const) {
    if (listen.port === 0) throw new Error(`the demo sends to ${variable}: give it a port (it is 0)`);
  }
  return { traces: local(c.otlpHttpListen, '/v1/traces'), logs: local(c.otlpHttpListen, '/v1/logs'), write: local(c.adminListen, '/write?db=demo&precision=ms') };
}

const SEVERITY_NUMBER = { DEBUG: 5, INFO: 9, WARN: 13, ERROR: 17 } as const;

export async function startDemo(config: Config, log: Logger, options: DemoOptions): Promise<RunningDemo> {
  const endpoints = demoEndpoints(config);
  const token = config.collector.authToken;
  const headers: Record<string, string> = token === '' ? {} : { authorization: `Bearer ${token}` };

  const api = await import('@opentelemetry/api');
  const { BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  const { LoggerProvider, BatchLogRecordProcessor } = await import('@opentelemetry/sdk-logs');
  const { resourceFromAttributes } = await import('@opentelemetry/resources');
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
  const { OTLPLogExporter } = await import('@opentelemetry/exporter-logs-otlp-http');

  // One SDK per service, as five processes would have: each its own resource.
  const services = new Map<string, { traces: InstanceType<typeof BasicTracerProvider>; tracer: ReturnType<InstanceType<typeof BasicTracerProvider>['getTracer']>; logs: InstanceType<typeof LoggerProvider>; logger: ReturnType<InstanceType<typeof LoggerProvider>['getLogger']> }>(
    DEMO_SERVICES.map((name) => {
      const resource = resourceFromAttributes({ 'service.name': name, 'service.namespace': 'shipwatch-demo', 'deployment.environment.name': 'demo' });
      const traces = new BasicTracerProvider({
        resource,
        spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: endpoints.traces, headers }), { scheduledDelayMillis: 500 })],
      });
      const logs = new LoggerProvider({
        resource,
        processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: endpoints.logs, headers }), scheduledDelayMillis: 500 })],
      });
      return [name, { traces, tracer: traces.getTracer('shipwatch-demo'), logs, logger: logs.getLogger('shipwatch-demo') }] as const;
    }),
  );

  const KIND = { server: api.SpanKind.SERVER, client: api.SpanKind.CLIENT, internal: api.SpanKind.INTERNAL } as const;
  const random = seededRandom(options.seed);
  const counts = new Map<string, { count: number; durationSum: number }>();
  let requests = 0;

  const send = (request: PlannedRequest): void => {
    // The request happened just now: it ended at this instant.
    const startMs = Date.now() - request.durationMs;
    const made: Array<ReturnType<typeof api.trace.getSpan>> = [];
    for (const planned of request.spans) {
      const service = services.get(planned.service)!;
      const parent = planned.parent < 0 ? api.ROOT_CONTEXT : api.trace.setSpan(api.ROOT_CONTEXT, made[planned.parent]!);
      const span = service.tracer.startSpan(planned.name, { kind: KIND[planned.kind], attributes: planned.attributes, startTime: startMs + planned.startMs }, parent);
      made.push(span);
      const inSpan = api.trace.setSpan(api.ROOT_CONTEXT, span);
      for (const line of planned.logs) {
        service.logger.emit({
          timestamp: startMs + planned.startMs + planned.durationMs / 2,
          severityText: line.severity,
          severityNumber: SEVERITY_NUMBER[line.severity],
          body: line.body,
          attributes: line.attributes,
          context: inSpan,
        });
      }
      if (planned.error !== undefined) {
        span.recordException({ name: 'Error', message: planned.error }, startMs + planned.startMs + planned.durationMs);
        span.setStatus({ code: api.SpanStatusCode.ERROR, message: planned.error });
      }
    }
    // Ended children first, as instrumented code ends them.
    for (let i = request.spans.length - 1; i >= 0; i--) {
      const planned = request.spans[i]!;
      made[i]!.end(startMs + planned.startMs + planned.durationMs);
    }
    const key = `route=${request.route},status=${request.status}`;
    const total = counts.get(key) ?? { count: 0, durationSum: 0 };
    total.count += 1;
    total.durationSum += request.durationMs;
    counts.set(key, total);
    requests += 1;
  };

  // Counters as an instrumented service exports them: totals since its start, so a rate is what reads them.
  const pushMetrics = async (): Promise<void> => {
    const now = Date.now();
    const lines: string[] = [];
    for (const [key, total] of counts) {
      const tags = key.replace(/ /g, '\\ ');
      lines.push(`shop_http_requests,service=frontend,${tags} count=${total.count}i,duration_ms_sum=${total.durationSum.toFixed(1)} ${now}`);
    }
    lines.push(`shop_inventory,service=inventory,warehouse=main items_in_stock=${Math.round(5000 + 500 * Math.sin(now / 60_000))}i ${now}`);
    const response = await fetch(endpoints.write, { method: 'POST', headers: { ...headers, 'content-type': 'text/plain' }, body: lines.join('\n') + '\n' });
    if (!response.ok) throw new Error(`${endpoints.write} answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
  };

  let metricsFailing = false;
  const requestTimer = setInterval(() => send(planRequest(random)), options.intervalMs);
  const metricsTimer = setInterval(() => {
    pushMetrics().then(
      () => {
        if (metricsFailing) log.info('demo metrics pushed again');
        metricsFailing = false;
      },
      (err: unknown) => {
        if (!metricsFailing) log.warn('demo metrics push failed; trying again', { err: (err as Error).message });
        metricsFailing = true;
      },
    );
  }, options.metricsIntervalMs);
  // A first request at once, so the first screen is not empty.
  send(planRequest(random));
  log.info(`demo: a shop of ${DEMO_SERVICES.length} services sends a request every ${options.intervalMs} ms (traces and logs over OTLP, metrics as line protocol)`);

  return {
    get requests() {
      return requests;
    },
    async close() {
      clearInterval(requestTimer);
      clearInterval(metricsTimer);
      // What the SDKs hold is sent before the programs close their receivers.
      await Promise.all([...services.values()].flatMap((s) => [s.traces.shutdown(), s.logs.shutdown()]));
      await pushMetrics().catch(() => {});
    },
  };
}
