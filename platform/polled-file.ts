/**
 * A configuration file read at start and read again every interval (the sampling strategies, the alarm rules).
 *
 * At start a file that cannot be read or used stops the start with SW_CONFIG_INVALID naming its variable, every
 * problem at once. Afterwards a changed, good text is handed to `loaded`; a reload that fails (the file gone,
 * unreadable or wrong) keeps what was loaded before, is told to `failed` once per reason and named by `problem`
 * until a good text is read. An unchanged text is neither parsed nor reported again.
 *
 * Polling the text rather than watching the file: it sees a file replaced through a symbolic link (a Kubernetes
 * ConfigMap) as well as one written in place, and it is how Jaeger's own reload works.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { describe, swError } from './errors.js';

export type ParsedFile<T> = { ok: true; value: T } | { ok: false; problems: string[] };

export interface PolledFileOptions<T> {
  file: string;
  /** The variable naming the file, in the start's error. */
  variable: string;
  /** 0: read once. */
  reloadIntervalMs: number;
  parse(text: string): ParsedFile<T>;
  /** A good text: at start (`initial`) and after each change. */
  loaded(value: T, initial: boolean): void;
  /** A reload that failed, once per reason. */
  failed(reason: string): void;
}

export class PolledFile<T> {
  /** The text last read, good or bad. */
  private lastText: string | undefined;
  private failure: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | undefined;

  /** Reads the file once; throws SW_CONFIG_INVALID naming the variable when it cannot be used. */
  constructor(private readonly opts: PolledFileOptions<T>) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (err) {
      throw swError('SW_CONFIG_INVALID', `${opts.variable}: cannot read ${opts.file}: ${describe(err)}`, err);
    }
    const parsed = opts.parse(text);
    if (!parsed.ok) throw swError('SW_CONFIG_INVALID', `${opts.variable}: ${opts.file}: ${parsed.problems.join('; ')}`);
    this.lastText = text;
    opts.loaded(parsed.value, true);
    if (opts.reloadIntervalMs > 0) {
      this.timer = setInterval(() => void this.reload(), opts.reloadIntervalMs);
      this.timer.unref();
    }
  }

  /** Why what is in force is not the file's current text; undefined while it is. */
  get problem(): string | undefined {
    return this.failure;
  }

  /** Reads the file now (the timer calls this); resolves when done, never rejects. */
  reload(): Promise<void> {
    return (this.reloading ??= this.readAgain().finally(() => (this.reloading = undefined)));
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async readAgain(): Promise<void> {
    const { file } = this.opts;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      this.lastText = undefined;
      this.fail(`cannot read ${file}: ${describe(err)}`);
      return;
    }
    if (text === this.lastText) return;
    this.lastText = text;
    const parsed = this.opts.parse(text);
    if (!parsed.ok) {
      this.fail(`${file}: ${parsed.problems.join('; ')}`);
      return;
    }
    this.failure = undefined;
    this.opts.loaded(parsed.value, false);
  }

  private fail(reason: string): void {
    if (reason !== this.failure) this.opts.failed(reason);
    this.failure = reason;
  }
}
