/**
 * A log record on its way from a pilot source to the sinks.
 *
 * The record itself is already serialised (`json`, one JSON object without a trailing newline): the pilot builds it
 * once from a per-container prefix and the line's own fields, and every sink writes those bytes as they are. The
 * other members are what sinks need to route, index and acknowledge it without parsing the JSON again.
 */
export interface LogEvent {
  /** The record, one JSON object (the fields of the README's "Records" table), no newline. */
  json: string;
  /** Index base name (`target` field). */
  target: string;
  /** The record's `@timestamp` in ms since the epoch (picks the daily index). */
  timestampMs: number;
  /**
   * Deterministic document id from container, source and position: a replay after a crash yields the same ids, so
   * Elasticsearch overwrites instead of duplicating.
   */
  id: string;
  /** Searchable columns for the embedded store and the log API. */
  containerId: string;
  containerName: string;
  app: string;
  service: string;
  /** The text searched by the log API: the line (`message`) or, for json lines, the raw line. */
  text: string;
  /** The trace (32 lowercase hex digits) and span (16) the line names (pilot/trace-context.ts), when it names one. */
  traceId?: string;
  spanId?: string;
  /**
   * Text of `json` many records share (the pilot's constant fields of a container and file, serialised once), with
   * what comes before and after it: `json === beforeShared + shared + afterShared`. An output that stores records
   * may store it once (the Elasticsearch output's disk buffer). Absent when nothing is shared.
   */
  shared?: string;
  beforeShared?: string;
  afterShared?: string;
}

/** The outcome every batch ends in exactly once (Vector's acknowledgement model). */
export type DeliveryStatus = 'delivered' | 'rejected' | 'dropped';

/**
 * An output of the pilot (console, file, Elasticsearch, store). `write` resolves once every event of the batch has
 * an outcome: delivered, rejected (dead-lettered with its reason, counted) or dropped by explicit configuration
 * (counted). Only then may the source move its saved position. It rejects only when the sink is closed.
 */
export interface LogSink {
  readonly name: string;
  write(events: LogEvent[]): Promise<void>;
  /** Optional: why the output does not take records now (for /health, naming it), undefined while it does. */
  problem?(): string | undefined;
  close(): Promise<void>;
}
