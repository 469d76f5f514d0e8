/**
 * What the pilot does with each container the watcher announces: read its declarations (a bad one is skipped
 * with a warning and a count, the others kept), and run one SourceTail per declaration (stdout or files) into the
 * pipeline. A container that stops is read to the end before it is forgotten; one that is removed loses its saved
 * positions. A container that stopped while the pilot was away, with positions saved, is read to its end too.
 */
import type { ContainerInfo } from '../platform/engine/container-info.js';
import type { ContainerListener } from '../platform/engine/container-watcher.js';
import { containerInfoFromInspect } from '../platform/engine/container-info.js';
import { isNoSuchContainer, type EngineClient } from '../platform/engine/docker-client.js';
import { describe } from '../platform/errors.js';
import type { Logger } from '../platform/log.js';
import { counter, gauge, type Registry } from '../platform/self-metrics.js';
import { parseDeclarations } from './log-declarations.js';
import type { JsonLineLimits } from './formats/json.js';
import { declaredFileTargets } from './file-targets.js';
import { SourceTail } from './file-tail.js';
import type { LogPipeline } from './log-pipeline.js';
import type { PathMapper } from './path-mapper.js';
import type { PositionStore } from './positions.js';
import { createRecordEncoder } from './record-encoder.js';
import type { UserPattern } from '../platform/user-pattern.js';
import { stdoutTargets } from './stdout-tail.js';

export interface ContainerSourcesOptions {
  engine: EngineClient;
  pipeline: LogPipeline;
  positions: PositionStore;
  mapper: PathMapper;
  prefixes: readonly string[];
  /** PILOT_JSON_MAX_KEYS and PILOT_JSON_MAX_DEPTH. */
  jsonLimits: JsonLineLimits;
  hostName: string;
  nodeName: string;
  /** PILOT_TRACE_ID_PATTERN compiled; undefined: trace ids from fields only. */
  tracePattern?: UserPattern;
  tail: { scanIntervalMs: number; pollIntervalMs: number; readChunkBytes: number; maxLineBytes: number; rotatedGraceMs: number };
  registry: Registry;
  log: Logger;
}

interface Tracked {
  info: ContainerInfo;
  tails: SourceTail[];
  /** Settles when the container's files are read to their end (after it stopped). */
  finished?: Promise<void>;
}

export class ContainerSources implements ContainerListener {
  private readonly tracked = new Map<string, Tracked>();
  private readonly declarationProblems;
  private readonly pathsRefused;
  private readonly readFailures;
  private readonly linesOverLimit;
  private stopping = false;
  private readonly createdMs = Date.now();

  constructor(private readonly opts: ContainerSourcesOptions) {
    const reg = opts.registry;
    this.declarationProblems = counter(reg, {
      name: 'shipwatch_pilot_declaration_problems_total', help: 'Log declarations skipped or settings ignored, by outcome.', labelNames: ['outcome'] as const,
    });
    this.pathsRefused = counter(reg, { name: 'shipwatch_pilot_paths_refused_total', help: 'Declared paths refused for leaving their container (SW_PATH_REFUSED).' });
    this.readFailures = counter(reg, { name: 'shipwatch_pilot_read_failures_total', help: 'Log files that could not be read on (picked up again at a later scan).' });
    this.linesOverLimit = counter(reg, {
      name: 'shipwatch_pilot_json_lines_over_limit_total', help: 'json lines past PILOT_JSON_MAX_KEYS or PILOT_JSON_MAX_DEPTH, shipped whole in message.', labelNames: ['limit'] as const,
    });
    for (const limit of ['keys', 'depth']) this.linesOverLimit.inc({ limit }, 0);
    const tracked = this.tracked;
    gauge(reg, {
      name: 'shipwatch_pilot_containers', help: 'Containers being collected.',
      collect() {
        this.set(tracked.size);
      },
    });
    gauge(reg, {
      name: 'shipwatch_pilot_files', help: 'Files being tailed.',
      collect() {
        this.set([...tracked.values()].reduce((n, t) => n + t.tails.reduce((m, s) => m + s.fileCount, 0), 0));
      },
    });
  }

  /** Containers collected now. */
  get count(): number {
    return this.tracked.size;
  }

  async started(info: ContainerInfo): Promise<void> {
    if (this.stopping) return;
    const previous = this.tracked.get(info.id);
    if (previous?.finished) await previous.finished; // restarted while its last run was still being read out
    else if (previous) return;
    const tails = this.tailsOf(info);
    if (tails.length === 0) return;
    this.tracked.set(info.id, { info, tails });
    await Promise.all(tails.map((t) => t.start()));
    this.opts.log.info('collecting container', { container: info.name, id: info.id.slice(0, 12), logs: tails.length });
  }

  stopped(info: ContainerInfo): void {
    const t = this.tracked.get(info.id);
    if (!t || t.finished) return;
    // Not awaited: the watcher goes on with other containers while this one is read out.
    t.finished = Promise.all(t.tails.map((s) => s.finish())).then(() => {
      if (this.tracked.get(info.id) === t) this.tracked.delete(info.id);
      this.opts.log.info('container read to the end', { container: info.name, id: info.id.slice(0, 12) });
    });
  }

  async removed(id: string): Promise<void> {
    const t = this.tracked.get(id);
    if (t?.finished) await t.finished;
    else if (t) return; // running again under the same id: keep everything
    this.opts.positions.forgetContainer(id);
  }

  /** After a (re)synchronisation: forget positions of containers that are gone; read out those that stopped meanwhile. */
  async synced(all: ReadonlyMap<string, { running: boolean }>): Promise<void> {
    for (const id of this.opts.positions.containerIds()) {
      const c = all.get(id);
      if (!c) this.opts.positions.forgetContainer(id);
      else if (!c.running && !this.tracked.has(id)) await this.readOut(id);
    }
  }

  private async readOut(id: string): Promise<void> {
    let info: ContainerInfo;
    try {
      info = containerInfoFromInspect(await this.opts.engine.api.inspectContainer(id));
    } catch (err) {
      if (isNoSuchContainer(err)) this.opts.positions.forgetContainer(id);
      else this.opts.log.warn('could not inspect a stopped container to read its end', { id: id.slice(0, 12), reason: describe(err) });
      return;
    }
    await this.started(info);
    this.stopped(info);
  }

  /** Shutdown: stop every tail now (positions stay at what was acknowledged). */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.tracked.values()].flatMap((t) => t.tails.map((s) => s.stop())));
  }

  private tailsOf(info: ContainerInfo): SourceTail[] {
    const { declarations, warnings } = parseDeclarations(info, { prefixes: this.opts.prefixes, jsonLimits: this.opts.jsonLimits });
    for (const w of warnings) {
      this.declarationProblems.inc({ outcome: w.skipped ? 'skipped' : 'ignored' });
      this.opts.log.warn(w.skipped ? 'log declaration skipped' : 'log declaration setting ignored', {
        code: 'SW_DECLARATION_INVALID', container: w.container, label: w.label, reason: w.reason,
      });
    }
    const o = this.opts;
    const tails: SourceTail[] = [];
    const startedMs = Date.parse(info.state.startedAt);
    for (const decl of declarations) {
      const encoder = createRecordEncoder(info, decl, {
        hostName: o.hostName, nodeName: o.nodeName, tracePattern: o.tracePattern, onLimit: (limit) => this.linesOverLimit.inc({ limit }),
      });
      const source = decl.source.kind === 'stdout' ? 'stdout' : decl.source.path;
      const targets = decl.source.kind === 'stdout'
        ? stdoutTargets(info.logPath, o.mapper.hostRoot)
        : declaredFileTargets(o.mapper, () => this.tracked.get(info.id)?.info ?? info, decl.source);
      const log = o.log.child({ container: info.name, log: decl.name });
      tails.push(new SourceTail({
        containerId: info.id, source, targets, positions: o.positions, log,
        consumer: (file, startOffset) => o.pipeline.consumer(encoder, file, startOffset),
        ...(startedMs >= this.createdMs - 1000 ? { readRotatedSinceMs: startedMs } : {}),
        ...o.tail,
        onReadFailure: () => this.readFailures.inc(),
        onProblem: (p) => {
          if (p.refused) {
            this.pathsRefused.inc();
            log.warn('path refused', { code: 'SW_PATH_REFUSED', container: info.name, label: decl.declaredBy, reason: p.reason });
          } else log.warn('log source unavailable', { container: info.name, label: decl.declaredBy, reason: p.reason });
        },
      }));
    }
    return tails;
  }
}
