/**
 * Slots of the Int32Array (over a SharedArrayBuffer) that the store's writer (database.ts) and its checkpoint thread
 * (checkpoint-worker.ts) share for the WAL's cap. Its own module: importing the thread's would run the thread here.
 */
export const WalControl = {
  /** Bumped by the writer to ask for a checkpoint now (Atomics.notify). */
  REQUEST: 0,
  /** The last request served (Atomics.notify). */
  DONE: 1,
  /** 1 while the WAL is past the cap and the last checkpoint was short and complete. */
  READY: 2,
  /** The WAL's content (frames × frame size) at the last checkpoint, KiB. */
  WAL_KIB: 3,
  /** The WAL file's size at the last look, KiB, and the largest seen. */
  FILE_KIB: 4,
  PEAK_FILE_KIB: 5,
  /** Slots in all. */
  SIZE: 6,
} as const;

