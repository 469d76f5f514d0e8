/**
 * The pilot on a CRI node (containerd, CRI-O): containers are found in kubelet's pods folder instead of an engine's
 * events. `<namespace>_<pod>_<uid>/<container>/<restart>.log` is one run of one container (kubelet starts the next
 * run in `<restart+1>.log`); each run is collected like a Docker container, its standard output read as CRI
 * entries, keyed in the positions by its path (`<pod folder>/<container>/<restart>`), which stays the same across
 * pilot restarts and before kubelet's link names the runtime's container id.
 *
 * The folder is listed every PILOT_SCAN_INTERVAL (a hostPath mount gives no dependable change events).
 *
 * Lifecycle, as with Docker: a run seen while the pilot runs is read from its start (its rotated files written
 * since the pilot started too); one whose container restarted (a higher `<restart>.log` beside it) or whose
 * file or pod folder went away is read to its end, then forgotten. At start, a run that had ended before is read
 * only from a saved position (to its end), never again from its start.
 *
 * Declarations: the pod's `aliyun.logs.*` annotations and labels and the container's `aliyun_logs_*` env from the
 * pod list (kube-pods.ts); a container whose pod the list does not hold, or with no list, gets
 * PILOT_CRI_DEFAULT_LOG. Only `stdout` can be collected: a file inside the container is skipped with a warning.
 */
import { promises as fsp } from 'node:fs';
import { posix } from 'node:path';
import type { ContainerMeta } from '../model/container.js';
import { describe } from '../platform/errors.js';
import type { Logger } from '../platform/log.js';
import { counter, gauge, type Registry } from '../platform/self-metrics.js';
import type { UserPattern } from '../platform/user-pattern.js';
import { criFileLineLimit, parsePodDirName, restartOfLogName } from './cri-log.js';
import { criTargets } from './cri-targets.js';
import { SourceTail } from './file-tail.js';
import type { JsonLineLimits } from './formats/json.js';
import { fetchPodList, type KubePod, type PodListSource } from './kube-pods.js';
import { parseDeclarations } from './log-declarations.js';
import type { LogPipeline } from './log-pipeline.js';
import type { PositionStore } from './positions.js';
import { createRecordEncoder } from './record-encoder.js';

export interface CriSourcesOptions {
  pipeline: LogPipeline;
  positions: PositionStore;
  /** The pods folder and the links folder as the pilot sees them (under the host root). */
  podsDir: string;
  containersDir: string;
  /**
   * When the positions were last saved before this start (their file's time), undefined when none were. A rotated
   * file no saved position names and last written after it was written while the pilot was away (made and rotated
   * again in that time): read from its start. One written before it was read to its end, or was history.
   */
  positionsSavedMs?: number;
  /** Where a compressed rotation is uncompressed to be read on after a restart (under SHIPWATCH_DATA_DIR). */
  scratchDir: string;
  /** Undefined: no pod list (PILOT_KUBE_PODS_URL off, or auto outside a cluster). */
  podList?: PodListSource;
  podsRefreshMs: number;
  /** PILOT_CRI_DEFAULT_LOG ('' none). */
  defaultLog: string;
  prefixes: readonly string[];
  jsonLimits: JsonLineLimits;
  hostName: string;
  nodeName: string;
  tracePattern?: UserPattern;
  tail: { scanIntervalMs: number; pollIntervalMs: number; readChunkBytes: number; maxLineBytes: number; rotatedGraceMs: number };
  registry: Registry;
  log: Logger;
}

/** One container run found on disk. */
interface Run {
  key: string;
  podDir: string;
  namespace: string;
  pod: string;
  podUid: string;
  container: string;
  restart: number;
  hostPath: string;
  /** A later run of the same container exists: this one has ended. */
  ended: boolean;
}

interface Tracked {
  run: Run;
  tails: SourceTail[];
  /** The tails' first scan (a run is finished only after it). */
  started: Promise<void>;
  finished?: Promise<void>;
}

/** The quickest the pod list is read again for a pod it does not hold. */
const MIN_REFRESH_MS = 2000;

export class CriSources {
  private readonly tracked = new Map<string, Tracked>();
  /** Runs looked at and not collected (no declaration), or read to their end: not looked at again in this process. */
  private readonly settled = new Set<string>();
  /** When a run still waiting for its pod in the pod list was first seen. */
  private readonly waitingSinceMs = new Map<string, number>();
  private pods: Map<string, KubePod> | undefined;
  private podsReadMs = 0;
  private podsProblem: string | undefined;
  private refreshing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> = Promise.resolve();
  private firstScanDone = false;
  private stopping = false;
  private readonly startedMs = Date.now();
  private readonly declarationProblems;
  private readonly readFailures;
  private readonly linesOverLimit;
  private readonly podListFailures;

  constructor(private readonly opts: CriSourcesOptions) {
    const reg = opts.registry;
    this.declarationProblems = counter(reg, {
      name: 'shipwatch_pilot_declaration_problems_total', help: 'Log declarations skipped or settings ignored, by outcome.', labelNames: ['outcome'] as const,
    });
    this.readFailures = counter(reg, { name: 'shipwatch_pilot_read_failures_total', help: 'Log files that could not be read on (picked up again at a later scan).' });
    this.linesOverLimit = counter(reg, {
      name: 'shipwatch_pilot_json_lines_over_limit_total', help: 'json lines past PILOT_JSON_MAX_KEYS or PILOT_JSON_MAX_DEPTH, shipped whole in message.', labelNames: ['limit'] as const,
    });
    this.podListFailures = counter(reg, { name: 'shipwatch_pilot_pod_list_failures_total', help: 'Pod list reads that failed (CRI: declarations then fall back to PILOT_CRI_DEFAULT_LOG).' });
    const tracked = this.tracked;
    gauge(reg, { name: 'shipwatch_pilot_containers', help: 'Containers being collected.', collect() { this.set(tracked.size); } });
    gauge(reg, {
      name: 'shipwatch_pilot_files', help: 'Files being tailed.',
      collect() { this.set([...tracked.values()].reduce((n, t) => n + t.tails.reduce((m, s) => m + s.fileCount, 0), 0)); },
    });
  }

  get count(): number {
    return this.tracked.size;
  }

  /** Why the pods cannot be read now (for /health), undefined when they can. */
  status(): string | undefined {
    return this.podsProblem;
  }

  /** The first scan (positions of runs gone from disk forgotten), then one every PILOT_SCAN_INTERVAL. */
  async start(): Promise<void> {
    if (this.opts.podList) await this.refreshPods();
    await this.scan();
    this.timer = setInterval(() => void this.scan(), this.opts.tail.scanIntervalMs);
    this.timer.unref();
  }

  /** Shutdown: stop every tail now (positions stay at what was acknowledged). */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.scanning;
    await this.refreshing;
    clearInterval(this.refreshTimer);
    await Promise.all([...this.tracked.values()].map((t) => t.started));
    await Promise.all([...this.tracked.values()].flatMap((t) => t.tails.map((s) => s.stop())));
  }

  private scan(): Promise<void> {
    this.scanning = this.scanning.then(() => this.scanOnce()).catch((err: unknown) => {
      this.opts.log.error('scanning the pods folder failed', { dir: this.opts.podsDir, reason: describe(err) });
    });
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    if (this.stopping) return;
    const runs = await this.listRuns();
    const first = !this.firstScanDone;
    if (first) {
      // Positions of runs no longer on disk (pod deleted while the pilot was away) are forgotten.
      for (const id of this.opts.positions.containerIds()) if (!runs.has(id)) this.opts.positions.forgetContainer(id);
    }
    let ids: Map<string, string> | undefined;
    for (const run of runs.values()) {
      const t = this.tracked.get(run.key);
      if (t) {
        if (run.ended && !t.finished) this.finish(t, 'its container restarted');
        continue;
      }
      if (this.settled.has(run.key)) continue;
      const saved = this.opts.positions.containerIds().has(run.key);
      // An ended run is read only where a saved position says reading stopped, or when it ran while the pilot did.
      if (run.ended && !saved && (first || (await mtimeMs(run.hostPath)) < this.startedMs)) {
        this.settled.add(run.key);
        continue;
      }
      const pod = await this.podOf(run);
      if (pod === 'wait') continue;
      ids ??= await this.containerIds();
      this.collect(run, pod, ids.get(`${run.pod}_${run.namespace}_${run.container}|${run.restart}`) ?? ids.get(`${run.pod}_${run.namespace}_${run.container}`) ?? '', !first && !saved);
    }
    for (const t of this.tracked.values()) if (!runs.has(t.run.key) && !t.finished) this.finish(t, 'its log file is gone');
    this.firstScanDone = true;
  }

  /** Every `<restart>.log` under the pods folder, keyed by run. */
  private async listRuns(): Promise<Map<string, Run>> {
    const runs = new Map<string, Run>();
    const root = this.opts.podsDir;
    for (const podDir of await readdirOrEmpty(root)) {
      const pod = parsePodDirName(podDir);
      if (!pod) continue;
      for (const container of await readdirOrEmpty(posix.join(root, podDir))) {
        const dir = posix.join(root, podDir, container);
        const restarts = (await readdirOrEmpty(dir)).map(restartOfLogName).filter((n): n is number => n !== undefined);
        const latest = Math.max(...restarts);
        for (const restart of restarts) {
          const key = `${podDir}/${container}/${restart}`;
          runs.set(key, { key, podDir, ...pod, container, restart, hostPath: posix.join(dir, `${restart}.log`), ended: restart < latest });
        }
      }
    }
    return runs;
  }

  /** The run's pod from the pod list, null when it cannot be known, 'wait' while a fresher list may name it. */
  private async podOf(run: Run): Promise<KubePod | null | 'wait'> {
    if (!this.opts.podList) return null;
    const pod = this.pods?.get(run.podUid);
    if (pod) {
      this.waitingSinceMs.delete(run.key);
      return pod;
    }
    if (this.pods === undefined) return null; // the list cannot be read: the default applies
    const since = this.waitingSinceMs.get(run.key) ?? Date.now();
    this.waitingSinceMs.set(run.key, since);
    if (this.podsReadMs > since) {
      // A list read after the run appeared does not hold its pod (a static pod, a pod already deleted).
      this.waitingSinceMs.delete(run.key);
      return null;
    }
    if (Date.now() - this.podsReadMs >= MIN_REFRESH_MS) void this.refreshPods();
    return 'wait';
  }

  private refreshPods(): Promise<void> {
    const source = this.opts.podList;
    if (!source || this.stopping) return Promise.resolve();
    return (this.refreshing ??= (async () => {
      const startedMs = Date.now();
      try {
        this.pods = await fetchPodList(source);
        if (this.podsProblem !== undefined) this.opts.log.info('pod list readable again', { url: source.url, pods: this.pods.size });
        this.podsProblem = undefined;
      } catch (err) {
        this.podListFailures.inc();
        const reason = describe(err);
        if (reason !== this.podsProblem) this.opts.log.warn('pod list unavailable; containers get PILOT_CRI_DEFAULT_LOG', { url: source.url, reason });
        this.podsProblem = reason;
        this.pods = undefined;
      } finally {
        this.podsReadMs = startedMs;
        this.refreshing = undefined;
        if (!this.timerStarted && !this.stopping) this.startRefreshTimer();
      }
    })());
  }

  private timerStarted = false;
  private refreshTimer: NodeJS.Timeout | undefined;

  private startRefreshTimer(): void {
    this.timerStarted = true;
    this.refreshTimer = setInterval(() => {
      if (this.stopping) clearInterval(this.refreshTimer);
      else void this.refreshPods();
    }, this.opts.podsRefreshMs);
    this.refreshTimer.unref();
  }

  /** Kubelet's links `<pod>_<namespace>_<container>-<id>.log` → id, keyed by `<pod>_<ns>_<container>|<restart>` (the link's target) and by name. */
  private async containerIds(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const name of await readdirOrEmpty(this.opts.containersDir)) {
      const m = /^(.+)-([0-9a-f]{12,128})\.log$/.exec(name);
      if (!m) continue;
      const target = await fsp.readlink(posix.join(this.opts.containersDir, name)).catch(() => '');
      const restart = restartOfLogName(posix.basename(target));
      if (restart !== undefined) out.set(`${m[1]}|${restart}`, m[2]!);
      else out.set(m[1]!, m[2]!);
    }
    return out;
  }

  private collect(run: Run, pod: KubePod | null, containerId: string, isNew: boolean): void {
    const o = this.opts;
    const resumed = !this.firstScanDone && o.positions.containerIds().has(run.key);
    const name = `k8s_${run.container}_${run.pod}_${run.namespace}_${run.podUid}_${run.restart}`;
    const meta: ContainerMeta = {
      id: containerId, name, labels: pod?.labels ?? {}, env: pod?.containerEnv.get(run.container) ?? {},
      app: '', service: '', k8sPod: run.pod, k8sNamespace: run.namespace, k8sContainer: run.container,
      k8sPodUid: run.podUid, k8sRestart: String(run.restart), recordKey: run.key,
    };
    const parsed = parseDeclarations(meta, { prefixes: o.prefixes, jsonLimits: o.jsonLimits });
    let { declarations } = parsed;
    for (const w of parsed.warnings) this.warnDeclaration(w.skipped, w.container, w.label, w.reason);
    if (declarations.length === 0 && parsed.warnings.length === 0 && pod === null && o.defaultLog !== '') {
      const label = `${o.prefixes[0]}.logs.${o.defaultLog}`;
      declarations = parseDeclarations({ ...meta, labels: { [label]: 'stdout' }, env: {} }, { prefixes: o.prefixes, jsonLimits: o.jsonLimits }).declarations;
    }
    const files = declarations.filter((d) => d.source.kind !== 'stdout');
    for (const d of files) this.warnDeclaration(true, name, d.declaredBy, 'on a CRI node only stdout is collected (files inside containers are not reachable from the pods folder)');
    const stdout = declarations.filter((d) => d.source.kind === 'stdout');
    if (stdout.length === 0) {
      this.settled.add(run.key);
      return;
    }
    const tails = stdout.map((decl) => {
      const encoder = createRecordEncoder(meta, decl, {
        hostName: o.hostName, nodeName: o.nodeName, tracePattern: o.tracePattern, onLimit: (limit) => this.linesOverLimit.inc({ limit }),
      });
      const log = o.log.child({ container: name, log: decl.name });
      return new SourceTail({
        containerId: run.key, source: 'stdout', targets: criTargets(run.hostPath, o.scratchDir), positions: o.positions, log,
        consumer: (file, startOffset) => o.pipeline.consumer(encoder, file, startOffset, 'cri'),
        ...(isNew ? { readRotatedSinceMs: this.startedMs } : resumed && o.positionsSavedMs !== undefined ? { readRotatedSinceMs: o.positionsSavedMs } : {}),
        ...o.tail, maxLineBytes: criFileLineLimit(o.tail.maxLineBytes),
        onReadFailure: () => this.readFailures.inc(),
        onProblem: (p) => log.warn('log source unavailable', { container: name, label: decl.declaredBy, reason: p.reason }),
      });
    });
    // Declarations sharing stdout would each save positions under the same key: the first one is collected.
    const kept = tails.slice(0, 1);
    for (const d of stdout.slice(1)) this.warnDeclaration(true, name, d.declaredBy, `stdout is already collected by ${stdout[0]!.declaredBy}`);
    const started = Promise.all(kept.map((s) => s.start())).then(() => {
      o.log.info('collecting container', { container: name, id: containerId.slice(0, 12), logs: kept.length });
    });
    const t: Tracked = { run, tails: kept, started };
    this.tracked.set(run.key, t);
    if (run.ended) this.finish(t, 'its container restarted');
  }

  private finish(t: Tracked, why: string): void {
    t.finished = t.started.then(() => Promise.all(t.tails.map((s) => s.finish()))).then(() => {
      if (this.stopping) return;
      this.tracked.delete(t.run.key);
      this.settled.add(t.run.key);
      this.opts.positions.forgetContainer(t.run.key);
      this.opts.log.info('container read to the end', { container: t.run.key, why });
    });
  }

  private warnDeclaration(skipped: boolean, container: string, label: string, reason: string): void {
    this.declarationProblems.inc({ outcome: skipped ? 'skipped' : 'ignored' });
    this.opts.log.warn(skipped ? 'log declaration skipped' : 'log declaration setting ignored', { code: 'SW_DECLARATION_INVALID', container, label, reason });
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  return fsp.readdir(dir).catch(() => [] as string[]);
}

async function mtimeMs(path: string): Promise<number> {
  return fsp.stat(path).then((st) => st.mtimeMs, () => 0);
}
