/**
 * Where the collector's OTLP log receivers hand records: to every log output at once (LOGGING_OUTPUT, the pilot's
 * outputs: logs/outputs/), answering the request only once every output has taken them (the Elasticsearch, Redis and
 * Kafka outputs take a batch once it is in their disk buffer; the store once it is written).
 *
 * Back-pressure: the bytes handed to the outputs and not yet taken are bounded (COLLECTOR_LOGS_MAX_IN_FLIGHT). A
 * request that would pass the bound is refused at once, nothing written ('busy': the receivers answer 503 with
 * Retry-After, or UNAVAILABLE with RetryInfo), rather than waiting: an OTLP client retries, and waiting requests would
 * hold their bodies in memory without end. A request alone larger than the bound is taken when nothing else is.
 */
import type { LogEvent, LogSink } from '../../model/log-record.js';
import { describe } from '../../platform/errors.js';
import type { Logger } from '../../platform/log.js';
import { counter, gauge, type Registry } from '../../platform/self-metrics.js';

export type IntakeOutcome = 'accepted' | 'busy' | 'failed';

export interface LogIntakeOptions {
  sinks: readonly LogSink[];
  maxInFlightBytes: number;
  registry: Registry;
  log: Logger;
}

export class LogIntake {
  private inFlightBytes = 0;
  private readonly setInFlight: (n: number) => void;
  private readonly records;
  private readonly refusedBusy;
  private readonly writeFailures;

  constructor(private readonly opts: LogIntakeOptions) {
    const reg = opts.registry;
    this.records = counter(reg, { name: 'shipwatch_collector_log_records_received_total', help: 'OTLP log records every log output took.', labelNames: ['protocol'] as const });
    this.refusedBusy = counter(reg, { name: 'shipwatch_collector_log_records_refused_busy_total', help: 'OTLP log records refused because the log outputs were behind (COLLECTOR_LOGS_MAX_IN_FLIGHT): 503 over HTTP, UNAVAILABLE over gRPC.', labelNames: ['protocol'] as const });
    this.writeFailures = counter(reg, { name: 'shipwatch_collector_log_output_write_failures_total', help: 'Batches of OTLP log records a log output failed to take (the request is answered with an error, the client retries).', labelNames: ['output'] as const });
    const inFlight = gauge(reg, { name: 'shipwatch_collector_log_in_flight_bytes', help: 'Bytes of OTLP log records handed to the log outputs and not yet taken by every one.' });
    this.setInFlight = (n) => inFlight.set(n);
  }

  /** Hands `events` (`bytes` of records) to every output; resolves with the outcome once each answered. */
  async hand(events: LogEvent[], bytes: number, protocol: string): Promise<IntakeOutcome> {
    if (events.length === 0) return 'accepted';
    if (this.inFlightBytes > 0 && this.inFlightBytes + bytes > this.opts.maxInFlightBytes) {
      this.refusedBusy.inc({ protocol }, events.length);
      return 'busy';
    }
    this.inFlightBytes += bytes;
    this.setInFlight(this.inFlightBytes);
    try {
      const outcomes = await Promise.all(this.opts.sinks.map((sink) => sink.write(events).then(() => true, (err: unknown) => {
        this.writeFailures.inc({ output: sink.name });
        this.opts.log.error('log output did not take OTLP log records; the request is answered with an error', { output: sink.name, records: events.length, reason: describe(err) });
        return false;
      })));
      if (!outcomes.every(Boolean)) return 'failed';
      this.records.inc({ protocol }, events.length);
      return 'accepted';
    } finally {
      this.inFlightBytes -= bytes;
      this.setInFlight(this.inFlightBytes);
    }
  }

  /** Resolves when nothing handed out waits for an output, or after `timeoutMs`; says which. */
  async drained(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlightBytes > 0) {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }

  /** For /health: the outputs' own words when one does not take records now. */
  problem(): string | undefined {
    return this.opts.sinks.map((s) => s.problem?.()).filter((p) => p !== undefined).join('; ') || undefined;
  }
}
