/**
 * Turns of the event loop for the process's background slices (the store's retention batches and index merges, its
 * metric transactions, the parsing and handing over of a large line protocol push): `nextTurn()` resolves in a
 * later turn, one waiter per turn, so two slices never run in the same turn and add up. Each waiting on its own
 * setImmediate, they did: the callbacks queued before a turn's check phase all run in it, and a metric
 * transaction (20-30 ms), a hand-over slice (10-20 ms) and a parse slice (10 ms) held the loop 60-100 ms together.
 */
const waiters: Array<() => void> = [];
let pump: NodeJS.Immediate | undefined;

function pumpOne(): void {
  pump = undefined;
  // The waiter's continuation runs as a microtask before this turn's check phase ends; the next waiter's in the
  // next turn (an immediate queued during the check phase runs in the following one).
  waiters.shift()?.();
  if (waiters.length > 0) pump = setImmediate(pumpOne);
}

/** Resolves in a later turn of the event loop than any slice already waiting. */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => {
    waiters.push(resolve);
    pump ??= setImmediate(pumpOne);
  });
}
