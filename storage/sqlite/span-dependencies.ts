/**
 * Parent → child service calls of the span store, for the Jaeger dependencies view: a pure function of a
 * connection, so that it runs on a reader thread of the store (read-worker.ts) as well as beside the writer.
 *
 * Each child's parent is looked up among the spans of its trace (any time), read through the trace index like a
 * trace is. The children are read in time order a chunk at a time (a trace's spans are close in time, so mostly in
 * one chunk): memory stays bounded.
 *
 * As Jaeger 2.x's (v1.75.0) memory store counts them, a trace's calls count when the whole trace lies in the window:
 * its first span starts after the window's start, its last ends before the window's end (a trace with a span of no
 * start time, 0, counts none). A call within one service counts too; the parent of a span id two spans share (a
 * Zipkin client and server half) is the service of the first stored. Unlike Jaeger, a span stored twice is one call
 * (below).
 */
import { describe } from '../../platform/errors.js';
import { parentSpanId, type Span } from '../../model/span.js';
import type { DependencyLink } from '../span-storage.js';
import { decodeDataSpans } from './span-codec.js';
import { spanNameLookup, type Prepare } from './span-search.js';
import { BY_TRACE, TRACE_EPOCHS, TRACE_IDS_PER_READ } from './span-store.js';
import { RUN_EXTENT_US } from './span-write.js';

/** Child spans whose parents are looked up together. */
const DEPENDENCY_CHILDREN_PER_READ = 5_000;

/** The calls between services of the spans started in `[endTimeMs − lookbackMs, endTimeMs]`, sorted by parent, child. */
export function dependencyLinks(prepare: Prepare, endTimeMs: number, lookbackMs: number, damaged: (what: string, err: unknown) => void): DependencyLink[] {
  /** Calls by parent service id / child service id. */
  const calls = new Map<string, { parent: number; child: number; callCount: number }>();
  const fromUs = (endTimeMs - lookbackMs) * 1000;
  const toUs = endTimeMs * 1000;
  // A run row (span-schema.ts v7) has no parent column and its latest start: its spans are read from its data.
  const children = prepare(
    `SELECT trace_id, parent_id, service, n, CASE WHEN n > 1 THEN data END, span_id, start_us FROM spans
     WHERE start_us >= ? AND start_us <= ? AND (n > 1 OR (parent_id IS NOT NULL AND start_us <= ?)) ORDER BY start_us`,
  ).raw().iterate(fromUs, toUs + RUN_EXTENT_US, toUs) as IterableIterator<[Buffer, string | null, number, number, Buffer | null, string, number]>;
  // The same span stored twice (a request sent again, a batch holding it twice) is one call, as the query's
  // deduplication shows it once: a child is counted once per trace, span id, service, parent and start. Rows come in
  // start order, so only the keys of the current start are kept.
  // A key is made only when a second row has the same start (most rows start alone).
  let seenAt = -1;
  let first: [Buffer, string, string, number] | undefined;
  const seen = new Set<string>();
  const keyOf = (trace: Buffer, spanId: string, parent: string, service: number): string => `${trace.toString('hex')}/${spanId}/${parent}/${service}`;
  const once = (trace: Buffer, spanId: string, parent: string, service: number, startUs: number): boolean => {
    if (startUs !== seenAt) {
      seenAt = startUs;
      seen.clear();
      first = [trace, spanId, parent, service];
      return true;
    }
    if (first !== undefined) {
      seen.add(keyOf(...first));
      first = undefined;
    }
    const key = keyOf(trace, spanId, parent, service);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
  let chunk: Array<[Buffer, string, number]> = [];
  const add = (child: [Buffer, string, number]): void => {
    chunk.push(child);
    if (chunk.length === DEPENDENCY_CHILDREN_PER_READ) {
      countCalls(prepare, chunk, fromUs, toUs, calls, damaged);
      chunk = [];
    }
  };
  for (const [trace, parent, service, n, data, spanId, startUs] of children) {
    if (n === 1) {
      if (once(trace, spanId, parent!, service, startUs)) add([trace, parent!, service]);
      continue;
    }
    let spans: Span[];
    try {
      spans = decodeDataSpans(data!);
    } catch (err) {
      damaged(`spans of trace ${trace.toString('hex')}`, describe(err));
      continue;
    }
    // The spans of a run are not in the rows' start order: their keys are checked in a set of the run's own.
    const inRun = new Set<string>();
    for (const span of spans) {
      const parentId = span.startTimeMicros >= fromUs && span.startTimeMicros <= toUs ? parentSpanId(span) : undefined;
      if (parentId === undefined) continue;
      const key = `${span.spanId}/${parentId}/${span.startTimeMicros}`;
      if (inRun.has(key)) continue;
      inRun.add(key);
      add([trace, parentId, service]);
    }
  }
  countCalls(prepare, chunk, fromUs, toUs, calls, damaged);
  const name = spanNameLookup(prepare);
  return [...calls.values()]
    .map((c) => ({ parent: name(c.parent), child: name(c.child), callCount: c.callCount }))
    .sort((a, b) => (a.parent < b.parent ? -1 : a.parent > b.parent ? 1 : a.child < b.child ? -1 : a.child > b.child ? 1 : 0));
}

/** Adds the calls of these children (trace id, parent span id, service) of traces within (fromUs, toUs) to `calls`. */
function countCalls(
  prepare: Prepare,
  children: Array<[Buffer, string, number]>,
  fromUs: number,
  toUs: number,
  calls: Map<string, { parent: number; child: number; callCount: number }>,
  damaged: (what: string, err: unknown) => void,
): void {
  const traces = new Map<string, Buffer>();
  for (const [trace] of children) traces.set(trace.toString('hex'), trace);
  // trace hex + span id → the service of the span with that id first stored (a Zipkin span id may be shared by two
  // halves: Jaeger 2.x's memory store names the first it holds as the parent's service, as here).
  const servicesOf = new Map<string, number[]>();
  const serves = (key: string, service: number): void => {
    if (!servicesOf.has(key)) servicesOf.set(key, [service]);
  };
  // trace hex → its first start and last end (µs).
  const extents = new Map<string, [number, number]>();
  const spans = (hex: string, startUs: number, endUs: number): void => {
    const e = extents.get(hex);
    if (e === undefined) extents.set(hex, [startUs, endUs]);
    else {
      if (startUs < e[0]) e[0] = startUs;
      if (endUs > e[1]) e[1] = endUs;
    }
  };
  const ids = [...traces.values()];
  for (let i = 0; i < ids.length; i += TRACE_IDS_PER_READ) {
    const part = ids.slice(i, i + TRACE_IDS_PER_READ);
    const rows = prepare(`${TRACE_EPOCHS} SELECT t.trace_id, s.span_id, s.service, s.n, CASE WHEN s.n > 1 THEN s.data END, s.start_us, s.duration_us FROM ${BY_TRACE} WHERE t.trace_id IN (${part.map(() => '?').join(',')})`)
      .raw().all(...part) as Array<[Buffer, string, number, number, Buffer | null, number, number]>;
    for (const [trace, spanId, service, n, data, startUs, durationUs] of rows) {
      const hex = trace.toString('hex');
      if (n === 1) {
        serves(hex + spanId, service);
        spans(hex, startUs, startUs + durationUs);
        continue;
      }
      try {
        for (const span of decodeDataSpans(data!)) {
          serves(hex + span.spanId, service);
          spans(hex, span.startTimeMicros, span.startTimeMicros + span.durationMicros);
        }
      } catch (err) {
        damaged(`spans of trace ${hex}`, describe(err));
      }
    }
  }
  for (const [trace, parentId, child] of children) {
    const hex = trace.toString('hex');
    const extent = extents.get(hex);
    if (extent === undefined || extent[0] <= fromUs || extent[1] >= toUs) continue;
    for (const parent of servicesOf.get(hex + parentId) ?? []) {
      // A call within one service counts too, as in Jaeger 2.x's own (memory) store.
      const key = `${parent}/${child}`;
      const link = calls.get(key);
      if (link) link.callCount++;
      else calls.set(key, { parent, child, callCount: 1 });
    }
  }
}
