/**
 * Lines to records to every output, with acknowledgements (the README's "Outputs and delivery"): for each file a
 * consumer turns the reader's lines into records (stdout: the engine's json-file entries, re-joined when the engine cut
 * them; then the declaration's format through the record encoder), writes the batch to every output at once, and
 * acknowledges the batch to its reader only when every output has an outcome for every record.
 *
 * Back-pressure: the bytes of batches not yet acknowledged are bounded (PILOT_MAX_IN_FLIGHT); a reader whose batch
 * would pass the bound waits in `accept`, so tailing pauses while outputs are behind and nothing piles up in memory.
 */
import { describe } from '../platform/errors.js';
import type { Counter } from 'prom-client';
import type { Logger } from '../platform/log.js';
import type { LogEvent, LogSink } from '../model/log-record.js';
import { counter, gauge, type Registry } from '../platform/self-metrics.js';
import { decodeCriLine } from './cri-log.js';
import { decodeDockerJsonLine, DockerLogAssembler, type Stream } from './docker-json-log.js';
import type { FileConsumer, TailBatch, TailedFile } from './file-reader.js';
import { MultilineAggregator } from './multiline.js';
import type { FileRecordEncoder, RecordEncoder } from './record-encoder.js';

export interface LogPipelineOptions {
  sinks: readonly LogSink[];
  maxInFlightBytes: number;
  maxLineBytes: number;
  registry: Registry;
  log: Logger;
}

export type StdoutLog = 'json-file' | 'cri';

export function fileKeyOf(file: TailedFile): string {
  return `${file.identity.dev}:${file.identity.ino}:${file.generation}`;
}

/** How often pending multiline records are checked for their timeout. */
const MULTILINE_TICK_MS = 100;

export class LogPipeline {
  private readonly multilineConsumers = new Set<FileLineConsumer>();
  private multilineTimer: NodeJS.Timeout | undefined;
  private inFlightBytes = 0;
  private waiters: Array<() => void> = [];
  private readonly linesRead;
  private readonly recordsShipped;
  private readonly writeFailures;
  private readonly notJsonFile;
  private readonly notCri;

  constructor(private readonly opts: LogPipelineOptions) {
    const reg = opts.registry;
    this.linesRead = counter(reg, { name: 'shipwatch_pilot_lines_read_total', help: 'Lines read from container logs.', labelNames: ['kind'] as const });
    this.recordsShipped = counter(reg, { name: 'shipwatch_pilot_records_acknowledged_total', help: 'Records every output has acknowledged.' });
    this.writeFailures = counter(reg, { name: 'shipwatch_pilot_output_write_failures_total', help: 'Batches an output failed to take (not acknowledged; read again after a restart).', labelNames: ['output'] as const });
    this.notJsonFile = counter(reg, { name: 'shipwatch_pilot_stdout_undecodable_total', help: 'Standard output entries that were not json-file entries (shipped raw).' });
    this.notCri = counter(reg, { name: 'shipwatch_pilot_cri_undecodable_total', help: 'CRI log lines that were not CRI entries (shipped raw with a parse_error).' });
    const inFlight = gauge(reg, { name: 'shipwatch_pilot_in_flight_bytes', help: 'Bytes read and not yet acknowledged by every output.' });
    this.setInFlight = (n: number) => inFlight.set(n);
  }

  private readonly setInFlight: (n: number) => void;

  get pendingBytes(): number {
    return this.inFlightBytes;
  }

  /**
   * A consumer for one file of a declaration. `stdoutLog`: how the runtime writes standard output, the engine's
   * json-file entries or kubelet's CRI entries.
   */
  consumer(encoder: RecordEncoder, file: TailedFile, startOffset: number, stdoutLog: StdoutLog = 'json-file'): FileConsumer {
    return new FileLineConsumer(this, encoder, file, startOffset, encoder.declaration.source.kind === 'stdout', stdoutLog);
  }

  /** @internal A consumer holding multiline records is visited by the flush timer. */
  watchMultiline(consumer: FileLineConsumer): void {
    this.multilineConsumers.add(consumer);
    if (!this.multilineTimer) {
      this.multilineTimer = setInterval(() => {
        const now = Date.now();
        for (const c of this.multilineConsumers) c.flushDue(now);
      }, MULTILINE_TICK_MS);
      this.multilineTimer.unref();
    }
  }

  /** @internal */
  unwatchMultiline(consumer: FileLineConsumer): void {
    this.multilineConsumers.delete(consumer);
    if (this.multilineConsumers.size === 0 && this.multilineTimer) {
      clearInterval(this.multilineTimer);
      this.multilineTimer = undefined;
    }
  }

  /** Resolves when everything handed out is acknowledged, or after `timeoutMs`; says which. */
  async drained(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlightBytes > 0) {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }

  /** Whether a batch of `bytes` would be shipped at once (a source that cannot wait, UDP, drops instead). */
  hasRoomFor(bytes: number): boolean {
    return this.inFlightBytes === 0 || this.inFlightBytes + bytes <= this.opts.maxInFlightBytes;
  }

  /** Waits for room, then ships `events` and acknowledges them with `ack` once every output answered. */
  async ship(events: LogEvent[], bytes: number, lines: number, kind: 'stdout' | 'file' | 'syslog', ack: (() => void) | undefined): Promise<void> {
    this.linesRead.inc({ kind }, lines);
    while (this.inFlightBytes > 0 && this.inFlightBytes + bytes > this.opts.maxInFlightBytes) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (events.length === 0) {
      ack?.();
      return;
    }
    this.inFlightBytes += bytes;
    this.setInFlight(this.inFlightBytes);
    // The records are handed to each output and not referenced here afterwards: an output that has taken them
    // (the Elasticsearch output encodes them at once) lets them go while the batch waits for its outcome.
    const writes: Array<Promise<boolean>> = [];
    for (const sink of this.opts.sinks) writes.push(writeTo(sink, events, this.writeFailures, this.opts.log));
    void this.settle(writes, events.length, bytes, ack);
  }

  private async settle(writes: Array<Promise<boolean>>, count: number, bytes: number, ack: (() => void) | undefined): Promise<void> {
    const outcomes = await Promise.all(writes);
    if (outcomes.every(Boolean)) {
      ack?.();
      this.recordsShipped.inc(count);
    }
    this.inFlightBytes -= bytes;
    this.setInFlight(this.inFlightBytes);
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }

  /** @internal */
  countUndecodable(log: StdoutLog): void {
    (log === 'cri' ? this.notCri : this.notJsonFile).inc();
  }

  get maxLineBytes(): number {
    return this.opts.maxLineBytes;
  }
}

/** One output's outcome for a batch: true once it has one for every record, false (counted, logged) if it failed. */
function writeTo(sink: LogSink, events: LogEvent[], failures: Counter<'output'>, log: Logger): Promise<boolean> {
  return sink.write(events).then(() => true, (err: unknown) => {
    failures.inc({ output: sink.name });
    log.error('output did not take a batch; it will be read again after a restart', { output: sink.name, reason: describe(err) });
    return false;
  });
}

/**
 * One file's lines to records: stdout entries are decoded and re-joined first; with a multiline declaration, lines
 * are gathered into records (a pending record is flushed by the pipeline's timer after its timeout). A batch is
 * acknowledged up to where the last record it completed lets the file resume, never past a pending one.
 */
class FileLineConsumer implements FileConsumer {
  private encoder: FileRecordEncoder;
  private assembler: DockerLogAssembler | undefined;
  private multiline: MultilineAggregator | undefined;
  /** Start of the next line (the end of the previous one). */
  private lineStart: number;
  private issued: number;
  private out: LogEvent[] = [];
  private resumeAt = -1;
  private readTimeMs = 0;
  private issue: ((resumeAt: number) => () => void) | undefined;
  /** CRI: the stream whose current line the splitter cut (its later pieces are skipped; the line is marked truncated). */
  private readonly cut: Record<Stream, boolean> = { stdout: false, stderr: false };

  constructor(
    private readonly pipeline: LogPipeline, private readonly records: RecordEncoder, file: TailedFile, startOffset: number,
    private readonly stdout: boolean, private readonly stdoutLog: StdoutLog,
  ) {
    this.encoder = records.forFile(file.containerPath, fileKeyOf(file));
    this.lineStart = startOffset;
    this.issued = startOffset;
    this.reset();
  }

  private reset(): void {
    this.cut.stdout = this.cut.stderr = false;
    this.assembler = this.stdout ? new DockerLogAssembler(this.pipeline.maxLineBytes) : undefined;
    const spec = this.records.declaration.multiline;
    this.multiline = spec ? new MultilineAggregator(spec, (r) => this.record(r.text, r.endOffset, r.resumeOffset, r.truncated, r.stream, r.timeMs)) : undefined;
    if (this.multiline) this.pipeline.watchMultiline(this);
  }

  private record(text: string, end: number, resume: number, truncated: boolean, stream: Stream | null, timeMs: number, problem?: string): void {
    this.out.push(this.encoder.encode(text, end, truncated, stream, timeMs, this.readTimeMs, problem));
    this.resumeAt = resume;
  }

  private line(text: string, end: number, resume: number, truncated: boolean, stream: Stream | null, timeMs: number): void {
    if (this.multiline) this.multiline.push(text, end, resume, truncated, stream, timeMs);
    else this.record(text, end, resume, truncated, stream, timeMs);
  }

  accept(batch: TailBatch): Promise<void> {
    this.issue = batch.issue;
    this.readTimeMs = batch.readTimeMs;
    for (const l of batch.lines) {
      if (!this.assembler) this.line(l.text, l.end, l.end, l.truncated, null, NaN);
      else if (this.stdoutLog === 'cri') this.criLine(l.text, l.end, l.truncated);
      else {
        const entry = decodeDockerJsonLine(l.text);
        if (typeof entry === 'string') {
          // Not the engine's format (a hand-edited file?): shipped as it is rather than lost.
          this.pipeline.countUndecodable('json-file');
          this.line(l.text, l.end, l.end, l.truncated, 'stdout', NaN);
        } else {
          const done = this.assembler.push(entry, this.lineStart, l.end);
          if (done) this.line(done.text, done.endOffset, done.resumeOffset, done.truncated, done.stream, done.timeMs);
        }
      }
      this.lineStart = l.end;
    }
    if (batch.final) {
      for (const d of this.assembler?.end() ?? []) this.line(d.text, d.endOffset, d.endOffset, d.truncated, d.stream, d.timeMs);
      this.multiline?.flush();
      this.resumeAt = Math.max(this.resumeAt, this.lineStart);
      this.pipeline.unwatchMultiline(this);
    }
    return this.send(batch.bytes, batch.lines.length);
  }

  /**
   * One CRI entry: pieces joined by the assembler; a malformed line is shipped raw with the reason as parse_error,
   * after any multiline record pending before it (its position must not pass that record's lines).
   */
  private criLine(text: string, end: number, cutBySplitter: boolean): void {
    const entry = decodeCriLine(text);
    if (typeof entry === 'string') {
      this.pipeline.countUndecodable('cri');
      this.multiline?.flush();
      this.record(text, end, this.assembler!.resumeBefore(end), cutBySplitter, null, NaN, entry);
      return;
    }
    // A physical line past the splitter's limit lost its end: the line it belongs to is marked truncated.
    if (cutBySplitter) this.cut[entry.stream] = true;
    const done = this.assembler!.push(entry, this.lineStart, end);
    if (!done) return;
    const cut = this.cut[done.stream];
    this.cut[done.stream] = false;
    this.line(done.text, done.endOffset, done.resumeOffset, done.truncated || cut, done.stream, done.timeMs);
  }

  /** The pipeline's timer: a multiline record that waited long enough is shipped. */
  flushDue(nowMs: number): void {
    if (!this.multiline || this.multiline.nextDueMs() > nowMs) return;
    this.multiline.flushDue(nowMs);
    void this.send(0, 0);
  }

  private send(bytes: number, lines: number): Promise<void> {
    const events = this.out;
    this.out = [];
    let ack: (() => void) | undefined;
    if (this.resumeAt >= 0 && this.issue) {
      this.issued = Math.max(this.issued, this.resumeAt);
      ack = this.issue(this.issued);
      this.resumeAt = -1;
    }
    return this.pipeline.ship(events, bytes, lines, this.stdout ? 'stdout' : 'file', ack);
  }

  restarted(file: TailedFile): void {
    this.pipeline.unwatchMultiline(this);
    this.encoder = this.records.forFile(file.containerPath, fileKeyOf(file));
    this.out = [];
    this.resumeAt = -1;
    this.lineStart = 0;
    this.issued = 0;
    this.reset();
  }
}
