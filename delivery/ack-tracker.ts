/**
 * Acknowledgement tracking for one source (Vector's and Beats' model): batches are handed out in position order,
 * may complete in any order, and the committed position — the one a source may save — only moves past a batch
 * once it and every batch before it have completed. So a crash can replay, never skip.
 */
export interface AckTicket {
  readonly end: number;
  done: boolean;
}

export class AckTracker {
  private queue: AckTicket[] = [];
  private head = 0;
  private committedPosition: number;

  /** `position`: where reading starts (the saved position). */
  constructor(position: number, private readonly onCommit?: (position: number) => void) {
    this.committedPosition = position;
  }

  /** The highest position below which everything is acknowledged. */
  get committed(): number {
    return this.committedPosition;
  }

  /** Batches handed out and not yet committed (completed ones waiting behind a slower one included). */
  get outstanding(): number {
    return this.queue.length - this.head;
  }

  /** Registers a batch ending at `end` (positions must not go backwards; `reset` first after a truncation). */
  issue(end: number): AckTicket {
    const last = this.queue.length > this.head ? this.queue[this.queue.length - 1]!.end : this.committedPosition;
    if (end < last) throw new RangeError(`ack position ${end} is before ${last}`);
    const ticket: AckTicket = { end, done: false };
    this.queue.push(ticket);
    return ticket;
  }

  /** Marks a batch acknowledged by every output; commits as far as the oldest unfinished batch. Idempotent. */
  complete(ticket: AckTicket): void {
    if (ticket.done) return;
    ticket.done = true;
    let moved = false;
    while (this.head < this.queue.length && this.queue[this.head]!.done) {
      this.committedPosition = this.queue[this.head]!.end;
      this.head++;
      moved = true;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (moved) this.onCommit?.(this.committedPosition);
  }

  /**
   * The file was truncated: positions restart at `position`. Batches still in flight belong to the old content;
   * they are dropped from tracking (their outcome can no longer move the new file's position).
   */
  reset(position: number): void {
    for (let i = this.head; i < this.queue.length; i++) this.queue[i]!.done = true;
    this.queue = [];
    this.head = 0;
    this.committedPosition = position;
    this.onCommit?.(position);
  }

  /** Resolves when nothing is outstanding, or after `timeoutMs`; returns whether everything was acknowledged. */
  async settled(timeoutMs: number, pollMs = 20): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.outstanding > 0) {
      if (Date.now() >= deadline) return false;
      // Kept referenced: a caller awaiting the flush at shutdown must not see the process exit under it.
      await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(1, deadline - Date.now()))));
    }
    return true;
  }
}
