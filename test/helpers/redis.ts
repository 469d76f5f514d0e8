/**
 * Redis for the redis output's tests: the shared server test/services/redis.sh starts (SHIPWATCH_TEST_REDIS_URL),
 * reads of the lists written, and, for tests that must stop and start Redis, a redis-server of their own (the same
 * Debian package) on a port they choose, with an append-only file synced on every write in a fresh folder, so what
 * it took before a stop is still there after the restart, and the shared one is never stopped under other tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Cleanup } from './cleanup.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

/** The shared Redis, or undefined when the test runner did not start it (tests then skip). */
export function redisTestUrl(): string | undefined {
  return process.env.SHIPWATCH_TEST_REDIS_URL || undefined;
}

export const NO_REDIS = 'SHIPWATCH_TEST_REDIS_URL not set: run through the test runner (test/run.ts starts test/services/redis.sh)';

/** A client for reading what the output wrote; when the test ends it deletes `keys` (lists of this run) and closes. */
export function redisClient(t: Cleanup, url: string, keys: readonly string[] = []): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: false });
  client.on('error', () => undefined); // a test's own server stopped on purpose: its reads are retried by waitFor
  t.after(async () => {
    try {
      if (keys.length > 0) await client.del(...keys);
    } finally {
      client.disconnect();
    }
  });
  return client;
}

/** A redis-server of the test's own, stopped and started by the test. */
export class OwnRedis {
  private child: ChildProcess | undefined;
  private readonly dir: string;

  private constructor(readonly port: number, cleanup: Cleanup) {
    this.dir = mkdtempSync(join(tmpdir(), 'sw-redis-'));
    cleanup.after(async () => {
      await this.stop();
      rmSync(this.dir, { recursive: true, force: true });
    });
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(cleanup: Cleanup): Promise<OwnRedis> {
    const own = new OwnRedis(await freePort(), cleanup);
    await own.restart();
    return own;
  }

  /** Starts it (again, on the same port and data); resolves once it answers PING. */
  async restart(): Promise<void> {
    if (this.child !== undefined) throw new Error('redis-server already runs');
    const child = spawn('redis-server', [
      '--bind', '127.0.0.1', '--port', String(this.port), '--protected-mode', 'no', '--save', '',
      '--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dir,
    ], { stdio: 'ignore' });
    this.child = child;
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined); // refused until it listens: waitFor asks again
    try {
      await waitFor(async () => {
        if (probe.status !== 'ready') await probe.connect().catch(() => undefined);
        return (await probe.ping()) === 'PONG';
      }, { timeoutMs: 15_000, intervalMs: 100, what: `redis-server on port ${this.port}` });
    } finally {
      probe.disconnect();
    }
  }

  /** Stops it (SIGTERM: what it took is on disk); resolves once it has exited. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    this.child = undefined;
  }
}

/**
 * How a list of numbered lines (1..n, as read from Redis) falls short of each once, in order: `missing` numbers never
 * there, `gaps` (a number past the highest so far + 1: something skipped, then maybe filled later, out of order),
 * `replays` (a number at or below the highest so far: delivery started again from an earlier point) and
 * `duplicates` (elements beyond the first of their number).
 */
export function sequenceFaults(numbers: readonly number[], n: number): { missing: number; gaps: number; replays: number; duplicates: number } {
  const seen = new Uint32Array(n + 1);
  let high = 0;
  let prev = 0;
  let gaps = 0;
  let replays = 0;
  let duplicates = 0;
  for (const k of numbers) {
    if (k > high + 1) gaps++;
    else if (k <= high && k !== prev + 1) replays++;
    if (k >= 1 && k <= n) {
      if (seen[k]! > 0) duplicates++;
      seen[k]!++;
    }
    high = Math.max(high, k);
    prev = k;
  }
  let missing = 0;
  for (let k = 1; k <= n; k++) if (seen[k] === 0) missing++;
  return { missing, gaps, replays, duplicates };
}
