/**
 * The store's checkpoint thread (started by database.ts): its own connection to the database checkpoints the WAL
 * and makes it durable, so that neither ever runs inside a commit of the event loop's thread, whose connection
 * has `wal_autocheckpoint=0` and `synchronous=OFF`.
 *
 * Every `pollMs` it checks the WAL: a PASSIVE checkpoint (it never takes the write lock, so the writer never
 * waits for it) once the WAL file passes `walThresholdBytes` or `checkpointIntervalMs` after the last one; and an
 * fsync of the WAL at most `syncIntervalMs` after a commit changed it. With `synchronous=NORMAL` here, a
 * checkpoint syncs the WAL before it copies frames and the database file after.
 *
 * The WAL's cap (`walCapBytes`, shared memory `control`, see `WalControl`): SQLite starts the WAL over only when a
 * write transaction begins with every frame copied, which writes back to back never leave a PASSIVE checkpoint
 * (the writer appends while it copies and syncs). Past half the cap this thread checkpoints back to back, each
 * one copying what the writer appended during the last; past the cap, once one took little (`readyMs`) and copied
 * every frame, it says READY, and the writer, between two of its transactions, asks for one more and waits for it
 * (database.ts `walValve`). That last checkpoint copies only a short tail, and the writer's next transaction
 * starts the WAL over.
 */
import Database from 'better-sqlite3';
import { closeSync, fstatSync, fsyncSync, openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { WalControl } from './wal-control.js';

export interface CheckpointWorkerData {
  path: string;
  walThresholdBytes: number;
  checkpointIntervalMs: number;
  syncIntervalMs: number;
  pollMs: number;
  /** WAL content past which checkpoints run back to back and the writer is told READY. */
  walCapBytes: number;
  /** The longest checkpoint after which READY is said: the writer's wait is about a fraction of it. */
  readyMs: number;
  /** After READY, how long the thread waits for the writer's request before it checkpoints again. */
  readyHoldMs: number;
  /** An Int32Array over a SharedArrayBuffer, indexed by `WalControl`. */
  control: Int32Array;
}

/** What the thread reports: `ready` once open, `checkpoint` after each one that copied frames, `sync` after each fsync. */
export type CheckpointWorkerMessage =
  | { type: 'ready' }
  | { type: 'checkpoint'; frames: number; tookMs: number }
  | { type: 'sync'; tookMs: number };

/** Atomics.waitAsync (Node ≥ 16), not in this project's TypeScript lib. */
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, i: number, v: number, timeoutMs: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

const data = workerData as CheckpointWorkerData;
const port = parentPort!;
const ctl = data.control;
const db = new Database(data.path);
db.pragma('busy_timeout = 0');
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 0');
const frameBytes = (db.pragma('page_size', { simple: true }) as number) + 24;
const walPath = `${data.path}-wal`;
let lastCheckpointMs = performance.now();
let lastSyncMs = performance.now();
/** The WAL's size and change time at its last sync: a commit changes one of them. */
let syncedStat = '';
/**
 * Past half the cap at the last checkpoint: the next one follows at once (but after READY, see `run`), so that the
 * tail left to copy is short by the time the WAL reaches the cap.
 */
let overCap = false;
let ready = false;
/** Just served the writer's request: the next tick comes soon (`SETTLE_MS`) rather than a poll later. */
let justServed = false;
/** After the writer's wait: time for its next transaction to begin (and start the WAL over) before the next look. */
const SETTLE_MS = 5;
/** A checkpoint once the WAL file passes this: `walThresholdBytes`, less for a small cap (a quarter of it). */
const thresholdBytes = Math.min(data.walThresholdBytes, data.walCapBytes / 4);

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
  // A READY left from the last checkpoint (the writer did not ask in time) no longer holds: asked now, the writer
  // would wait for this one and the next.
  Atomics.store(ctl, WalControl.READY, 0);
  const startMs = performance.now();
  const [r] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
  lastCheckpointMs = performance.now();
  const tookMs = lastCheckpointMs - startMs;
  if (!r || r.log < 0) return; // another connection was checkpointing (the store's close)
  // `log`: the frames in the WAL when it began; after the writer started the WAL over, only the new ones.
  const walBytes = r.log * frameBytes;
  Atomics.store(ctl, WalControl.WAL_KIB, Math.ceil(walBytes / 1024));
  overCap = walBytes >= data.walCapBytes / 2;
  ready = walBytes >= data.walCapBytes && r.busy === 0 && r.checkpointed === r.log && tookMs <= data.readyMs;
  Atomics.store(ctl, WalControl.READY, ready ? 1 : 0);
  if (r.checkpointed > 0) port.postMessage({ type: 'checkpoint', frames: r.checkpointed, tookMs } satisfies CheckpointWorkerMessage);
}

function tick(): void {
  const wal = walStat();
  if (wal === undefined) return;
  try {
    const kib = Math.ceil(wal.size / 1024);
    Atomics.store(ctl, WalControl.FILE_KIB, kib);
    if (kib > Atomics.load(ctl, WalControl.PEAK_FILE_KIB)) Atomics.store(ctl, WalControl.PEAK_FILE_KIB, kib);
    const nowMs = performance.now();
    if (overCap || wal.size >= thresholdBytes || nowMs - lastCheckpointMs >= data.checkpointIntervalMs) checkpoint();
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

/**
 * Ticks every `pollMs`, back to back (1 ms apart) past half the cap, and at once when the writer asks: sleeping on the
 * REQUEST slot wakes the thread as soon as it is bumped.
 */
async function run(): Promise<void> {
  let lastRequest = Atomics.load(ctl, WalControl.REQUEST);
  for (;;) {
    const request = Atomics.load(ctl, WalControl.REQUEST);
    justServed = false;
    if (request !== lastRequest) {
      lastRequest = request;
      justServed = true;
      // The checkpoint alone while the writer waits: the WAL's periodic fsync (tick) would add tens of ms to its wait.
      try {
        checkpoint();
      } finally {
        // The writer goes on either way and its next transaction starts the WAL over (or not: a reader held it);
        // the next tick sees which, SETTLE_MS later, so that no checkpoint runs while that transaction begins.
        ready = false;
        overCap = false;
        Atomics.store(ctl, WalControl.READY, 0);
        Atomics.store(ctl, WalControl.DONE, request);
        Atomics.notify(ctl, WalControl.DONE);
      }
    } else tick();
    // After READY, the writer's request is awaited rather than another checkpoint begun: one begun would be in the
    // middle of its copy and syncs when the request comes, and the writer would wait for it and the next.
    const wait = waitAsync(ctl, WalControl.REQUEST, lastRequest, ready ? data.readyHoldMs : justServed ? SETTLE_MS : overCap ? 1 : data.pollMs);
    if (wait.async) await wait.value;
  }
}

port.postMessage({ type: 'ready' } satisfies CheckpointWorkerMessage);
// A pending Atomics.waitAsync does not keep a thread alive: without a timer, it would end at its first wait.
setInterval(() => undefined, 60_000);
void run().catch((err: unknown) => {
  // Thrown out of the thread: database.ts counts it and starts a new one.
  setImmediate(() => {
    throw err;
  });
});
