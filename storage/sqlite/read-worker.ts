/**
 * A reader thread of the store (started by database.ts `read()`): runs one query at a time on its own read-only
 * connection and posts the answer back, so that a large query (a log search or count over the whole store, a trace
 * search) holds this thread, not the event loop. WAL lets it read beside the writer; it sees what was committed when it starts.
 */
import Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { SpanMetricsQuery, TraceQuery } from '../span-storage.js';
import { dependencyLinks } from './span-dependencies.js';
import { spanMetricSamples } from './span-metric-samples.js';
import { countMatchingTraces, matchingTraceIds, searchContextOn } from './span-search.js';

export interface ReadWorkerData {
  path: string;
}

/** `all`: the rows as objects; `value`: the first column of the first row (undefined when none). */
export type ReadMode = 'all' | 'value';

/**
 * What a reader thread runs: one SELECT (`sql`), or a trace search of the span store (span-search.ts) — its trace
 * ids (`traceIds`) or how many traces match (`countTraces`); the calls between services (`dependencies`,
 * span-dependencies.ts); the spans the Monitor tab counts (`spanMetricSamples`, span-metric-samples.ts).
 */
export type ReadJob =
  | { kind: 'sql'; sql: string; params: unknown[]; mode: ReadMode }
  | { kind: 'traceIds'; query: TraceQuery }
  | { kind: 'countTraces'; query: TraceQuery }
  | { kind: 'dependencies'; endTimeMs: number; lookbackMs: number }
  | { kind: 'spanMetricSamples'; query: SpanMetricsQuery };

export type ReadRequest = ReadJob & { id: number };

/** `damaged`: rows a trace search could not read (what, why), for the caller's warning. */
export type ReadResponse = { id: number; result: unknown; damaged?: Array<[string, string]> } | { id: number; error: string; code?: string };

const port = parentPort!;
const db = new Database((workerData as ReadWorkerData).path, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
const statements = new Map<string, Statement>();

function statement(sql: string, mode: ReadMode): Statement {
  const key = `${mode}\n${sql}`;
  let s = statements.get(key);
  if (!s) {
    if (statements.size > 200) statements.clear();
    s = db.prepare(sql);
    if (mode === 'value') s.pluck();
    statements.set(key, s);
  }
  return s;
}

const rawStatements = new Map<string, Statement>();
/** The damaged rows the current trace search met. */
let damaged: Array<[string, string]> = [];
const search = searchContextOn((sql) => {
  let s = rawStatements.get(sql);
  if (!s) {
    if (rawStatements.size > 500) rawStatements.clear();
    s = db.prepare(sql);
    rawStatements.set(sql, s);
  }
  return s;
}, (what, err) => {
  if (damaged.length < 100) damaged.push([what, String((err as Error)?.message ?? err)]);
});

port.on('message', (req: ReadRequest) => {
  try {
    damaged = [];
    let result: unknown;
    if (req.kind === 'traceIds') result = matchingTraceIds(search, req.query);
    else if (req.kind === 'countTraces') result = countMatchingTraces(search, req.query);
    else if (req.kind === 'dependencies') result = dependencyLinks(search.prepare, req.endTimeMs, req.lookbackMs, search.damaged);
    else if (req.kind === 'spanMetricSamples') result = spanMetricSamples(search.prepare, req.query, search.damaged);
    else {
      const s = statement(req.sql, req.mode);
      result = req.mode === 'value' ? s.get(...req.params) : s.all(...req.params);
    }
    port.postMessage({ id: req.id, result, ...(damaged.length > 0 ? { damaged } : {}) } satisfies ReadResponse);
  } catch (err) {
    // Answered to the caller, who maps it to its own error.
    const e = err as { message?: string; code?: string };
    port.postMessage({ id: req.id, error: String(e.message ?? err), code: e.code } satisfies ReadResponse);
  }
});
