/**
 * What a long synchronous run does to everything else in the process: the longest time the event loop was held,
 * and, given a `/health` URL of a server of this process, the slowest of its answers to a client asking every 10 ms.
 *
 * "Held" counts what this process's main thread did, not what the machine did to it: each gap between two ticks of
 * a 2 ms timer is bounded by the CPU time the main thread spent in it (Linux's per-thread scheduler count; elsewhere
 * the whole process's CPU, worker and garbage collector threads included). On a loaded machine the loop also waits
 * for a core (a gap of 700 ms with 30 ms of CPU was seen with twenty runnable processes on two cores), and the
 * process's other threads (the store's checkpoint worker, V8's collector) run meanwhile; neither is the loop held.
 * The wall-clock longest delay is reported beside it.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface EventLoopReport {
  /** Longest the event loop was held, in ms: a gap between ticks, at most the main thread's CPU time in it. */
  maxDelayMs: number;
  /** Longest delay of the event loop by the wall clock, in ms (perf_hooks' histogram, 5 ms resolution). */
  maxWallDelayMs: number;
  /** Slowest /health answer, in ms (0 without a URL). */
  slowestHealthMs: number;
  /** /health answers that were 200, and those that were not (or failed). */
  healthAnswers: number;
  healthFailures: number;
}

const TICK_MS = 2;

/** This thread's CPU time in ms: /proc/thread-self/schedstat (ns on a CPU) where there is one, else the process's. */
function threadCpuMs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ', 1)[0]) / 1e6;
  } catch {
    const cpu = process.cpuUsage();
    return (cpu.user + cpu.system) / 1000;
  }
}

export function watchEventLoop(healthUrl?: string): { stop(): Promise<EventLoopReport> } {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  const report: EventLoopReport = { maxDelayMs: 0, maxWallDelayMs: 0, slowestHealthMs: 0, healthAnswers: 0, healthFailures: 0 };
  let lastMs = performance.now();
  let lastCpuMs = threadCpuMs();
  const tick = setInterval(() => {
    const nowMs = performance.now();
    const cpuMs = threadCpuMs();
    const held = Math.min(nowMs - lastMs - TICK_MS, cpuMs - lastCpuMs);
    if (held > report.maxDelayMs) report.maxDelayMs = held;
    lastMs = nowMs;
    lastCpuMs = cpuMs;
  }, TICK_MS);
  let stopped = false;
  const ask = async (): Promise<void> => {
    while (!stopped) {
      const startMs = performance.now();
      try {
        const res = await fetch(healthUrl!);
        await res.arrayBuffer();
        if (res.ok) report.healthAnswers++;
        else report.healthFailures++;
      } catch {
        report.healthFailures++;
      }
      report.slowestHealthMs = Math.max(report.slowestHealthMs, performance.now() - startMs);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const asking = healthUrl === undefined ? Promise.resolve() : ask();
  return {
    async stop() {
      stopped = true;
      await asking;
      clearInterval(tick);
      histogram.disable();
      report.maxWallDelayMs = histogram.max / 1e6;
      return report;
    },
  };
}
