/**
 * Zipkin v2 spans → OTLP trace data (the OTLP/JSON shape `otlp-translate.ts` maps to the span model), as Jaeger v2
 * receives Zipkin: through opentelemetry-collector-contrib's zipkin receiver (`pkg/translator/zipkin/zipkinv2`,
 * `ToTranslator`, string tags not parsed):
 *
 * - spans grouped into resources by local service name, then into scopes by the `otel.library.name` tag
 * - resource: `service.name` (or the key named by `otlp.service.name.source`) and the resource semantic-convention
 *   tags of the group's first span; those tags never become span attributes
 * - kind from `kind`, else the `span.kind` tag when it says "internal"; status from `otel.status_code` (+
 *   `otel.status_description`), and ERROR whenever an `error` tag exists (removed when it is "true")
 * - `w3c.tracestate` → trace state; `otlp.link.N` → links; annotations → events (`name|{json}|dropped`)
 * - endpoints → `net.host.ip`, `net.host.port`, `peer.service`, `net.peer.ip`, `net.peer.port`
 * - no timestamp → start at the epoch with `otel.zipkin.absentField.startTime=true`
 *
 * `shared` is not kept: a server half sharing its client's span id becomes a second span with that id and kind
 * SERVER, which Jaeger's query side separates (see `model/shared-span-ids.ts`).
 */
import type { NanoSplit } from '../otlp/otlp-time.js';
import type { ZipkinSpan } from './zipkin-model.js';

type AnyValue = { stringValue: string } | { intValue: number } | { boolValue: boolean } | { doubleValue: number };
type Attr = { key: string; value: AnyValue };

const NO_SERVICE = 'OTLPResourceNoServiceName';
const SERVICE_NAME_SOURCE = 'otlp.service.name.source';
const LIBRARY_NAME = 'otel.library.name';
const LIBRARY_VERSION = 'otel.library.version';
const KIND_NUMBER: Record<string, number> = { CLIENT: 3, SERVER: 2, PRODUCER: 4, CONSUMER: 5 };
const STATUS_CODES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2, Unset: 0, Ok: 1, Error: 2 };

/** Resource attribute names of OpenTelemetry semantic conventions v1.6.1, as the translator lists them. */
const RESOURCE_KEYS: readonly string[] = [
  'cloud.provider', 'cloud.account.id', 'cloud.region', 'cloud.availability_zone', 'cloud.platform',
  'aws.ecs.container.arn', 'aws.ecs.cluster.arn', 'aws.ecs.launchtype', 'aws.ecs.task.arn', 'aws.ecs.task.family',
  'aws.ecs.task.revision', 'aws.eks.cluster.arn', 'aws.log.group.names', 'aws.log.group.arns', 'aws.log.stream.names',
  'aws.log.stream.arns', 'container.name', 'container.id', 'container.runtime', 'container.image.name',
  'container.image.tag', 'deployment.environment', 'device.id', 'device.model.identifier', 'device.model.name',
  'faas.name', 'faas.id', 'faas.version', 'faas.instance', 'faas.max_memory', 'host.id', 'host.name', 'host.type',
  'host.arch', 'host.image.name', 'host.image.id', 'host.image.version', 'k8s.cluster.name', 'k8s.node.name',
  'k8s.node.uid', 'k8s.namespace.name', 'k8s.pod.uid', 'k8s.pod.name', 'k8s.container.name', 'k8s.replicaset.uid',
  'k8s.replicaset.name', 'k8s.deployment.uid', 'k8s.deployment.name', 'k8s.statefulset.uid', 'k8s.statefulset.name',
  'k8s.daemonset.uid', 'k8s.daemonset.name', 'k8s.job.uid', 'k8s.job.name', 'k8s.cronjob.uid', 'k8s.cronjob.name',
  'os.type', 'os.description', 'os.name', 'os.version', 'process.pid', 'process.executable.name',
  'process.executable.path', 'process.command', 'process.command_line', 'process.command_args', 'process.owner',
  'process.runtime.name', 'process.runtime.version', 'process.runtime.description', 'service.name',
  'service.namespace', 'service.instance.id', 'service.version', 'telemetry.sdk.name', 'telemetry.sdk.language',
  'telemetry.sdk.version', 'telemetry.auto.version', 'webengine.name', 'webengine.version', 'webengine.description',
];
/** Tags that never become span attributes. */
const NON_SPAN = new Set([...RESOURCE_KEYS, SERVICE_NAME_SOURCE, LIBRARY_NAME, LIBRARY_VERSION,
  'opencensus.starttime', 'opencensus.exporterversion', 'opencensus.resourcetype']);

/** pcommon.Map's PutX: replaces a key in place, else appends. */
function put(attrs: Attr[], key: string, value: AnyValue): void {
  for (let i = 0; i < attrs.length; i++) {
    if (attrs[i]!.key === key) {
      attrs[i] = { key, value };
      return;
    }
  }
  attrs.push({ key, value });
}

function micros(us: number): NanoSplit {
  return { micros: us, nanos: 0 };
}

function localService(s: ZipkinSpan): string {
  return s.localEndpoint && s.localEndpoint.serviceName !== '' ? s.localEndpoint.serviceName : NO_SERVICE;
}

function libraryOf(s: ZipkinSpan): string {
  for (const [k, v] of s.tags) if (k === LIBRARY_NAME) return v;
  return '';
}

/** A `{json}` of an annotation or link: strings, whole numbers as ints, other numbers as doubles, booleans. */
function jsonAttributes(json: string): Attr[] | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    return `attributes are not JSON: ${(err as Error).message}`;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'attributes are not a JSON object';
  const out: Attr[] = [];
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof v === 'string') put(out, k, { stringValue: v });
    else if (typeof v === 'number') put(out, k, Number.isInteger(v) ? { intValue: v } : { doubleValue: v });
    else if (typeof v === 'boolean') put(out, k, { boolValue: v });
  }
  return out;
}

function linkFrom(value: string): Record<string, unknown> | undefined | string {
  const parts = value.split('|');
  if (parts.length < 5) return undefined;
  const unquote = (s: string) => (s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s);
  const traceId = unquote(parts[0]!);
  const spanId = unquote(parts[1]!);
  if ((traceId !== '' && !/^[0-9a-fA-F]{32}$/.test(traceId)) || (spanId !== '' && !/^[0-9a-fA-F]{16}$/.test(spanId))) return 'a link id is not hex of the right length';
  const attrs = jsonAttributes(parts.slice(3, -1).join('|'));
  if (typeof attrs === 'string') return `link ${attrs}`;
  if (!/^\d+$/.test(parts[parts.length - 1]!)) return 'a link dropped count is not a number';
  return { traceId, spanId, traceState: parts[2], attributes: attrs };
}

function translateSpan(z: ZipkinSpan, tags: Map<string, string>): Record<string, unknown> | string {
  const span: Record<string, unknown> = { traceId: z.traceId, spanId: z.id, name: z.name };
  const traceState = tags.get('w3c.tracestate');
  if (traceState !== undefined) {
    span.traceState = traceState;
    tags.delete('w3c.tracestate');
  }
  if (z.parentId !== undefined && z.parentId !== z.id) span.parentSpanId = z.parentId;

  let kind = KIND_NUMBER[z.kind] ?? 0;
  if (kind === 0 && tags.has('span.kind')) {
    if (tags.get('span.kind') === 'internal') kind = 1;
    tags.delete('span.kind');
  }
  span.kind = kind;

  const status: { code: number; message?: string } = { code: 0 };
  const statusCode = tags.get('otel.status_code');
  if (statusCode !== undefined) {
    status.code = STATUS_CODES[statusCode] ?? 0;
    tags.delete('otel.status_code');
    const message = tags.get('otel.status_description');
    if (message !== undefined) {
      status.message = message;
      tags.delete('otel.status_description');
    }
  }
  const error = tags.get('error');
  if (error !== undefined) {
    status.code = 2;
    if (error === 'true') tags.delete('error');
  }
  span.status = status;

  const links: unknown[] = [];
  for (let i = 0; i < 128; i++) {
    const value = tags.get(`otlp.link.${i}`);
    if (value === undefined) break;
    tags.delete(`otlp.link.${i}`);
    const link = linkFrom(value);
    if (typeof link === 'string') return link;
    if (link !== undefined) links.push(link);
  }
  span.links = links;

  const attrs: Attr[] = [];
  for (const [k, v] of tags) if (!NON_SPAN.has(k)) put(attrs, k, { stringValue: v });
  const local = z.localEndpoint;
  if (local) {
    if (local.ipv4 !== '') put(attrs, 'net.host.ip', { stringValue: local.ipv4 });
    if (local.ipv6 !== '') put(attrs, 'net.host.ip', { stringValue: local.ipv6 });
    if (local.port > 0) put(attrs, 'net.host.port', { intValue: local.port });
  }
  const remote = z.remoteEndpoint;
  if (remote) {
    if (remote.serviceName !== '') put(attrs, 'peer.service', { stringValue: remote.serviceName });
    if (remote.ipv4 !== '') put(attrs, 'net.peer.ip', { stringValue: remote.ipv4 });
    if (remote.ipv6 !== '') put(attrs, 'net.peer.ip', { stringValue: remote.ipv6 });
    if (remote.port > 0) put(attrs, 'net.peer.port', { intValue: remote.port });
  }
  if (z.timestampMicros === undefined) {
    span.startTimeUnixNano = micros(0);
    span.endTimeUnixNano = micros(z.durationMicros);
    put(attrs, 'otel.zipkin.absentField.startTime', { boolValue: true });
  } else {
    span.startTimeUnixNano = micros(z.timestampMicros);
    span.endTimeUnixNano = micros(z.timestampMicros + z.durationMicros);
  }
  span.attributes = attrs;

  const events: unknown[] = [];
  for (const a of z.annotations) {
    const parts = a.value.split('|');
    const event: Record<string, unknown> = { timeUnixNano: micros(a.timestampMicros), name: parts[0] };
    if (parts.length >= 3) {
      const attrsOf = jsonAttributes(parts.slice(1, -1).join('|'));
      if (typeof attrsOf === 'string') return `annotation ${attrsOf}`;
      if (!/^\d+$/.test(parts[parts.length - 1]!)) return 'an annotation dropped count is not a number';
      event.attributes = attrsOf;
    }
    events.push(event);
  }
  span.events = events;
  return span;
}

function resourceFor(tags: Map<string, string>, service: string): Attr[] {
  if (service === NO_SERVICE) return [];
  const attrs: Attr[] = [];
  if (tags.size === 0) return [{ key: 'service.name', value: { stringValue: service } }];
  const source = tags.get(SERVICE_NAME_SOURCE);
  put(attrs, source ? source : 'service.name', { stringValue: service });
  tags.delete(SERVICE_NAME_SOURCE);
  for (const key of RESOURCE_KEYS) {
    const value = tags.get(key);
    if (value !== undefined) {
      put(attrs, key, { stringValue: value });
      tags.delete(key);
    }
  }
  return attrs;
}

/** Zipkin spans → an ExportTraceServiceRequest in the OTLP/JSON shape; a string when a span cannot be read. */
export function zipkinToOtlp(zspans: ZipkinSpan[]): { resourceSpans: unknown[] } | string {
  const order = zspans.map((s, i) => ({ s, i, service: localService(s), lib: libraryOf(s) }));
  order.sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : a.lib < b.lib ? -1 : a.lib > b.lib ? 1 : a.i - b.i));
  const resourceSpans: unknown[] = [];
  let prevService: string | undefined;
  let prevLib = '';
  let scopes: unknown[] = [];
  let spans: unknown[] = [];
  for (const { s, service, lib } of order) {
    const tags = new Map(s.tags);
    let newResource = false;
    if (service !== prevService) {
      prevService = service;
      scopes = [];
      resourceSpans.push({ resource: { attributes: resourceFor(tags, service) }, scopeSpans: scopes });
      newResource = true;
    }
    if (newResource || lib !== prevLib) {
      prevLib = lib;
      const scope: Record<string, string> = {};
      if (lib !== '') {
        scope.name = tags.get(LIBRARY_NAME) ?? '';
        tags.delete(LIBRARY_NAME);
        const version = tags.get(LIBRARY_VERSION);
        if (version !== undefined) {
          scope.version = version;
          tags.delete(LIBRARY_VERSION);
        }
      }
      spans = [];
      scopes.push({ scope, spans });
    }
    const span = translateSpan(s, tags);
    if (typeof span === 'string') return `span ${s.id}: ${span}`;
    spans.push(span);
  }
  return { resourceSpans };
}
