/**
 * The buckets of the log histogram (LogReader.histogram), the same for every storage: a round width (1 s, 5 s,
 * 1 min, 1 h, 1 day…) no narrower than the range split in the asked number of buckets, each bucket starting at a
 * multiple of its width since the epoch — what Elasticsearch's `date_histogram` with a `fixed_interval` does, so the
 * embedded store and Elasticsearch cut the same range into the same buckets. Pure.
 */
import type { LogHistogram } from './log-search.js';

/** The widths a bucket may take, narrowest first. */
const WIDTHS_MS = [
  1, 5, 10, 50, 100, 500,
  1000, 2000, 5000, 10_000, 15_000, 30_000,
  60_000, 2 * 60_000, 5 * 60_000, 10 * 60_000, 15 * 60_000, 30 * 60_000,
  3_600_000, 3 * 3_600_000, 6 * 3_600_000, 12 * 3_600_000,
  86_400_000, 7 * 86_400_000, 30 * 86_400_000, 365 * 86_400_000,
];

/** Most buckets a histogram is cut into (the API's `buckets` is lowered to it). */
export const MAX_HISTOGRAM_BUCKETS = 500;

export interface HistogramLayout {
  /** The first bucket's start (a multiple of intervalMs). */
  startMs: number;
  intervalMs: number;
  buckets: number;
}

/**
 * The layout of [startMs, endMs] (inclusive, ms) in about `buckets` buckets (at most `buckets + 1`: the range's
 * ends rarely fall on bucket edges). A range wider than the widest width allows gets wider buckets of whole years.
 */
export function histogramLayout(startMs: number, endMs: number, buckets: number): HistogramLayout {
  const wanted = Math.max(1, Math.min(MAX_HISTOGRAM_BUCKETS, Math.floor(buckets)));
  const span = Math.max(1, endMs - startMs + 1);
  const least = span / wanted;
  const year = WIDTHS_MS[WIDTHS_MS.length - 1]!;
  const intervalMs = WIDTHS_MS.find((w) => w >= least) ?? Math.ceil(least / year) * year;
  const first = Math.floor(startMs / intervalMs) * intervalMs;
  return { startMs: first, intervalMs, buckets: Math.floor(endMs / intervalMs) - first / intervalMs + 1 };
}

/** The dense histogram of `layout` from (bucket start, count) pairs; pairs outside the layout are dropped. */
export function denseHistogram(layout: HistogramLayout, pairs: Iterable<[startMs: number, count: number]>): LogHistogram {
  const counts = new Array<number>(layout.buckets).fill(0);
  for (const [start, n] of pairs) {
    const i = Math.floor((start - layout.startMs) / layout.intervalMs);
    if (i >= 0 && i < counts.length) counts[i]! += n;
  }
  return { startMs: layout.startMs, intervalMs: layout.intervalMs, counts };
}

/** No matching record and no range to lay out. */
export function emptyHistogram(): LogHistogram {
  return { startMs: 0, intervalMs: 0, counts: [] };
}

/**
 * The range a histogram covers: the query's bounds, else the oldest / newest matching record (and "now" as the end
 * of an open range that has a start, so a lookback reaches the present). Undefined when nothing bounds it.
 */
export function histogramRange(
  q: { startMs?: number; endMs?: number },
  oldestMs: number | undefined,
  newestMs: number | undefined,
  nowMs: number,
): { startMs: number; endMs: number } | undefined {
  const startMs = q.startMs ?? oldestMs;
  if (startMs === undefined) return undefined;
  const endMs = q.endMs ?? Math.max(newestMs ?? startMs, q.startMs !== undefined ? nowMs : startMs);
  return endMs < startMs ? undefined : { startMs, endMs };
}
