/**
 * OTLP/JSON requests for the Jaeger 2.x comparisons of test/query/jaeger/otlp-jaeger-parity.test.ts: each case's
 * requests are sent in order, then its questions asked (v1 before v3: Jaeger's memory store keeps the trace as API v3's
 * adjusters leave it, so a v1 question asked after a v3 one sees sorted events and v3 warnings).
 */
export interface OtlpCase {
  name: string;
  requests: unknown[];
  queries: string[];
}

const S = (v: string) => ({ stringValue: v });
const I = (v: string) => ({ intValue: v });
export const BASE_NS = 1700000000123456789n;
const base = BASE_NS;
const t = (offNs: bigint) => String(base + offNs);

function req(resourceAttrs: unknown[], spans: unknown[], scope: unknown = { name: 'lib', version: '1.0' }): unknown {
  return { resourceSpans: [{ resource: { attributes: resourceAttrs }, scopeSpans: [{ scope, spans }] }] };
}

const svc = (name: string) => ({ key: 'service.name', value: S(name) });

function ids(trace: string, span: string) {
  return { traceId: trace.padStart(32, '0'), spanId: span.padStart(16, '0') };
}

const tr = (n: number) => `5${n}`.padStart(32, '0');
const q = (n: number) => [`/api/traces/${tr(n)}`, `/api/v3/traces/${tr(n)}`];

export const OTLP_CASES: OtlpCase[] = [
  {
    name: 'fidelity',
    requests: [req(
      [svc('fid'), { key: 'host.name', value: S('h1') }, { key: 'arr', value: { arrayValue: { values: [S('a'), I('2')] } } }, { key: 'ip', value: I('167772161') }],
      [
        {
          ...ids(tr(1), 'a1'), name: 'root', kind: 2, flags: 257, startTimeUnixNano: t(0n), endTimeUnixNano: t(5_000_000_123n),
          traceState: 'k=v',
          attributes: [
            { key: 'z', value: S('last') },
            { key: 'list', value: { arrayValue: { values: [S('x'), { boolValue: true }, { doubleValue: 1.5 }] } } },
            { key: 'map', value: { kvlistValue: { values: [{ key: 'b', value: I('1') }, { key: 'a', value: S('q') }] } } },
            { key: 'empty', value: { arrayValue: {} } },
            { key: 'telemetry.sdk.language', value: S('go') },
            { key: 'peer.ipv4', value: I('3232235777') },
          ],
          droppedAttributesCount: 2, droppedEventsCount: 1, droppedLinksCount: 3,
          events: [
            { timeUnixNano: t(1_000_000_001n), name: 'zeta', attributes: [{ key: 'm', value: { kvlistValue: { values: [{ key: 'k', value: S('v') }] } } }] },
            { timeUnixNano: t(2_000_000_002n), name: 'alpha', attributes: [{ key: 'b', value: S('1') }, { key: 'a', value: S('2') }] },
            { timeUnixNano: t(3_000_000_000n), name: 'named', attributes: [{ key: 'event', value: S('other') }] },
          ],
          status: { code: 1, message: 'fine' },
        },
        {
          ...ids(tr(1), 'a2'), parentSpanId: '00000000000000a1', name: 'child', kind: 3, flags: 1, startTimeUnixNano: t(1_000n), endTimeUnixNano: t(999_999n),
          links: [
            { ...ids(tr(1), 'a1'), attributes: [{ key: 'opentracing.ref_type', value: S('follows_from') }] },
            { ...ids(tr(9), 'b1'), traceState: 'x=y', flags: 1, attributes: [{ key: 'l', value: { arrayValue: { values: [S('1')] } } }], droppedAttributesCount: 4 },
          ],
          status: { code: 2, message: 'bad' },
        },
        {
          ...ids(tr(1), 'a3'), name: 'orphan-linked', startTimeUnixNano: t(10n), endTimeUnixNano: t(20n),
          links: [{ ...ids(tr(1), 'a1'), attributes: [{ key: 'opentracing.ref_type', value: S('child_of') }] }],
          status: { message: 'unset-with-message' },
        },
        {
          ...ids(tr(1), 'a4'), parentSpanId: '00000000000000a1', name: '', startTimeUnixNano: t(30n), endTimeUnixNano: t(10n),
          links: [{ ...ids(tr(1), 'a1') }],
        },
      ],
      { name: 'scope-lib', version: '2', attributes: [{ key: 'sa', value: { arrayValue: { values: [S('s')] } } }] },
    )],
    queries: q(1),
  },
  {
    name: 'no-service',
    requests: [req([{ key: 'host.name', value: S('h2') }], [{ ...ids(tr(2), 'c1'), name: 'op', startTimeUnixNano: t(0n), endTimeUnixNano: t(1000n) }])],
    queries: [...q(2), '/api/services'],
  },
  {
    name: 'dup-request',
    requests: [0, 1].map(() => req([svc('dup')], [
      { ...ids(tr(3), 'd1'), name: 'p', kind: 2, startTimeUnixNano: t(0n), endTimeUnixNano: t(9_000_000n) },
      { ...ids(tr(3), 'd2'), parentSpanId: '00000000000000d1', name: 'c', kind: 3, startTimeUnixNano: t(1_000_000n), endTimeUnixNano: t(2_000_000n) },
    ])),
    queries: q(3),
  },
  {
    name: 'dup-in-batch',
    requests: [req([svc('dup2')], [
      { ...ids(tr(4), 'e1'), name: 'p', startTimeUnixNano: t(0n), endTimeUnixNano: t(9_000_000n) },
      { ...ids(tr(4), 'e1'), name: 'p', startTimeUnixNano: t(0n), endTimeUnixNano: t(9_000_000n) },
    ])],
    queries: q(4),
  },
  {
    name: 'skew',
    requests: [
      req([svc('front'), { key: 'host.name', value: S('hA') }], [{ ...ids(tr(5), 'f1'), name: 'p', kind: 2, startTimeUnixNano: t(0n), endTimeUnixNano: t(1_000_000n) }]),
      req([svc('back'), { key: 'host.name', value: S('hB') }], [{ ...ids(tr(5), 'f2'), parentSpanId: '00000000000000f1', name: 'c', kind: 2, startTimeUnixNano: t(-500_500n), endTimeUnixNano: t(-100_000n) }]),
      req([svc('back')], [{ ...ids(tr(5), 'f3'), parentSpanId: '00000000000000ff', name: 'orphan', startTimeUnixNano: t(0n), endTimeUnixNano: t(1n) }]),
    ],
    queries: q(5),
  },
  {
    name: 'deps',
    requests: [0, 1].map(() => req([svc('dep-a')], [
      { ...ids(tr(6), '61'), name: 'p', kind: 2, startTimeUnixNano: t(0n), endTimeUnixNano: t(9_000_000n) },
    ])).concat([req([svc('dep-b')], [
      { ...ids(tr(6), '62'), parentSpanId: '0000000000000061', name: 'c', kind: 2, startTimeUnixNano: t(1_000n), endTimeUnixNano: t(2_000n) },
      { ...ids(tr(6), '62'), parentSpanId: '0000000000000061', name: 'c', kind: 2, startTimeUnixNano: t(1_000n), endTimeUnixNano: t(2_000n) },
      { ...ids(tr(6), '63'), parentSpanId: '0000000000000062', name: 'self', kind: 2, startTimeUnixNano: t(1_100n), endTimeUnixNano: t(1_900n) },
      { ...ids(tr(6), '64'), name: 'linked', startTimeUnixNano: t(1_100n), endTimeUnixNano: t(1_900n), links: [{ ...ids(tr(6), '61'), attributes: [{ key: 'opentracing.ref_type', value: S('child_of') }] }] },
    ])]),
    queries: [...q(6), `/api/dependencies?endTs=${Number(base / 1_000_000n) + 60_000}&lookback=3600000`],
  },

  {
    name: 'shared-ids',
    requests: [
      req([svc('cli')], [{ ...ids(tr(7), '71'), name: 'call', kind: 3, startTimeUnixNano: t(0n), endTimeUnixNano: t(5_000_000n) }]),
      req([svc('srv')], [
        { ...ids(tr(7), '71'), name: 'serve', kind: 2, startTimeUnixNano: t(1_000n), endTimeUnixNano: t(4_000_000n) },
        { ...ids(tr(7), '72'), parentSpanId: '0000000000000071', name: 'inner', kind: 1, startTimeUnixNano: t(2_000n), endTimeUnixNano: t(3_000_000n) },
      ]),
    ],
    queries: q(7),
  },
  {
    name: 'status-and-links',
    requests: [req([svc('st'), { key: 'telemetry.sdk.name', value: S('res') }], [
      { ...ids(tr(8), '81'), name: 'err-attr', startTimeUnixNano: t(0n), endTimeUnixNano: t(9_000_000n), attributes: [{ key: 'error', value: { boolValue: true } }, { key: 'ip', value: I('2130706433') }] },
      { ...ids(tr(8), '82'), parentSpanId: '0000000000000081', name: 'err-both', startTimeUnixNano: t(10n), endTimeUnixNano: t(100n), attributes: [{ key: 'error', value: { boolValue: true } }, { key: 'telemetry.sdk.name', value: S('span') }], status: { code: 2 } },
      { ...ids(tr(8), '83'), parentSpanId: '0000000000000081', name: 'bad-link', kind: 4, startTimeUnixNano: t(10n), endTimeUnixNano: t(100n),
        links: [{ traceId: '00000000000000000000000000000000', spanId: '0000000000000099' }, { ...ids(tr(8), '81'), attributes: [] }],
        events: [{ timeUnixNano: t(50n) }, { timeUnixNano: t(40n), name: 'b' }, { timeUnixNano: t(30n), name: 'a', attributes: [{ key: 'x', value: { intValue: '-5' } }] }] },
      { ...ids(tr(8), '84'), parentSpanId: '0000000000000081', name: 'kinds', kind: 5, startTimeUnixNano: t(10n), endTimeUnixNano: t(100n), attributes: [{ key: 'd', value: { doubleValue: 1e21 } }, { key: 'b64', value: { bytesValue: 'AAEC' } }] },
    ])],
    queries: [...q(8), '/api/operations?service=st', '/api/v3/operations?service=st', '/api/services/st/operations'],
  },
];
