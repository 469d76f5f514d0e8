/**
 * Follows the engine's containers: at start (and after every reconnection) it lists and inspects the running
 * containers, then follows the events stream (start, die, destroy). The stream is opened before the list, so nothing
 * that happens in between is missed; the listener hears only differences from what it was already told, so a
 * reconnection never announces a container twice.
 *
 * The listener's calls are serialised in event order; a failing call is logged and counted, never stops the watch.
 */
import split2 from 'split2';
import { describe, swError } from '../errors.js';
import type { Logger } from '../log.js';
import { counter, type Registry } from '../self-metrics.js';
import { containerInfoFromInspect, type ContainerInfo } from './container-info.js';
import { engineFailure, isNoSuchContainer, pingEngine, type EngineClient } from './docker-client.js';
import { WakeableSleep } from '../wakeable-sleep.js';

export interface ContainerListener {
  /** A container that runs and was not announced yet (it may already have stopped again: read what it wrote). */
  started(info: ContainerInfo): void | Promise<void>;
  /** An announced container stopped: its logs are complete. */
  stopped(info: ContainerInfo): void | Promise<void>;
  /** A container was removed (event), or is absent from a full listing: forget what is kept about it. */
  removed?(id: string): void | Promise<void>;
  /** After each (re)synchronisation: every container the engine has, running or not. */
  synced?(all: ReadonlyMap<string, { running: boolean }>): void | Promise<void>;
}

export interface WatcherOptions {
  client: EngineClient;
  listener: ContainerListener;
  log: Logger;
  registry?: Registry;
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
}

export interface EngineStatus {
  connected: boolean;
  /** Why not, when not connected. */
  reason?: string;
}

interface EngineEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string };
}

/** An engine that accepts a request and never answers must not stall the watch: such a call fails, and we reconnect. */
const ENGINE_ANSWER_TIMEOUT_MS = 15_000;

function answered<T>(call: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer for ${what} within ${ENGINE_ANSWER_TIMEOUT_MS} ms`)), ENGINE_ANSWER_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([call, late]).finally(() => clearTimeout(timer));
}

/** The unreachable reason last logged per engine client, shared by the watchers of one process. */
const unreachableSaid = new WeakMap<EngineClient, string>();

export class ContainerWatcher {
  private readonly running = new Map<string, ContainerInfo>();
  private readonly opts: Required<Omit<WatcherOptions, 'registry'>> & { registry?: Registry };
  private chain: Promise<void> = Promise.resolve();
  private stream: NodeJS.ReadableStream & { destroy?: () => void } | undefined;
  private closed = false;
  private connected = false;
  private reason = 'not connected yet';
  private loop: Promise<void> | undefined;
  private readonly pause = new WakeableSleep();
  private firstSync: Promise<void>;
  private resolveFirstSync!: () => void;
  private readonly failures;
  private readonly reconnects;
  /** When the last connection was lost (undefined before the first): containers created since then are news. */
  private lostAtMs: number | undefined;

  constructor(options: WatcherOptions) {
    this.opts = { reconnectInitialMs: 250, reconnectMaxMs: 5000, ...options };
    this.firstSync = new Promise((resolve) => (this.resolveFirstSync = resolve));
    const reg = options.registry;
    this.failures = reg
      ? counter(reg, { name: 'shipwatch_engine_listener_failures_total', help: 'Container listener calls that failed.' })
      : undefined;
    this.reconnects = reg
      ? counter(reg, { name: 'shipwatch_engine_reconnects_total', help: 'Connections to the container engine lost and re-established.' })
      : undefined;
  }

  /** Starts watching in the background; never throws (an absent engine is retried with backoff). */
  start(): void {
    this.loop ??= this.run();
  }

  /** Resolves after the first successful listing has been announced (or on close). */
  synchronised(): Promise<void> {
    return this.firstSync;
  }

  status(): EngineStatus {
    return this.connected ? { connected: true } : { connected: false, reason: this.reason };
  }

  /** The running containers announced so far. */
  containers(): ReadonlyMap<string, ContainerInfo> {
    return this.running;
  }

  async close(): Promise<void> {
    if (this.closed) return this.loop?.then(() => this.chain);
    this.closed = true;
    this.resolveFirstSync();
    this.stream?.destroy?.();
    this.pause.wake();
    await this.loop;
    await this.chain;
  }

  private async run(): Promise<void> {
    let delayMs = this.opts.reconnectInitialMs;
    let everConnected = false;
    let lastReported = '';
    while (!this.closed) {
      try {
        const ended = await this.connectOnce();
        if (everConnected) this.reconnects?.inc();
        everConnected = true;
        delayMs = this.opts.reconnectInitialMs;
        lastReported = '';
        await ended;
        if (this.closed) break;
        this.lostAtMs = Date.now();
        this.reason = `${this.opts.client.where}: events stream ended`;
        this.opts.log.warn('container engine connection lost; reconnecting', { engine: this.opts.client.where });
      } catch (err) {
        this.reason = err instanceof Error && 'code' in err && err.code === 'SW_ENGINE_UNAVAILABLE' ? (err as Error).message : `${this.opts.client.where}: ${engineFailure(err)}`;
        if (this.reason !== lastReported) {
          // Said once per distinct reason, not once per retry, and once per engine, not once per watcher. No engine is
          // an expected state (a laptop without Docker, a pilot started before its engine): a warning that says what
          // to do, and an info line once the engine answers.
          if (unreachableSaid.get(this.opts.client) !== this.reason) {
            this.opts.log.warn(`${this.reason}; no container logs or container metrics are collected until it answers (start the engine, mount its socket, or set DOCKER_HOST); retrying`, {
              code: 'SW_ENGINE_UNAVAILABLE', engine: this.opts.client.where, retryInMs: Math.round(delayMs),
            });
            unreachableSaid.set(this.opts.client, this.reason);
          }
          lastReported = this.reason;
        }
      }
      this.connected = false;
      this.stream?.destroy?.();
      this.stream = undefined;
      if (this.closed) break;
      await this.sleep(delayMs * (0.75 + Math.random() * 0.5));
      delayMs = Math.min(delayMs * 2, this.opts.reconnectMaxMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return this.pause.sleep(ms);
  }

  /** Opens the events stream, synchronises, and returns a promise that settles when the stream ends. */
  private async connectOnce(): Promise<Promise<void>> {
    const { client } = this.opts;
    await pingEngine(client);
    const stream = await answered(client.api.events({ type: ['container'], event: ['start', 'die', 'destroy'] }), 'the events stream');
    this.stream = stream;
    const pending: EngineEvent[] = [];
    let syncing = true;
    const ended = new Promise<void>((resolve) => {
      const lines = stream.pipe(split2());
      lines.on('data', (line: string) => {
        if (line.trim() === '') return;
        let event: EngineEvent;
        try {
          event = JSON.parse(line) as EngineEvent;
        } catch (err) {
          this.opts.log.warn('unreadable engine event', { line: line.slice(0, 200), reason: describe(err) });
          return;
        }
        if (syncing) pending.push(event);
        else this.handle(event);
      });
      const done = (): void => resolve();
      stream.on('end', done);
      stream.on('close', done);
      stream.on('error', done);
      lines.on('error', done);
    });
    try {
      await this.enqueue(() => this.synchronise());
    } catch (err) {
      throw swError('SW_ENGINE_UNAVAILABLE', `${client.where}: listing failed: ${engineFailure(err)}`, err);
    }
    syncing = false;
    for (const event of pending) this.handle(event);
    this.connected = true;
    // Said by the first watcher of this engine to reach it after it was said unreachable (in `all` the pilot's and
    // the collector's watch one engine).
    if (unreachableSaid.delete(client)) this.opts.log.info('container engine reachable', { engine: client.where });
    this.resolveFirstSync();
    return ended;
  }

  /** Runs `task` after every earlier one; the returned promise rejects only for synchronise's own errors. */
  private enqueue(task: () => Promise<void>): Promise<void> {
    const next = this.chain.then(task);
    this.chain = next.catch(() => {});
    return next;
  }

  /** An event whose handling fails (engine gone mid-inspect) is caught up by the resynchronisation that follows. */
  private handle(event: EngineEvent): void {
    this.enqueue(() => this.onEvent(event)).catch((err: unknown) => {
      this.failures?.inc();
      this.opts.log.warn('engine event not handled', { action: event.Action, reason: engineFailure(err) });
    });
  }

  private async synchronise(): Promise<void> {
    const list = await answered(this.opts.client.api.listContainers({ all: true }), 'the container list');
    const all = new Map<string, { running: boolean }>();
    for (const c of list) all.set(c.Id, { running: c.State === 'running' });
    // Created, run and stopped while we were away: announced and stopped at once, so what it wrote is read.
    const lostAtMs = this.lostAtMs;
    const missed = lostAtMs === undefined ? [] : list.filter((c) => c.State !== 'running' && c.State !== 'created' && !this.running.has(c.Id) && c.Created * 1000 >= lostAtMs - 1000);
    for (const [id, info] of this.running) {
      if (all.get(id)?.running === true) continue;
      await this.announceStop(info);
      if (!all.has(id)) await this.call('removed', () => this.opts.listener.removed?.(id));
    }
    for (const [id, c] of all) {
      if (!c.running || this.running.has(id)) continue;
      await this.inspectAndAnnounce(id);
    }
    for (const c of missed) {
      await this.inspectAndAnnounce(c.Id);
      const info = this.running.get(c.Id);
      if (info) await this.announceStop(info);
    }
    this.lostAtMs = undefined;
    await this.call('synced', () => this.opts.listener.synced?.(all));
  }

  private async onEvent(event: EngineEvent): Promise<void> {
    if (this.closed) return;
    const id = event.Actor?.ID ?? event.id;
    const action = event.Action ?? event.status;
    if (typeof id !== 'string' || event.Type !== undefined && event.Type !== 'container') return;
    if (action === 'start') {
      if (!this.running.has(id)) await this.inspectAndAnnounce(id);
    } else if (action === 'die') {
      const info = this.running.get(id);
      if (info) await this.announceStop(await this.refresh(info));
    } else if (action === 'destroy') {
      const info = this.running.get(id);
      if (info) await this.announceStop(info);
      await this.call('removed', () => this.opts.listener.removed?.(id));
    }
  }

  private async inspectAndAnnounce(id: string): Promise<void> {
    let info: ContainerInfo;
    try {
      info = containerInfoFromInspect(await answered(this.opts.client.api.inspectContainer(id), 'inspect'));
    } catch (err) {
      if (isNoSuchContainer(err)) return; // gone before we looked: nothing left to read
      throw err;
    }
    this.running.set(id, info);
    await this.call('started', () => this.opts.listener.started(info));
  }

  /** The latest inspect (state, exit code) when the engine still has the container, else what we knew. */
  private async refresh(info: ContainerInfo): Promise<ContainerInfo> {
    try {
      return containerInfoFromInspect(await answered(this.opts.client.api.inspectContainer(info.id), 'inspect'));
    } catch (err) {
      if (!isNoSuchContainer(err)) this.opts.log.debug('inspect after die failed', { container: info.name, reason: engineFailure(err) });
      return info;
    }
  }

  private async announceStop(info: ContainerInfo): Promise<void> {
    this.running.delete(info.id);
    await this.call('stopped', () => this.opts.listener.stopped(info));
  }

  private async call(what: string, fn: () => void | Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.failures?.inc();
      this.opts.log.error(`container listener "${what}" failed`, { reason: describe(err) });
    }
  }
}
