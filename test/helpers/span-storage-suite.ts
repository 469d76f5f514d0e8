/**
 * Jaeger's span storage suite (`test/fixtures/jaeger-storage/`, from jaegertracing/jaeger
 * internal/storage/integration) for any `SpanWriter` + `SpanReader` pair: the embedded store and Elasticsearch run
 * the same checks.
 *
 * Every `traces/*.json` (OTLP JSON) is translated by the collector's OTLP translation and written; then each query
 * of `queries.json` and `queries_es.json` must return exactly the traces of its expected fixtures, each with all
 * its spans as written. As in Jaeger's suite, query tag values are compared as strings (123 → "123"), durations
 * are given in nanoseconds, and a span matches when all the query's tags are among its tags, log fields, process
 * tags, scope attributes and link attributes. Then: trace by id, services, operations, a search without a service
 * name, and the dependency links.
 *
 * Usage in a test file:
 *   runSpanStorageSuite({ name: 'store', open: async () => ({ writer, reader, close }) });
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { otlpJsonToSpans } from '../../collector/traces/codecs/otlp/otlp-translate.js';
import type { Span } from '../../model/span.js';
import type { SpanReader, SpanWriter, TraceQuery } from '../../storage/span-storage.js';

/** test/fixtures/jaeger-storage, with its origin in test/fixtures/README.md. */
export const JAEGER_STORAGE_FIXTURES = fileURLToPath(new URL('../fixtures/jaeger-storage/', import.meta.url));

export interface SuiteBackend {
  writer: SpanWriter;
  reader: SpanReader;
  /** Makes written spans visible (an Elasticsearch refresh); optional. */
  refresh?(): Promise<void>;
  close(): Promise<void>;
}

export interface SpanStorageSuiteOptions {
  name: string;
  /** A fresh, empty storage. */
  open(): Promise<SuiteBackend>;
  /**
   * Query captions the backend cannot answer, with the reason (Jaeger's `Capabilities.SkipList`). They still run,
   * reported as todo, so the day they pass is visible.
   */
  unsupported?: Record<string, string>;
}

interface QueryFixture {
  Caption: string;
  Query: {
    ServiceName: string;
    OperationName: string;
    Tags: Record<string, string | number | boolean> | null;
    StartTimeMin: string;
    StartTimeMax: string;
    DurationMin: number;
    DurationMax: number;
    NumTraces: number;
  };
  ExpectedFixtures: string[];
}

/** RFC 3339 with up to nanoseconds → microseconds since the epoch (Date.parse stops at milliseconds). */
export function rfc3339ToMicros(text: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!m) throw new Error(`not an RFC 3339 time: ${text}`);
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  const micros = Number((m[2] ?? '').padEnd(6, '0').slice(0, 6));
  return seconds * 1000 + micros;
}

export function loadTraceFixture(name: string): Span[] {
  const body = JSON.parse(readFileSync(`${JAEGER_STORAGE_FIXTURES}traces/${name}.json`, 'utf8')) as unknown;
  const result = otlpJsonToSpans(body);
  if (result.malformed !== undefined || result.rejected > 0) throw new Error(`fixture ${name}: ${result.malformed ?? result.errors.join('; ')}`);
  return result.spans;
}

export function loadQueryFixtures(): QueryFixture[] {
  const read = (f: string) => JSON.parse(readFileSync(`${JAEGER_STORAGE_FIXTURES}${f}`, 'utf8')) as QueryFixture[];
  return [...read('queries.json'), ...read('queries_es.json')];
}

export function toTraceQuery(q: QueryFixture['Query']): TraceQuery {
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(q.Tags ?? {})) tags[k] = String(v);
  return {
    serviceName: q.ServiceName || undefined,
    operationName: q.OperationName || undefined,
    tags,
    startTimeMinMicros: rfc3339ToMicros(q.StartTimeMin),
    startTimeMaxMicros: rfc3339ToMicros(q.StartTimeMax),
    durationMinMicros: q.DurationMin > 0 ? q.DurationMin / 1000 : undefined,
    durationMaxMicros: q.DurationMax > 0 ? q.DurationMax / 1000 : undefined,
    numTraces: q.NumTraces,
  };
}

/** A canonical form for comparing spans: spans sorted by id, bigint and bytes as text. */
function canonical(spans: Span[]): unknown {
  const sorted = [...spans].sort((a, b) => (a.spanId + a.startTimeMicros < b.spanId + b.startTimeMicros ? -1 : 1));
  return JSON.parse(JSON.stringify(sorted, (_k, v: unknown) => {
    if (typeof v === 'bigint') return `bigint:${v}`;
    if (v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString('hex')}`;
    return v;
  }));
}

export function runSpanStorageSuite(options: SpanStorageSuiteOptions): void {
  const unsupported = options.unsupported ?? {};
  describe(`Jaeger's span storage suite on ${options.name}`, () => {
    let backend: SuiteBackend;
    const written = new Map<string, Span[]>();

    before(async () => {
      backend = await options.open();
      const names = readdirSync(`${JAEGER_STORAGE_FIXTURES}traces`).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
      for (const name of names) {
        const spans = loadTraceFixture(name);
        written.set(name, spans);
        await backend.writer.writeSpans(spans);
      }
      await backend.refresh?.();
    });
    after(async () => backend?.close());

    for (const fixture of loadQueryFixtures()) {
      const reason = unsupported[fixture.Caption];
      test(`query "${fixture.Caption}" finds exactly ${fixture.ExpectedFixtures.join(', ')}`, reason ? { todo: reason } : {}, async () => {
        const found = await backend.reader.findTraces(toTraceQuery(fixture.Query));
        const expected = new Map<string, Span[]>();
        for (const name of fixture.ExpectedFixtures) {
          for (const span of written.get(name)!) expected.set(span.traceId, [...(expected.get(span.traceId) ?? []), span]);
        }
        assert.deepEqual(found.map((t) => t[0]?.traceId).sort(), [...expected.keys()].sort());
        for (const trace of found) assert.deepEqual(canonical(trace), canonical(expected.get(trace[0]!.traceId)!));
      });
    }

    test('every written trace reads back whole by its id', async () => {
      for (const [name, spans] of written) {
        for (const traceId of new Set(spans.map((s) => s.traceId))) {
          const got = await backend.reader.getTrace(traceId);
          assert.deepEqual(canonical(got), canonical(spans.filter((s) => s.traceId === traceId)), name);
        }
      }
    });

    test('an unknown trace id reads as no spans', async () => {
      assert.deepEqual(await backend.reader.getTrace('0000000000000000000000000000ffff'), []);
    });

    test('services list every written service once', async () => {
      const expected = new Set([...written.values()].flat().map((s) => s.process.serviceName));
      assert.deepEqual([...(await backend.reader.getServices())].sort(), [...expected].sort());
    });

    test('operations of a service carry their span kind and filter by it', async () => {
      const spans = written.get('example_trace')!;
      const service = spans[0]!.process.serviceName;
      const expected = new Map<string, string>();
      for (const s of spans.filter((x) => x.process.serviceName === service)) {
        const kind = s.tags.find((t) => t.key === 'span.kind')?.value;
        expected.set(`${s.operationName}|${typeof kind === 'string' ? kind : ''}`, s.operationName);
      }
      const ops = await backend.reader.getOperations({ serviceName: service });
      assert.deepEqual(ops.map((o) => `${o.name}|${o.spanKind}`).sort(), [...expected.keys()].sort());
      const server = await backend.reader.getOperations({ serviceName: service, spanKind: 'server' });
      assert.deepEqual(server.map((o) => `${o.name}|${o.spanKind}`).sort(), [...expected.keys()].filter((k) => k.endsWith('|server')).sort());
    });

    test('a search without a service name finds traces of every service that match', async () => {
      const q = toTraceQuery(loadQueryFixtures().find((f) => f.Caption === 'Tag wildcard regex')!.Query);
      delete q.serviceName;
      const found = await backend.reader.findTraces(q);
      const expected = [...written.entries()]
        .filter(([, spans]) => spans.some((s) => [...s.tags, ...s.process.tags, ...s.logs.flatMap((l) => l.fields)]
          .some((t) => t.key === 'sameplacetag1' && typeof t.value === 'string' && t.value.startsWith('same'))
          && s.startTimeMicros >= q.startTimeMinMicros! && s.startTimeMicros <= q.startTimeMaxMicros!))
        .map(([, spans]) => spans[0]!.traceId);
      assert.ok(expected.length > 2, 'the fixtures hold several services with that tag');
      assert.deepEqual(found.map((t) => t[0]!.traceId).sort(), [...new Set(expected)].sort());
    });

    test('NumTraces bounds a search, newest trace first', async () => {
      const q = toTraceQuery(loadQueryFixtures().find((f) => f.Caption === 'Multiple Traces')!.Query);
      const all = await backend.reader.findTraces(q);
      assert.equal(all.length, 3);
      const starts = all.map((t) => Math.max(...t.map((s) => s.startTimeMicros)));
      assert.deepEqual(starts, [...starts].sort((a, b) => b - a));
      const two = await backend.reader.findTraces({ ...q, numTraces: 2 });
      assert.deepEqual(two.map((t) => t[0]!.traceId), all.slice(0, 2).map((t) => t[0]!.traceId));
    });
  });
}
