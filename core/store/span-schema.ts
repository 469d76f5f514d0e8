/**
 * Tables of the `spans` component of the embedded store.
 *
 * - `spans`: one row per span; the searchable columns plus `data` (span-codec.ts). `parent_id` feeds the
 *   dependency links; `process` points at the span's process. Indexes serve: trace by id, search by service
 *   (+ operation) over a time range, search without a service, retention by start time.
 * - `span_tags`: the tag index of span tags and log fields, one row per distinct (key, value) of a span; its
 *   primary key answers `key = ? AND value IN (…)` both as a posting list and as a probe for one span.
 * - `processes` / `process_tags`: a process (service + tags) is stored and indexed once, not once per span: Jaeger
 *   clients repeat 3–5 process tags on every span, a third of the tag rows otherwise.
 * - `services`, `operations`: what `/api/services` and `/api/operations` list, with the last time seen.
 *
 * Retention deletes a span's tag rows from its own data (no index by span is kept: it would double the tag
 * index for the sake of a background job).
 */
import type { Migration } from './database.js';

export const SPAN_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'spans, tag index, services and operations',
    up(db) {
      db.exec(`
        CREATE TABLE spans (
          id INTEGER PRIMARY KEY,
          trace_id TEXT NOT NULL,
          span_id TEXT NOT NULL,
          parent_id TEXT,
          process INTEGER NOT NULL,
          service TEXT NOT NULL,
          operation TEXT NOT NULL,
          kind TEXT NOT NULL,
          start_us INTEGER NOT NULL,
          duration_us INTEGER NOT NULL,
          data TEXT NOT NULL
        );
        CREATE INDEX spans_trace ON spans (trace_id, span_id);
        CREATE INDEX spans_service_start ON spans (service, start_us);
        CREATE INDEX spans_service_operation_start ON spans (service, operation, start_us);
        CREATE INDEX spans_start ON spans (start_us);
        CREATE TABLE span_tags (
          key TEXT NOT NULL,
          value TEXT NOT NULL,
          span INTEGER NOT NULL,
          PRIMARY KEY (key, value, span)
        ) WITHOUT ROWID;
        CREATE TABLE processes (
          id INTEGER PRIMARY KEY,
          service TEXT NOT NULL,
          tags TEXT NOT NULL,
          last_seen_us INTEGER NOT NULL,
          UNIQUE (service, tags)
        );
        CREATE TABLE process_tags (
          key TEXT NOT NULL,
          value TEXT NOT NULL,
          process INTEGER NOT NULL,
          PRIMARY KEY (key, value, process)
        ) WITHOUT ROWID;
        CREATE TABLE services (
          name TEXT PRIMARY KEY,
          last_seen_us INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE operations (
          service TEXT NOT NULL,
          name TEXT NOT NULL,
          kind TEXT NOT NULL,
          last_seen_us INTEGER NOT NULL,
          PRIMARY KEY (service, name, kind)
        ) WITHOUT ROWID;
      `);
    },
  },
];
