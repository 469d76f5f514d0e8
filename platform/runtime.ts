/**
 * What a running program is given, and what it gives back. In `all`, the three programs share one runtime, so
 * they share one embedded store and one engine connection through `shared`.
 */
import type { Config } from './config/load-config.js';
import type { Logger } from './log.js';

export interface Runtime {
  config: Config;
  log: Logger;
  shared: SharedResources;
}

export interface RunningProgram {
  /** Ports and facts for the start-up summary. */
  summary: string[];
  /** Stop reading, flush, save positions. Idempotent. */
  close(): Promise<void>;
  /** What it found once settled (engine, declaring containers, where to look), printed a moment after start. */
  report?(): Promise<string[]>;
}

export type StartProgram = (runtime: Runtime) => Promise<RunningProgram>;

/** Lazily created resources shared by the programs of one process, closed last, in reverse order of creation. */
export class SharedResources {
  private readonly items = new Map<string, unknown>();
  private readonly closers: Array<() => Promise<void> | void> = [];
  private readonly onStarted: Array<() => void> = [];
  private hasStarted = false;

  get<T>(key: string, create: () => T, close?: (value: T) => Promise<void> | void): T {
    if (this.items.has(key)) return this.items.get(key) as T;
    const value = create();
    this.items.set(key, value);
    if (close) this.closers.push(() => close(value));
    return value;
  }

  /**
   * Runs `fn` once every program of the process has started (at once when they have): for what a shared resource
   * says once per process rather than once per program, as the store's migration summary.
   */
  whenStarted(fn: () => void): void {
    if (this.hasStarted) fn();
    else this.onStarted.push(fn);
  }

  /** Called by the runtime once every program has started. */
  started(): void {
    this.hasStarted = true;
    for (const fn of this.onStarted.splice(0)) fn();
  }

  async closeAll(): Promise<void> {
    while (this.closers.length > 0) await this.closers.pop()!();
    this.items.clear();
  }
}
