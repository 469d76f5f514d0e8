/**
 * The `console` output: one JSON record per line on standard output. A batch is acknowledged once the stream has
 * taken its bytes (so a slow reader of our stdout slows the tail down instead of growing memory).
 */
import type { Writable } from 'node:stream';
import { swError } from '../../platform/errors.js';
import type { LogEvent, LogSink } from '../../model/log-record.js';
import { recordLines } from './record-lines.js';

export class ConsoleSink implements LogSink {
  readonly name = 'console';
  private closed = false;

  constructor(private readonly out: Writable = process.stdout) {}

  write(events: LogEvent[]): Promise<void> {
    if (this.closed) return Promise.reject(swError('SW_OUTPUT_FAILED', 'console output is closed'));
    if (events.length === 0) return Promise.resolve();
    const bytes = recordLines(events);
    return new Promise((resolve, reject) => {
      this.out.write(bytes, (err) => (err ? reject(swError('SW_OUTPUT_FAILED', `console: ${err.message}`, err)) : resolve()));
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
