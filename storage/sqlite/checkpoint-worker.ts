/**
 * The store's checkpoint thread (started by database.ts): its own connection to the database checkpoints the WAL
 * and makes it durable, so that neither ever runs inside a commit of the event loop's thread, whose connection
 * has `wal_autocheckpoint=0` and `synchronous=OFF`.
 *
 * Every `pollMs` it checks the WAL: a PASSIVE checkpoint (it never takes the write lock, so the writer never
 * waits for it) once the WAL file passes `walThresholdBytes` or `checkpointIntervalMs` after the last one; and an
 * fsync of the WAL at most `syncIntervalMs` after a commit changed it. With `synchronous=NORMAL` here, a
 * checkpoint syncs the WAL before it copies frames and the database file after.
 */
import Database from 'better-sqlite3';
import { closeSync, fstatSync, fsyncSync, openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

export interface CheckpointWorkerData {
  path: string;
  walThresholdBytes: number;
  checkpointIntervalMs: number;
  syncIntervalMs: number;
  pollMs: number;
}

/** What the thread reports: `ready` once open, `checkpoint` after each one that copied frames, `sync` after each fsync. */
export type CheckpointWorkerMessage =
  | { type: 'ready' }
  | { type: 'checkpoint'; frames: number; tookMs: number }
  | { type: 'sync'; tookMs: number };

const data = workerData as CheckpointWorkerData;
const port = parentPort!;
const db = new Database(data.path);
db.pragma('busy_timeout = 0');
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 0');
const walPath = `${data.path}-wal`;
let lastCheckpointMs = performance.now();
let lastSyncMs = performance.now();
/** The WAL's size and change time at its last sync: a commit changes one of them. */
let syncedStat = '';

function walStat(): { size: number; key: string; fd: number } | undefined {
  let fd: number;
  try {
    fd = openSync(walPath, 'r');
  } catch {
    return undefined; // no WAL (yet, or after a TRUNCATE at close)
  }
  const st = fstatSync(fd);
  return { size: st.size, key: `${st.size}:${st.mtimeMs}:${st.ino}`, fd };
}

function checkpoint(): void {
  const startMs = performance.now();
  const [r] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
  lastCheckpointMs = performance.now();
  if (r && r.checkpointed > 0) port.postMessage({ type: 'checkpoint', frames: r.checkpointed, tookMs: lastCheckpointMs - startMs } satisfies CheckpointWorkerMessage);
}

function tick(): void {
  const wal = walStat();
  if (wal === undefined) return;
  try {
    const nowMs = performance.now();
    if (wal.size >= data.walThresholdBytes || nowMs - lastCheckpointMs >= data.checkpointIntervalMs) checkpoint();
    if (wal.key !== syncedStat && performance.now() - lastSyncMs >= data.syncIntervalMs) {
      const startMs = performance.now();
      fsyncSync(wal.fd);
      lastSyncMs = performance.now();
      syncedStat = wal.key;
      port.postMessage({ type: 'sync', tookMs: lastSyncMs - startMs } satisfies CheckpointWorkerMessage);
    }
  } finally {
    closeSync(wal.fd);
  }
}

setInterval(tick, data.pollMs);
port.postMessage({ type: 'ready' } satisfies CheckpointWorkerMessage);
