/**
 * The `file` output: newline-delimited JSON under a folder, one file per target and UTC day of the record's
 * `@timestamp` (`<target>-YYYY.MM.DD.ndjson`, the index name Elasticsearch would use). A batch is acknowledged
 * once its bytes are written to the files (handed to the kernel: they survive the pilot, not a power cut).
 * Files not written for a while are closed; a batch's records for one file go in one write.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, swError } from '../../platform/errors.js';
import type { LogEvent, LogSink } from '../../model/log-record.js';
import { recordLines } from './record-lines.js';

export interface FileSinkOptions {
  dir: string;
  /** Close a file not written for this long. */
  idleCloseMs?: number;
}

interface OpenFile {
  handle: FileHandle;
  lastWriteMs: number;
}

const DAY_MS = 86_400_000;
let cachedDayStartMs = NaN;
let cachedDay = '';

/** `YYYY.MM.DD` (UTC); records of one batch nearly always share their day, so the last one is kept. */
function dayOf(ms: number): string {
  if (ms >= cachedDayStartMs && ms < cachedDayStartMs + DAY_MS) return cachedDay;
  cachedDayStartMs = Math.floor(ms / DAY_MS) * DAY_MS;
  cachedDay = formatDay(ms);
  return cachedDay;
}

function formatDay(ms: number): string {
  const d = new Date(ms);
  const mm = String(d.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(d.getUTCDate()).padStart(2, '0');
  return `${d.getUTCFullYear()}.${mm}.${dd}`;
}

export function fileOutputName(target: string, timestampMs: number): string {
  return `${target}-${dayOf(timestampMs)}.ndjson`;
}

export class FileSink implements LogSink {
  readonly name = 'file';
  private readonly files = new Map<string, Promise<OpenFile>>();
  /** Writes are serialised so records of one file keep their order across batches. */
  private chain: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private closed: Promise<void> | undefined;

  constructor(private readonly opts: FileSinkOptions) {
    // In the write chain, so no write uses a file while it is being closed.
    this.timer = setInterval(() => (this.chain = this.chain.then(() => this.closeIdle()).catch(() => {})), Math.max(1000, (opts.idleCloseMs ?? 60_000) / 2));
    this.timer.unref();
  }

  write(events: LogEvent[]): Promise<void> {
    if (this.closed) return Promise.reject(swError('SW_OUTPUT_FAILED', 'file output is closed'));
    // A batch nearly always holds one target and one day: the file is looked up again only when either changes.
    const byFile = new Map<string, LogEvent[]>();
    let target = '';
    let day = '';
    let list: LogEvent[] | undefined;
    for (const e of events) {
      const d = dayOf(e.timestampMs);
      if (list === undefined || e.target !== target || d !== day) {
        target = e.target;
        day = d;
        const name = `${target}-${day}.ndjson`;
        list = byFile.get(name);
        if (!list) byFile.set(name, (list = []));
      }
      list.push(e);
    }
    // Encoded now: the bytes wait for earlier batches' writes, the records need not.
    const chunks = [...byFile].map(([name, list]) => [name, recordLines(list)] as const);
    const run = this.chain.then(async () => {
      for (const [name, bytes] of chunks) {
        const f = await this.file(name);
        await f.handle.write(bytes);
        f.lastWriteMs = Date.now();
      }
    });
    this.chain = run.catch(() => {});
    return run.catch((err: unknown) => {
      throw swError('SW_OUTPUT_FAILED', `file output in ${this.opts.dir}: ${describe(err)}`, err);
    });
  }

  private file(name: string): Promise<OpenFile> {
    let f = this.files.get(name);
    if (!f) {
      f = (async () => {
        await mkdir(this.opts.dir, { recursive: true });
        return { handle: await open(join(this.opts.dir, name), 'a'), lastWriteMs: Date.now() };
      })();
      this.files.set(name, f);
      f.catch(() => this.files.delete(name));
    }
    return f;
  }

  private async closeIdle(): Promise<void> {
    const limit = Date.now() - (this.opts.idleCloseMs ?? 60_000);
    for (const [name, pending] of this.files) {
      const f = await pending.catch(() => undefined);
      if (f && f.lastWriteMs < limit) {
        this.files.delete(name);
        await f.handle.close();
      }
    }
  }

  close(): Promise<void> {
    return (this.closed ??= (async () => {
      clearInterval(this.timer);
      await this.chain;
      for (const pending of this.files.values()) {
        const f = await pending.catch(() => undefined);
        await f?.handle.close();
      }
      this.files.clear();
    })());
  }
}
