/**
 * The parity suite: Shipwatch's collector and query, in process on the given span storage, get the inputs Jaeger
 * got when the goldens were recorded (record.ts), over the same protocols, and are asked the same questions; each
 * answer, normalised as parity.ts describes, must equal Jaeger's. Two lists name the exceptions, each by question
 * id:
 * - DELIBERATE_DIFFERENCES: where Shipwatch answers better than Jaeger on purpose; its own answer is asserted.
 * - KNOWN_DIFFERENCES: where Jaeger is right and Shipwatch does not answer the same yet; asserted still different,
 *   so an entry must leave the list the moment its fix lands.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { start as startCollector } from '../../collector/collector-program.js';
import { loadConfig } from '../../platform/config/load-config.js';
import { silentLogger } from '../../platform/log.js';
import { SharedResources } from '../../platform/runtime.js';
import { start as startQuery } from '../../query/query-program.js';
import { PROTOCOLS, sendAll, traceIdFor, traceIds, type Sent } from './inputs.js';
import { ask, normalise, readGolden, readManifest, type Answer, type Question } from './parity.js';

interface Deliberate {
  reason: string;
  /** Shipwatch's better answer, normalised (Jaeger's, normalised, beside it). */
  check(answer: Answer, jaeger: Answer): void;
}

const v1Traces = (a: Answer): any[] => (a.body as any).data;
const v3Spans = (a: Answer): any[] => (a.body as any).result.resourceSpans.flatMap((r: any) => r.scopeSpans.flatMap((s: any) => s.spans));

/**
 * Valid input Jaeger 2.x refuses with a 400 and Shipwatch takes: the Zipkin v2 proto request with a 64-bit trace
 * id (zipkin.proto allows 8 or 16 bytes; Jaeger's Zipkin receiver wants 16) and the Zipkin v1 JSON request whose
 * address annotations ca/sa have boolean values (as Zipkin writes them; Jaeger's receiver wants strings). Their
 * traces, and the service only they name, are taken out of Shipwatch's answers before comparing; asked by id,
 * Shipwatch returns them.
 */
const REFUSED_BY_JAEGER = {
  requests: ['intake.zipkin-v2-proto.request-1', 'intake.zipkin-v1-json.request-1'],
  traceIds: [traceIdFor('zipkin-v2-proto', '000000000f0f0002').padStart(32, '0'), traceIdFor('zipkin-v1-json', '3b3b3b3b3b3b3b3b000000000b000002')],
  services: ['scheduler-zipkin-v2-proto'],
};

const refusedTrace = (id: string): boolean => REFUSED_BY_JAEGER.traceIds.includes(id.padStart(32, '0'));

/** Shipwatch's answer without what Jaeger refused to take. */
export function withoutRefused(q: Question, a: Answer): Answer {
  const body: any = a.body;
  if (body === null || typeof body !== 'object') return a;
  // (A trace answer's total is left free by normalise().)
  if (Array.isArray(body.data) && q.path.startsWith('/api/traces')) return { ...a, body: { ...body, data: body.data.filter((t: any) => !refusedTrace(t.traceID)) } };
  if (Array.isArray(body.data) && q.path === '/api/services') {
    const data = body.data.filter((s: string) => !REFUSED_BY_JAEGER.services.includes(s));
    return { ...a, body: { ...body, data, total: data.length } };
  }
  if (Array.isArray(body.services)) return { ...a, body: { ...body, services: body.services.filter((s: string) => !REFUSED_BY_JAEGER.services.includes(s)) } };
  if (body.result?.resourceSpans && q.path.startsWith('/api/v3/traces')) {
    const resourceSpans = body.result.resourceSpans
      .map((r: any) => ({ ...r, scopeSpans: r.scopeSpans.map((s: any) => ({ ...s, spans: s.spans.filter((x: any) => !refusedTrace(x.traceId)) })).filter((s: any) => s.spans.length > 0) }))
      .filter((r: any) => r.scopeSpans.length > 0);
    return { ...a, body: { ...body, result: { ...body.result, resourceSpans } } };
  }
  return a;
}

/**
 * The calls of the spans the inputs store twice (two identical spans in one Thrift batch, the same OTLP request sent
 * twice), parent → child, per protocol: Jaeger counts each twice, Shipwatch once.
 */
const DUPLICATED_CALLS = [
  ...(['thrift-http', 'thrift-udp'] as const).map((p) => [`batch-${p}`, `batch-${p}`]),
  ...(['otlp-json', 'otlp-proto'] as const).flatMap((p) => [[`repeater-${p}`, `repeater-${p}`], [`repeater-${p}`, `downstream-${p}`]]),
];

/** Where Shipwatch answers better than Jaeger, on purpose (the README lists them). */
export const DELIBERATE_DIFFERENCES: Record<string, Deliberate> = {
  ...Object.fromEntries(['v1.dependencies', 'v1.dependencies.default-lookback'].map((id) => [id, {
    reason: 'Jaeger counts a span stored twice (sent again, or twice in one batch) as two calls; Shipwatch counts the call once, as its trace answers show the span once',
    check(a: Answer, jaeger: Answer) {
      assert.equal(a.status, 200);
      const once = (l: any): any => (DUPLICATED_CALLS.some(([p, c]) => l.parent === p && l.child === c) ? { ...l, callCount: l.callCount - 1 } : l);
      assert.ok((jaeger.body as any).data.filter((l: any) => once(l) !== l).length === DUPLICATED_CALLS.length, 'Jaeger answers every duplicated call');
      assert.deepEqual(a.body, { ...(jaeger.body as any), data: (jaeger.body as any).data.map(once) });
    },
  }])),
  'v1.search.without-service': {
    reason: 'Jaeger requires a service to search (400 "parameter \'service\' is required"); Shipwatch searches every service',
    check(a) {
      assert.equal(a.status, 200);
      assert.ok(v1Traces(a).length > 0);
    },
  },
  'v3.search.without-num-traces': {
    reason: 'Jaeger\'s v3 search without query.num_traces fails (500 "search depth must be greater than 0"); Shipwatch takes a default depth',
    check(a) {
      assert.equal(a.status, 200);
      assert.ok(v3Spans(a).length > 0);
    },
  },
  'v1.search.limit-0': {
    reason: 'Jaeger answers limit=0 with a 500 ("search depth must be greater than 0"); Shipwatch takes its default limit',
    check(a) {
      assert.equal(a.status, 200);
      assert.deepEqual((a.body as any).data, { traces: 1 });
    },
  },
  ...Object.fromEntries([
    ['thrift-http.tag-kv-error', 'error:true'], ['thrift-udp.tag-kv-error', 'error:true'], ['otlp-json.tag-status', 'error:true'], ['otlp-proto.tag-status', 'error:true'],
    ['thrift-http.tag-log-field', 'a log field'], ['thrift-udp.tag-log-field', 'a log field'],
    ['otlp-json.tag-otel-status', 'otel.status_code'], ['otlp-proto.tag-otel-status', 'otel.status_code'],
    ['otlp-json.tag-scope', 'otel.scope.name'], ['otlp-proto.tag-scope', 'otel.scope.name'],
  ].map(([id, what]) => [`v1.search.${id}`, {
    reason: `Jaeger's memory store does not find a span by ${what} (it reads error:true as a boolean of the text and finds only OK spans; an event's name, the span status and the scope name are not attributes to it); Shipwatch finds it by the tag the UI shows`,
    check(a: Answer) {
      assert.equal(a.status, 200);
      assert.equal(v1Traces(a).length, 1);
    },
  }])),
  ...Object.fromEntries(REFUSED_BY_JAEGER.requests.map((id) => [id, {
    reason: 'valid input Jaeger refuses (400); Shipwatch takes it',
    check(a: Answer) {
      assert.equal(a.status, 202);
    },
  }])),
  ...Object.fromEntries(REFUSED_BY_JAEGER.traceIds.flatMap((id) => {
    const protocol = PROTOCOLS.find((p) => traceIdFor(p, '0'.repeat(32)).slice(16, 18) === id.slice(16, 18))!;
    const v1 = { reason: 'a trace Jaeger refused to take (404 there)', check: (a: Answer) => { assert.equal(a.status, 200); assert.ok(v1Traces(a)[0].spans.length > 0); } };
    const v3 = { reason: 'a trace Jaeger refused to take (404 there)', check: (a: Answer) => { assert.equal(a.status, 200); assert.ok(v3Spans(a).length > 0); } };
    return [[`v1.trace.${protocol}.${id}`, v1], [`v1.trace-raw.${protocol}.${id}`, v1], [`v3.trace.${protocol}.${id}`, v3], [`v3.trace-raw.${protocol}.${id}`, v3]];
  })),
};

/** Jaeger is right, Shipwatch differs: question id → what differs. Shrinks as fixes land. */
export const KNOWN_DIFFERENCES: Record<string, string> = {
};

const manifest = readManifest();
const recordedBaseUs = BigInt(manifest.baseUs);
// A minute ago, on a whole second, as when recording.
const baseUs = BigInt(Math.floor(Date.now() / 1000) - 60) * 1_000_000n;

export interface Storage {
  /** SPAN_STORAGE_TYPE and its settings (none: the embedded store). */
  env?: () => Promise<Record<string, string>>;
  /** How long to let the last writes settle once every trace is found (a refresh interval, say). */
  settleMs?: number;
  cleanup?: () => Promise<void>;
  /** Known differences of this storage only, on top of KNOWN_DIFFERENCES (and before DELIBERATE_DIFFERENCES). */
  knownDifferences?: Record<string, string>;
  /** Questions a DELIBERATE_DIFFERENCES entry does not hold for on this storage: it answers as Jaeger does (why). */
  sameAsJaeger?: Record<string, string>;
  /** Where this storage answers otherwise than Jaeger on purpose: the reason, and a check of its answer against Jaeger's. */
  deliberateDifferences?: Record<string, { reason: string; check(got: Answer, jaeger: Answer): void }>;
}

/** The suite, on the span storage `storage` configures. */
export function parity(name: string, storage: Storage = {}): void {
  let api = '';
  let intake: Sent[] = [];
  let close = async (): Promise<void> => {};

  before(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'shipwatch-jaeger-parity-'));
    const config = loadConfig({
      ...(await storage.env?.()),
      SHIPWATCH_DATA_DIR: dataDir, COLLECTOR_CONTAINER_STATS: 'false', SHIPWATCH_SHUTDOWN_TIMEOUT: '3s', COLLECTOR_SPAN_FLUSH_INTERVAL: '20ms',
      COLLECTOR_ADMIN_LISTEN: '127.0.0.1:0', COLLECTOR_OTLP_HTTP_LISTEN: '127.0.0.1:0', COLLECTOR_ZIPKIN_LISTEN: '127.0.0.1:0',
      COLLECTOR_JAEGER_HTTP_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_COMPACT_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_BINARY_LISTEN: '127.0.0.1:0',
      QUERY_LISTEN: '127.0.0.1:0', QUERY_ADMIN_LISTEN: '127.0.0.1:0',
      COLLECTOR_OTLP_GRPC_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_GRPC_LISTEN: '127.0.0.1:0', COLLECTOR_SAMPLING_LISTEN: '127.0.0.1:0',
    }, 'all');
    const shared = new SharedResources();
    const collector = await startCollector({ config, log: silentLogger, shared });
    const query = await startQuery({ config, log: silentLogger, shared });
    close = async () => {
      await query.close();
      await collector.close();
      await shared.closeAll();
      rmSync(dataDir, { recursive: true, force: true });
      await storage.cleanup?.();
    };
    const summary = collector.summary.join('\n');
    const port = (re: RegExp): number => Number(re.exec(summary)![1]);
    api = `http://127.0.0.1:${Number(/:(\d+)/.exec(query.summary[0]!.split(' on ')[1]!)![1])}`;
    intake = await sendAll({
      otlpHttp: `http://127.0.0.1:${port(/OTLP\/HTTP .* on 127\.0\.0\.1:(\d+)/)}`,
      zipkin: `http://127.0.0.1:${port(/Zipkin .* on 127\.0\.0\.1:(\d+)/)}`,
      jaegerHttp: `http://127.0.0.1:${port(/Jaeger HTTP .* on 127\.0\.0\.1:(\d+)/)}`,
      jaegerCompactUdp: port(/Jaeger Thrift compact .* on 127\.0\.0\.1:(\d+)\/udp/),
    }, baseUs);
    // Every trace Jaeger stored, stored here too (or given up on after a while: the comparison then says which).
    const deadline = Date.now() + 15_000;
    for (const { traceId } of traceIds()) {
      while (Date.now() < deadline && (await fetch(`${api}/api/traces/${traceId}?raw=true`)).status !== 200) await sleep(100);
    }
    await sleep(storage.settleMs ?? 500);
  });

  after(() => close());

  const intakeId = (s: { protocol: string; what: string }): string => `intake.${s.protocol}.${s.what.replace(/ /g, '-')}`;

/** The golden's answer with its times moved to this run's base, normalised. */
  function expected(q: Question): Answer {
    const g = readGolden(q.id);
    return normalise(q, { status: g.status, body: g.body }, recordedBaseUs);
  }

  function compare(id: string, got: Answer, want: Answer, path = ''): void {
    const ownDeliberate = storage.deliberateDifferences?.[id];
    if (ownDeliberate) {
      assert.notDeepEqual(got, want, `${id} answers as Jaeger does now; take it out of the storage's deliberate differences (${ownDeliberate.reason})`);
      ownDeliberate.check(got, want);
      return;
    }
    const own = storage.knownDifferences?.[id];
    if (own) {
      assert.notDeepEqual(got, want, `${id} answers as Jaeger does now (fixed: ${own}); take it out of the storage's known differences`);
      return;
    }
    if (storage.sameAsJaeger?.[id]) {
      assert.deepEqual(got, want, `${id}${path ? `: ${path}` : ''} (${storage.sameAsJaeger[id]})`);
      return;
    }
    const deliberate = DELIBERATE_DIFFERENCES[id];
    if (deliberate) {
      assert.notDeepEqual(got, want, `${id}: answers as Jaeger does now; take it out of DELIBERATE_DIFFERENCES`);
      deliberate.check(got, want);
      return;
    }
    const known = KNOWN_DIFFERENCES[id];
    if (known) {
      assert.notDeepEqual(got, want, `${id} answers as Jaeger does now (fixed: ${known}); take it out of KNOWN_DIFFERENCES`);
      return;
    }
    assert.deepEqual(got, want, `${id}${path ? `: ${path}` : ''}`);
  }

  describe(`Shipwatch answers what Jaeger 2.x answers (${name})`, () => {
    test('the goldens name the Jaeger they were recorded from', () => {
      assert.match(manifest.jaeger.version, /^v1\.\d+\.\d+$/);
      assert.equal(manifest.questions.length > 0, true);
    });

    test('the same requests were sent as when recording', () => {
      assert.deepEqual(intake.map((s) => `${s.protocol} ${s.what}`), manifest.intake.map((s) => `${s.protocol} ${s.what}`));
    });

    for (const [i, sent] of manifest.intake.entries()) {
      const id = intakeId(sent);
      test(id, () => compare(id, { status: intake[i]?.status ?? -1, body: null }, { status: sent.status, body: null }));
    }

    test('every listed difference names a question that exists', () => {
      const ids = new Set([...manifest.questions.map((q) => q.id), ...manifest.intake.map(intakeId)]);
      for (const id of [...Object.keys(KNOWN_DIFFERENCES), ...Object.keys(storage.knownDifferences ?? {}), ...Object.keys(storage.deliberateDifferences ?? {}), ...Object.keys(DELIBERATE_DIFFERENCES)]) assert.ok(ids.has(id), `no question ${id}`);
    });

    for (const q of manifest.questions) {
      test(q.id, async () => {
        const got = normalise(q, await ask(api, q, baseUs), baseUs);
        compare(q.id, DELIBERATE_DIFFERENCES[q.id] ? got : withoutRefused(q, got), expected(q), q.path);
      });
    }
  });
}
