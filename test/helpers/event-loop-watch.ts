/**
 * What a long synchronous run does to everything else in the process: the longest delay of the event loop
 * (perf_hooks' histogram, 5 ms resolution) and, given a `/health` URL of a server of this process, the slowest of
 * its answers to a client asking every 10 ms.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface EventLoopReport {
  /** Longest the event loop was held, in ms. */
  maxDelayMs: number;
  /** Slowest /health answer, in ms (0 without a URL). */
  slowestHealthMs: number;
  /** /health answers that were 200, and those that were not (or failed). */
  healthAnswers: number;
  healthFailures: number;
}

export function watchEventLoop(healthUrl?: string): { stop(): Promise<EventLoopReport> } {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  const report: EventLoopReport = { maxDelayMs: 0, slowestHealthMs: 0, healthAnswers: 0, healthFailures: 0 };
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
      histogram.disable();
      report.maxDelayMs = histogram.max / 1e6;
      return report;
    },
  };
}
