/**
 * Tables of the `spans` component of the embedded store (written by span-write.ts, read by span-search.ts):
 * - `spans`: one row per span, or per run of a trace's spans that came one after another in a Jaeger agent datagram
 *   (`n` > 1: its data their structs as they lie in the datagram, its ids those of the first with `id … id + n - 1`
 *   reserved, its operation theirs or 0, its start and duration their latest and longest, its spans within
 *   `RUN_EXTENT_US` of each other). Columns: trace id (16-byte blob), group, span id, parent id, process, service and
 *   operation (`span_names` ids), start, duration, `data` (span-codec.ts: Thrift bytes or JSON text). The index by
 *   service carries operation, duration and group, so a search checks the rows it walks without reading the table.
 * - `trace_spans`: (epoch, trace id, first span id, count), one row per trace and batch: a batch gives a trace's
 *   spans consecutive ids.
 * - `span_groups`: spans written together (up to `GROUP_SPANS`), with consecutive span ids from `grp` on.
 * - `group_tags`: the tag index, (epoch, tag hash, group): each distinct tag of a group's spans (span, log, scope
 *   and reference tags) once per group. It answers "which groups hold this tag" and "does this group hold it"; a
 *   search then checks the candidate span's own tags.
 * - `tag_keys` / `tag_values`: the values of a tag key while it has at most `MAX_LISTED_VALUES`, which a
 *   regular-expression search enumerates; a key with more is marked `many`.
 * - `processes` / `process_tags`: a process stored and indexed once (clients repeat 3–5 process tags on every span).
 * - `services`, `operations`: what `/api/services` and `/api/operations` list, with the last time seen.
 *
 * Both indexes keyed by random values (tags, trace ids) are keyed epoch first, so a batch's rows land in the newest
 * epoch's few pages instead of dirtying pages all over the index at every commit (bench/traces-to-store.bench.ts).
 * The migrations below: 1 → 2 moves text names and per-span tag rows over, 3 and 4 re-key the two indexes by
 * epoch, 5 and 6 mark shorter and Thrift span data a release before them would misread, 7 adds runs. What each was
 * measured to save: docs/design/span-write-path.md.
 */
import type { Process, Span } from '../../model/span.js';
import type { Db, Migration } from './database.js';
import { decodeKvs, decodeSpan, type EncodedKv } from './span-codec.js';
import { SpanRowWriter, TAG_EPOCH_SPANS, TRACE_EPOCH_SPANS } from './span-write.js';

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
  {
    version: 2,
    description: 'spans by name ids and blob trace ids, tag index by tag hash and span group, listed tag values',
    up(db) {
      db.exec(`
        DROP INDEX spans_trace;
        DROP INDEX spans_service_start;
        DROP INDEX spans_service_operation_start;
        DROP INDEX spans_start;
        DROP TABLE span_tags;
        ALTER TABLE spans RENAME TO spans_v1;
        CREATE TABLE span_names (
          id INTEGER PRIMARY KEY,
          name TEXT NOT NULL UNIQUE
        );
        CREATE TABLE spans (
          id INTEGER PRIMARY KEY,
          trace_id BLOB NOT NULL,
          grp INTEGER NOT NULL,
          span_id TEXT NOT NULL,
          parent_id TEXT,
          process INTEGER NOT NULL,
          service INTEGER NOT NULL,
          operation INTEGER NOT NULL,
          start_us INTEGER NOT NULL,
          duration_us INTEGER NOT NULL,
          data TEXT NOT NULL
        );
        CREATE TABLE trace_spans (
          trace_id BLOB NOT NULL,
          first INTEGER NOT NULL,
          spans INTEGER NOT NULL,
          PRIMARY KEY (trace_id, first)
        ) WITHOUT ROWID;
        CREATE INDEX spans_service_start ON spans (service, start_us, operation, duration_us, grp);
        CREATE INDEX spans_start ON spans (start_us);
        CREATE TABLE span_groups (
          grp INTEGER PRIMARY KEY,
          spans INTEGER NOT NULL
        );
        CREATE TABLE group_tags (
          tag INTEGER NOT NULL,
          grp INTEGER NOT NULL,
          PRIMARY KEY (tag, grp)
        ) WITHOUT ROWID;
        CREATE TABLE tag_keys (
          key TEXT PRIMARY KEY,
          many INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE tag_values (
          key TEXT NOT NULL,
          value TEXT NOT NULL,
          PRIMARY KEY (key, value)
        ) WITHOUT ROWID;
      `);
      moveVersion1Spans(db);
      db.exec('DROP TABLE spans_v1');
    },
  },
  {
    version: 3,
    description: 'tag index keyed by span id epoch first',
    up(db) {
      db.exec(`
        CREATE TABLE group_tags_v3 (
          epoch INTEGER NOT NULL,
          tag INTEGER NOT NULL,
          grp INTEGER NOT NULL,
          PRIMARY KEY (epoch, tag, grp)
        ) WITHOUT ROWID;
        INSERT INTO group_tags_v3 (epoch, tag, grp) SELECT grp / ${TAG_EPOCH_SPANS}, tag, grp FROM group_tags ORDER BY 1, 2, 3;
        DROP TABLE group_tags;
        ALTER TABLE group_tags_v3 RENAME TO group_tags;
      `);
    },
  },
  {
    version: 4,
    description: 'trace index keyed by span id epoch first',
    up(db) {
      db.exec(`
        CREATE TABLE trace_spans_v4 (
          epoch INTEGER NOT NULL,
          trace_id BLOB NOT NULL,
          first INTEGER NOT NULL,
          spans INTEGER NOT NULL,
          PRIMARY KEY (epoch, trace_id, first)
        ) WITHOUT ROWID;
        INSERT INTO trace_spans_v4 (epoch, trace_id, first, spans) SELECT first / ${TRACE_EPOCH_SPANS}, trace_id, first, spans FROM trace_spans ORDER BY 1, 2, 3;
        DROP TABLE trace_spans;
        ALTER TABLE trace_spans_v4 RENAME TO trace_spans;
      `);
    },
  },
  {
    version: 5,
    description: 'span data: references into the own trace and log times relative to the start, written shorter',
    // Nothing to move: rows written before still read back (span-codec.ts reads both forms). The version marks the
    // rows this release writes, which an earlier one would misread, so that a later downgrade is refused.
    up() {},
  },
  {
    version: 6,
    description: 'span data: spans of Jaeger compact datagrams kept as their Thrift struct',
    // Nothing to move, as for version 5: the version marks BLOB data (span-codec.ts), which an earlier release would
    // misread.
    up() {},
  },
  {
    version: 7,
    description: 'a span row may hold a run of spans of one trace received together in Thrift compact',
    // Rows written before are single spans (n = 1). A run row's per-span columns are bounds (span-write.ts), which an
    // earlier release would take for one span's.
    up(db) {
      db.exec('ALTER TABLE spans ADD COLUMN n INTEGER NOT NULL DEFAULT 1');
    },
  },
];

/** Rewrites the version 1 spans through the version 2 write path, a thousand at a time. */
function moveVersion1Spans(db: Db): void {
  const writer = new SpanRowWriter(db, { epochs: false });
  const read = db.prepare(
    `SELECT s.id, s.trace_id, s.span_id, s.service, s.operation, s.start_us, s.duration_us, s.data, p.tags AS ptags
     FROM spans_v1 s JOIN processes p ON p.id = s.process WHERE s.id > ? ORDER BY s.id LIMIT 1000`,
  );
  const processes = new Map<string, Process>();
  for (let after = 0; ;) {
    const rows = read.all(after) as Array<{ id: number; trace_id: string; span_id: string; service: string; operation: string; start_us: number; duration_us: number; data: string; ptags: string }>;
    if (rows.length === 0) return;
    const spans: Span[] = rows.map((r) => {
      const key = `${r.service}\0${r.ptags}`;
      let process = processes.get(key);
      if (process === undefined) {
        process = { serviceName: r.service, tags: decodeKvs(JSON.parse(r.ptags) as EncodedKv[]) };
        processes.set(key, process);
      }
      return decodeSpan({ traceId: r.trace_id, spanId: r.span_id, operationName: r.operation, startTimeMicros: r.start_us, durationMicros: r.duration_us, data: r.data, process });
    });
    writer.write([spans]);
    after = rows[rows.length - 1]!.id;
  }
}
