/**
 * A reader thread of the store (started by database.ts `read()`): runs one SELECT at a time on its own read-only
 * connection and posts the rows back, so that a large query (a log search or count over the whole store) holds
 * this thread, not the event loop. WAL lets it read beside the writer; it sees what was committed when it starts.
 */
import Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

export interface ReadWorkerData {
  path: string;
}

/** `all`: the rows as objects; `value`: the first column of the first row (undefined when none). */
export type ReadMode = 'all' | 'value';

export interface ReadRequest {
  id: number;
  sql: string;
  params: unknown[];
  mode: ReadMode;
}

export type ReadResponse = { id: number; result: unknown } | { id: number; error: string; code?: string };

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

port.on('message', (req: ReadRequest) => {
  try {
    const s = statement(req.sql, req.mode);
    const result = req.mode === 'value' ? s.get(...req.params) : s.all(...req.params);
    port.postMessage({ id: req.id, result } satisfies ReadResponse);
  } catch (err) {
    // Answered to the caller, who maps it to its own error.
    const e = err as { message?: string; code?: string };
    port.postMessage({ id: req.id, error: String(e.message ?? err), code: e.code } satisfies ReadResponse);
  }
});
