/**
 * Tails one declared source of one container: every file currently at the declared path (its last element may be
 * a glob, so files that appear later are picked up at the next scan), each read by a FileReader keyed by its
 * identity (device, inode).
 *
 * Rotation by rename-and-create: the path now names a new identity, which is read from 0, while the old identity
 * (still open) is read until it stops growing, then let go. Copytruncate: the reader sees the size drop below its
 * position (or other bytes before it) and starts the file again from 0; the lines written after its last read and
 * before the truncation are then only in the copy, which is found beside the file (`readFromCopy`) and read from
 * there. After a restart, a saved position whose file is no longer at the path is looked for among the files beside
 * it (`app.log.1`, `-json.log.1`): a file rotated while the pilot was down is read to its end; one still at the path
 * that no longer holds the bytes saved before the position was truncated meanwhile, and its copy is looked for.
 * Where the targets name compressed rotations (kubelet's `.gz`), a position whose file was renamed and compressed
 * while the pilot was away is found in them by the same bytes, and read on from the uncompressed content.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { describe } from '../platform/errors.js';
import type { Logger } from '../platform/log.js';
import { FileReader, type FileConsumer, type FinishMode, type TailedFile, type TruncatedAt } from './file-reader.js';
import type { MappingFailure } from './path-mapper.js';
import type { FileIdentity, PositionEntry, PositionStore } from './positions.js';

export interface CandidateFile {
  hostPath: string;
  containerPath: string;
  open(): Promise<FileHandle | MappingFailure>;
}

export interface TailTargets {
  /** The files at the declared path now; problems are refusals or failures to report. */
  current(): Promise<{ files: CandidateFile[]; problems: MappingFailure[] }>;
  /** Files beside them a rotated file may have been renamed to. */
  rotated(): Promise<CandidateFile[]>;
  /**
   * Whether a rotated file that appeared while the pilot ran and was never read is read from its start: a file
   * that was current and rotated again between two scans (fast writers, small max-size). Only for names that are
   * certainly rotations of the source (the engine's `-json.log.N`).
   */
  readsMissedRotations?: boolean;
  /**
   * Compressed rotations beside the source (kubelet's `….gz`), each opened as its uncompressed content: where a
   * saved position whose file was compressed while the pilot was away is looked for, by the bytes read last.
   */
  compressed?(): Promise<CandidateFile[]>;
}

export interface SourceTailOptions {
  containerId: string;
  /** `stdout` or the declared path: the positions' source key. */
  source: string;
  targets: TailTargets;
  positions: PositionStore;
  /** The consumer of a file's lines; `startOffset` is where reading begins. */
  consumer(file: TailedFile, startOffset: number): FileConsumer;
  log: Logger;
  scanIntervalMs: number;
  pollIntervalMs: number;
  readChunkBytes: number;
  maxLineBytes: number;
  rotatedGraceMs: number;
  /**
   * For a container that started after the pilot: rotated files (see `readsMissedRotations`) last written at or
   * after this time were written while the pilot ran, before it first looked (a fast writer can rotate before
   * the first scan), so they are read from their start too.
   */
  readRotatedSinceMs?: number;
  /** A refusal or failure seen for the first time (counted and reported by the caller). */
  onProblem(problem: MappingFailure): void;
  /** A file could not be read on (counted by the caller). */
  onReadFailure?(err: unknown): void;
}

const idKey = (id: FileIdentity): string => `${id.dev}:${id.ino}`;

/** A saved position a reader starts from (`tail`: base64 of the bytes before the offset, when known). */
type SavedPosition = Pick<PositionEntry, 'offset' | 'generation' | 'containerPath' | 'tail'>;

export class SourceTail {
  private readonly readers = new Map<string, FileReader>();
  private readonly reported = new Set<string>();
  /** Rotated files known not to need reading: present at the first scan, or read to their end already. */
  private readonly settled = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> = Promise.resolve();
  private state: 'new' | 'running' | 'ending' = 'new';

  constructor(private readonly opts: SourceTailOptions) {}

  /** First scan (recovering rotated files with saved positions), then a scan every scanIntervalMs. */
  async start(): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'running';
    await this.scan(true);
    this.timer = setInterval(() => void this.scan(false), this.opts.scanIntervalMs);
    this.timer.unref();
  }

  get fileCount(): number {
    return this.readers.size;
  }

  /** The container stopped: one last scan, then every file is read to its end and acknowledged. */
  async finish(): Promise<void> {
    if (this.state === 'ending') return this.drained();
    clearInterval(this.timer);
    if (this.state === 'running') await this.scan(false);
    this.state = 'ending';
    await this.scanning;
    for (const r of this.readers.values()) r.finish('now');
    return this.drained();
  }

  /** Shutdown: stop reading now; positions stay where the acknowledgements brought them. */
  async stop(): Promise<void> {
    this.state = 'ending';
    clearInterval(this.timer);
    await this.scanning;
    await Promise.all([...this.readers.values()].map((r) => r.stop()));
  }

  private async drained(): Promise<void> {
    await Promise.all([...this.readers.values()].map((r) => r.done));
  }

  private scan(first: boolean): Promise<void> {
    this.scanning = this.scanning.then(() => this.scanOnce(first)).catch((err: unknown) => {
      this.opts.log.error('scanning log files failed', { source: this.opts.source, reason: describe(err) });
    });
    return this.scanning;
  }

  private async scanOnce(first: boolean): Promise<void> {
    if (this.state !== 'running') return;
    const { containerId, source, positions } = this.opts;
    const { files, problems } = await this.opts.targets.current();
    for (const p of problems) this.report(p);
    const seen = new Set<string>();
    for (const candidate of files) {
      const st = await fsp.stat(candidate.hostPath).catch(() => undefined);
      if (!st) continue; // gone between the listing and now: the next scan tells
      const key = idKey(st);
      seen.add(key);
      const reader = this.readers.get(key);
      if (reader) {
        reader.resume();
        continue;
      }
      const saved = positions.get(containerId, source, st);
      await this.startReader(candidate, saved);
    }
    for (const [key, reader] of this.readers) if (!seen.has(key) && !reader.isFinishing) reader.finish('when-idle');

    if (first) await this.recoverRotated(seen);
    if (this.opts.targets.readsMissedRotations) await this.missedRotations(first);
  }

  private async missedRotations(first: boolean): Promise<void> {
    for (const candidate of await this.opts.targets.rotated()) {
      const st = await fsp.stat(candidate.hostPath).catch(() => undefined);
      if (!st || this.readers.has(idKey(st)) || this.settled.has(idKey(st))) continue;
      const since = this.opts.readRotatedSinceMs;
      if (first && (since === undefined || st.mtimeMs < since)) {
        this.settled.add(idKey(st)); // history from before the pilot looked: not read, as for a new container
        continue;
      }
      const reader = await this.startReader(candidate, undefined);
      reader?.finish('when-idle');
    }
  }

  /** Saved positions whose file left the path while the pilot was away: find them beside it, or forget them. */
  private async recoverRotated(seen: Set<string>): Promise<void> {
    const { containerId, source, positions } = this.opts;
    const lost = positions.ofSource(containerId, source).filter((e) => !seen.has(idKey(e)));
    if (lost.length === 0) return;
    const byKey = new Map(lost.map((e) => [idKey(e), e]));
    for (const candidate of await this.opts.targets.rotated()) {
      const st = await fsp.stat(candidate.hostPath).catch(() => undefined);
      const saved = st && byKey.get(idKey(st));
      if (!st || !saved || this.readers.has(idKey(st))) continue;
      byKey.delete(idKey(st));
      const reader = await this.startReader(candidate, saved);
      reader?.finish('when-idle');
    }
    if (byKey.size > 0 && this.opts.targets.compressed) await this.recoverCompressed(byKey);
    for (const gone of byKey.values()) positions.delete(containerId, source, gone);
  }

  /** Saved positions whose file was compressed meanwhile: the uncompressed copy holding their last bytes is read on. */
  private async recoverCompressed(byKey: Map<string, PositionEntry>): Promise<void> {
    for (const candidate of await this.opts.targets.compressed!()) {
      const opened = await candidate.open();
      if ('ok' in opened) {
        this.report(opened);
        continue;
      }
      let match: PositionEntry | undefined;
      try {
        const size = (await opened.stat()).size;
        for (const [key, saved] of byKey) {
          if (saved.tail === undefined || saved.offset > size) continue;
          if (await holdsBytes(opened, saved.offset, Buffer.from(saved.tail, 'base64'))) {
            match = saved;
            byKey.delete(key);
            break;
          }
        }
      } finally {
        await opened.close();
      }
      if (!match) continue;
      this.opts.positions.delete(this.opts.containerId, this.opts.source, match);
      this.opts.log.info('a log file compressed while the pilot was away is read on from its copy', { path: candidate.hostPath, from: match.offset });
      const reader = await this.startReader(candidate, match);
      reader?.finish('when-idle');
    }
  }

  private async startReader(candidate: CandidateFile, saved: SavedPosition | undefined): Promise<FileReader | undefined> {
    const opened = await candidate.open();
    if ('ok' in opened) {
      this.report(opened);
      return undefined;
    }
    const st = await opened.stat();
    const key = idKey(st);
    if (this.readers.has(key)) {
      await opened.close();
      return undefined;
    }
    const identity = { dev: st.dev, ino: st.ino };
    // A saved offset past the end, or other bytes before it than were read there, means the identity now names other
    // content: truncated (and maybe written past the offset again) or a reused inode.
    const tail = saved?.tail !== undefined ? Buffer.from(saved.tail, 'base64') : undefined;
    const fits = saved !== undefined && saved.offset <= st.size && (tail === undefined || await holdsBytes(opened, saved.offset, tail));
    const file: TailedFile = {
      identity, hostPath: candidate.hostPath,
      generation: saved ? saved.generation + (fits ? 0 : 1) : 0,
      containerPath: saved?.containerPath ?? candidate.containerPath,
    };
    const start = fits ? saved.offset : 0;
    const { containerId, source, positions } = this.opts;
    const reader = new FileReader(opened, file, start, this.opts.consumer(file, start), {
      pollIntervalMs: this.opts.pollIntervalMs, readChunkBytes: this.opts.readChunkBytes, maxLineBytes: this.opts.maxLineBytes,
      rotatedGraceMs: this.opts.rotatedGraceMs, log: this.opts.log,
      onReadFailure: (_f, err) => this.opts.onReadFailure?.(err),
      onTruncated: (f, cut) => this.readFromCopy(f, cut),
      onCommit: (f, offset, bytes) => positions.set(containerId, source, f.identity, {
        offset, generation: f.generation, containerPath: f.containerPath, path: f.hostPath, tail: bytes?.toString('base64'),
      }),
    });
    positions.set(containerId, source, identity, { offset: start, generation: file.generation, containerPath: file.containerPath, path: file.hostPath, tail: fits ? saved.tail : undefined });
    this.readers.set(key, reader);
    this.opts.log.debug('tailing', { path: candidate.hostPath, from: start });
    void reader.done.then(() => {
      this.readers.delete(key);
      this.settled.add(key);
      // A file read to its end and let go is forgotten; one stopped at shutdown keeps its position.
      if (reader.isFinishing && this.state !== 'ending') positions.delete(containerId, source, identity);
    });
    // Truncated while the pilot was away: the copy beside it may hold what was not read yet.
    if (saved !== undefined && !fits && tail !== undefined) {
      this.readFromCopy(file, { generation: saved.generation, resumeAt: saved.offset, readTo: saved.offset, tail });
    }
    return reader;
  }

  /**
   * A truncated file's unread lines, from the copy a copytruncate made: the rotated neighbour that holds, just
   * before where the reader stopped, the very bytes it read last (the newest, if several do) is read from the last
   * whole line handed out to its end, as the content generation those lines belong to. No such neighbour (a plain
   * truncation, a compressed copy): nothing more to read. A neighbour already read, or being read (a glob that also
   * matches the copies), is not looked at.
   */
  private readFromCopy(file: TailedFile, cut: TruncatedAt): void {
    if (cut.tail.length === 0 || this.state !== 'running') return;
    const identity = { ...file.identity };
    this.scanning = this.scanning.then(async () => {
      if (this.state !== 'running') return;
      let copy: { candidate: CandidateFile; mtimeMs: number } | undefined;
      for (const candidate of await this.opts.targets.rotated()) {
        const st = await fsp.stat(candidate.hostPath).catch(() => undefined);
        if (!st || st.size < cut.readTo || st.size <= cut.resumeAt || (st.dev === identity.dev && st.ino === identity.ino)) continue;
        // Being read, or read to its end before (an earlier copy): not this truncation's copy.
        if (this.readers.has(idKey(st)) || this.settled.has(idKey(st)) || (copy !== undefined && st.mtimeMs <= copy.mtimeMs)) continue;
        if (await holdsAt(candidate, cut)) copy = { candidate, mtimeMs: st.mtimeMs };
      }
      if (copy === undefined) copy = await this.compressedCopy(cut);
      if (copy === undefined) return;
      this.opts.log.info('log file truncated; its unread lines are read from its copy', { path: file.hostPath, copy: copy.candidate.hostPath, from: cut.resumeAt });
      const reader = await this.startReader(copy.candidate, { offset: cut.resumeAt, generation: cut.generation, containerPath: file.containerPath });
      reader?.finish('when-idle');
    }).catch((err: unknown) => {
      this.opts.log.error('looking for a truncated log file\'s copy failed', { path: file.hostPath, reason: describe(err) });
    });
  }

  /**
   * The newest compressed rotation holding the bytes read last just before `cut.readTo`: kubelet renamed the file
   * and compressed it while the pilot was away, and the file now at the path reuses its inode (so it looked
   * truncated).
   */
  private async compressedCopy(cut: TruncatedAt): Promise<{ candidate: CandidateFile; mtimeMs: number } | undefined> {
    const candidates = (await this.opts.targets.compressed?.()) ?? [];
    for (const candidate of candidates.reverse()) {
      const opened = await candidate.open();
      if ('ok' in opened) continue;
      try {
        const { size } = await opened.stat();
        if (size >= cut.readTo && size > cut.resumeAt && await holdsBytes(opened, cut.readTo, cut.tail)) return { candidate, mtimeMs: 0 };
      } finally {
        await opened.close();
      }
    }
    return undefined;
  }

  private report(problem: MappingFailure): void {
    if (this.reported.has(problem.reason)) return;
    this.reported.add(problem.reason);
    this.opts.onProblem(problem);
  }
}

export type { FinishMode };

/** Whether the file holds `cut.tail` just before `cut.readTo`. */
async function holdsAt(candidate: CandidateFile, cut: TruncatedAt): Promise<boolean> {
  const opened = await candidate.open();
  if ('ok' in opened) return false;
  try {
    return await holdsBytes(opened, cut.readTo, cut.tail);
  } finally {
    await opened.close();
  }
}

/** Whether the file holds `bytes` just before `end`. */
async function holdsBytes(handle: FileHandle, end: number, bytes: Buffer): Promise<boolean> {
  if (end < bytes.length) return false;
  const probe = Buffer.alloc(bytes.length);
  const { bytesRead } = await handle.read(probe, 0, probe.length, end - probe.length);
  return bytesRead === probe.length && probe.equals(bytes);
}
