/**
 * Where the pilot stopped reading each file, kept under SHIPWATCH_DATA_DIR so a restart — clean or killed —
 * resumes there. A position is keyed by container id, declared source and file identity (device and inode), so a
 * rotated file keeps its position under its new name and a new file at the old name starts at 0.
 *
 * Only committed positions are stored (every record before them acknowledged by every output). The file is written
 * whole to a temporary name, synced, then renamed over the old one: a crash leaves the old or the new, never half.
 */
import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { open, rename, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describe, swError } from '../platform/errors.js';
import type { Logger } from '../platform/log.js';

export interface FileIdentity {
  dev: number;
  ino: number;
}

export interface PositionEntry {
  containerId: string;
  /** `stdout` or the declared path (pattern) inside the container. */
  source: string;
  dev: number;
  ino: number;
  /** Byte offset just after the last acknowledged line. */
  offset: number;
  /**
   * Bumped at each truncation (copytruncate): with the identity it names the file's content generation, so record
   * ids of the content written after a truncation differ from those before it.
   */
  generation: number;
  /** The file's path inside the container when reading began (names its records; `stdout` for stdout). */
  containerPath: string;
  /** Last host path the file was read at. */
  path: string;
  /**
   * Base64 of the bytes just before `offset` (up to 32), when known: a restart checks the file still holds them
   * there, and finds by them the copy a copytruncate made while the pilot was away.
   */
  tail?: string;
  updatedMs: number;
}

/** Where a file's reading stood, as `set` takes it. */
export interface FilePosition {
  offset: number;
  generation: number;
  containerPath: string;
  path: string;
  tail?: string;
}

const FORMAT_VERSION = 1;

export function positionKey(containerId: string, source: string, id: FileIdentity): string {
  return `${containerId}|${source}|${id.dev}:${id.ino}`;
}

export class PositionStore {
  private readonly entries = new Map<string, PositionEntry>();
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private closed: Promise<void> | undefined;

  private constructor(readonly file: string, private readonly log: Logger) {}

  /**
   * Loads the saved positions (none when the file is absent). A file that cannot be read as positions is set aside
   * as `<file>.corrupt` and reported: reading then starts over rather than refusing to run.
   */
  static open(file: string, log: Logger, flushIntervalMs = 1000): PositionStore {
    const store = new PositionStore(file, log);
    mkdirSync(dirname(file), { recursive: true });
    let text: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw swError('SW_CONFIG_INVALID', `positions file ${file}: ${describe(err)}`, err);
    }
    if (text !== undefined) {
      try {
        const parsed = JSON.parse(text) as { version?: number; positions?: PositionEntry[] };
        if (parsed.version !== FORMAT_VERSION || !Array.isArray(parsed.positions)) throw new Error(`unknown layout (version ${parsed.version})`);
        for (const e of parsed.positions) store.entries.set(positionKey(e.containerId, e.source, e), e);
      } catch (err) {
        renameSync(file, `${file}.corrupt`);
        log.error('positions file unreadable; set aside, reading starts over', { file, reason: describe(err) });
      }
    }
    store.timer = setInterval(() => void store.flush(), flushIntervalMs);
    store.timer.unref();
    return store;
  }

  get size(): number {
    return this.entries.size;
  }

  get(containerId: string, source: string, id: FileIdentity): PositionEntry | undefined {
    return this.entries.get(positionKey(containerId, source, id));
  }

  /** Every position of one container's source. */
  ofSource(containerId: string, source: string): PositionEntry[] {
    return [...this.entries.values()].filter((e) => e.containerId === containerId && e.source === source);
  }

  containerIds(): Set<string> {
    return new Set([...this.entries.values()].map((e) => e.containerId));
  }

  set(containerId: string, source: string, id: FileIdentity, at: FilePosition): void {
    const key = positionKey(containerId, source, id);
    const prev = this.entries.get(key);
    if (prev && prev.offset === at.offset && prev.generation === at.generation && prev.path === at.path && prev.tail === at.tail) return;
    this.entries.set(key, { containerId, source, dev: id.dev, ino: id.ino, ...at, updatedMs: Date.now() });
    this.dirty = true;
  }

  delete(containerId: string, source: string, id: FileIdentity): void {
    if (this.entries.delete(positionKey(containerId, source, id))) this.dirty = true;
  }

  /** Forgets a removed container. */
  forgetContainer(containerId: string): void {
    for (const [key, e] of this.entries) {
      if (e.containerId === containerId) {
        this.entries.delete(key);
        this.dirty = true;
      }
    }
  }

  /** Writes the positions if they changed (atomic: temporary file, fsync, rename). Never runs twice at once. */
  flush(): Promise<void> {
    this.writing = this.writing.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      const body = JSON.stringify({ version: FORMAT_VERSION, positions: [...this.entries.values()] });
      const tmp = `${this.file}.tmp`;
      try {
        await mkdir(dirname(this.file), { recursive: true });
        const fh = await open(tmp, 'w');
        try {
          await fh.writeFile(body);
          await fh.sync();
        } finally {
          await fh.close();
        }
        await rename(tmp, this.file);
      } catch (err) {
        this.dirty = true; // try again at the next tick
        this.log.error('saving positions failed', { file: this.file, reason: describe(err) });
      }
    });
    return this.writing;
  }

  /** Stops the periodic save and writes a last time. Idempotent. */
  close(): Promise<void> {
    clearInterval(this.timer);
    return (this.closed ??= this.flush());
  }
}
