/**
 * The span bulk request written as UTF-8 bytes: each span's document (the document object, `spanToDb` of
 * ./jaeger-dbmodel.ts, as JSON.stringify would write it, int64 values beyond 2^53 exact) into one reused buffer,
 * hashed there, then copied after its action line into the request body, which the client sends as it is.
 *
 * Why: built as strings, a document was a rope flattened for its hash, joined with the others into the body, then
 * encoded to UTF-8 by the HTTP client — three copies and their garbage; and the process (its tags the same for every
 * span of a resource) was written again for each span. Here the process and scope parts are written once per object
 * and copied after (bench/spans-to-elasticsearch.bench.ts; figures in docs/design/span-write-path.md).
 */
import { hash } from 'node:crypto';
import type { KeyValue, Process, Span, SpanOtlp, SpanScope } from '../../model/span.js';
import { JsonBytes } from '../sqlite/json-bytes.js';
import { docFlags, docTags, isImpliedStatus, jsonNumber, otlpJson, overriddenField, statusImplied, tagMapJson, TAGS_AS_FIELDS, valueJson } from './jaeger-dbmodel.js';

/** JSON bytes with room made ahead and whole byte ranges appended. */
export class BulkBytes extends JsonBytes {
  /** `buf`: a buffer to write into from its start (one taken back from a pool), instead of a new one. */
  constructor(buf?: Buffer) {
    super();
    if (buf !== undefined) this.buf = buf;
  }

  /** Room for at least `bytes` more without growing. */
  reserve(bytes: number): void {
    if (this.buf.length - this.off < bytes) this.grow(bytes);
  }

  append(bytes: Uint8Array): void {
    if (this.buf.length - this.off < bytes.length) this.grow(bytes.length);
    this.buf.set(bytes, this.off);
    this.off += bytes.length;
  }
}

/**
 * Writes span documents and their action lines into a bulk body. The parts shared by spans (a process, a scope) are
 * kept as bytes by object: receivers and the span-bytes reader share one object per resource and scope.
 */
export class SpanDocWriter {
  private readonly doc = new BulkBytes();
  private readonly part = new BulkBytes();
  private readonly shared = new WeakMap<Process | SpanScope, Buffer>();

  /**
   * Appends the span's action line (index `index`, id `<traceId>_<spanId>_<hash>`) and document to `body`, each
   * line ended by a newline, and returns the id.
   */
  writeSpan(body: BulkBytes, index: string, span: Span): string {
    const doc = this.doc;
    doc.reset();
    this.writeDoc(span);
    const bytes = doc.bytes();
    // The first 16 hex digits of the document's SHA-1: deterministic, so a replay overwrites. Native SHA-1 took
    // ≈ 1.5 µs for a 1.4 KB document where fnv-1a in JS took ≈ 9 µs (docs/design/span-delivery.md); spans written
    // before it was chosen carry fnv-1a ids: one replayed from a queue an older version left gets a second document.
    const id = `${span.traceId}_${span.spanId}_${hash('sha1', bytes, 'hex').slice(0, 16)}`;
    body.ascii('{"index":{"_index":');
    body.string(index);
    body.ascii(',"_id":');
    body.string(id);
    body.ascii('}}\n');
    body.append(bytes);
    body.byte(0x0a);
    return id;
  }

  /** The document of `span` alone, as bytes (a view, valid until the next write). */
  docBytes(span: Span): Buffer {
    this.doc.reset();
    this.writeDoc(span);
    return this.doc.bytes();
  }

  private writeDoc(span: Span): void {
    const w = this.doc;
    w.ascii('{"traceID":');
    w.string(span.traceId);
    w.ascii(',"spanID":');
    w.string(span.spanId);
    const flags = docFlags(span);
    if (flags !== 0) {
      w.ascii(',"flags":');
      w.ascii(jsonNumber(flags));
    }
    w.ascii(',"operationName":');
    w.string(span.operationName);
    w.ascii(',"references":');
    const refs = span.references;
    if (refs.length === 0) w.ascii('null');
    else {
      w.byte(0x5b);
      for (let i = 0; i < refs.length; i++) {
        const r = refs[i]!;
        if (i > 0) w.byte(0x2c);
        w.ascii('{"refType":"');
        w.ascii(r.refType);
        w.ascii('","traceID":');
        w.string(r.traceId);
        w.ascii(',"spanID":');
        w.string(r.spanId);
        if (r.tags && r.tags.length > 0) {
          w.ascii(',"tags":');
          writeKvs(w, r.tags, false, false);
        }
        w.byte(0x7d);
      }
      w.byte(0x5d);
    }
    w.ascii(',"startTime":');
    w.ascii(jsonNumber(span.startTimeMicros));
    w.ascii(',"startTimeMillis":');
    w.ascii(jsonNumber(Math.floor(span.startTimeMicros / 1000)));
    w.ascii(',"duration":');
    w.ascii(jsonNumber(span.durationMicros));
    w.ascii(',"tags":');
    writeKvs(w, span.warnings === undefined ? span.tags : docTags(span), true, statusImplied(span.tags));
    const tagMap = tagMapJson(span.tags, ',"tag":');
    if (tagMap !== '') w.write(tagMap);
    w.ascii(',"logs":');
    const logs = span.logs;
    if (logs.length === 0) w.ascii('null');
    else {
      w.byte(0x5b);
      for (let i = 0; i < logs.length; i++) {
        const l = logs[i]!;
        if (i > 0) w.byte(0x2c);
        w.ascii('{"timestamp":');
        w.ascii(jsonNumber(l.timestampMicros));
        w.ascii(',"fields":');
        writeKvs(w, l.fields, false, false);
        w.byte(0x7d);
      }
      w.byte(0x5d);
    }
    w.append(this.processBytes(span.process));
    if (span.scope && span.scope.tags.length > 0) w.append(this.scopeBytes(span.scope));
    if (span.otlp) writeOtlp(w, span.otlp);
    w.byte(0x7d);
  }

  private processBytes(process: Process): Buffer {
    let bytes = this.shared.get(process);
    if (bytes === undefined) {
      const w = this.part;
      w.reset();
      w.ascii(',"process":{"serviceName":');
      w.string(process.serviceName);
      w.ascii(',"tags":');
      writeKvs(w, process.tags, true, false);
      const tagMap = tagMapJson(process.tags, ',"tag":');
      if (tagMap !== '') w.write(tagMap);
      w.byte(0x7d);
      bytes = Buffer.from(w.bytes());
      this.shared.set(process, bytes);
    }
    return bytes;
  }

  private scopeBytes(scope: SpanScope): Buffer {
    let bytes = this.shared.get(scope);
    if (bytes === undefined) {
      const w = this.part;
      w.reset();
      w.ascii(',"scope":{"tags":');
      writeKvs(w, scope.tags, false, false);
      w.byte(0x7d);
      bytes = Buffer.from(w.bytes());
      this.shared.set(scope, bytes);
    }
    return bytes;
  }
}

/**
 * `,"otlp":` and `otlpJson` of ./jaeger-dbmodel.ts as bytes: the fields most spans have written here, a span with
 * links by otlpJson.
 */
function writeOtlp(w: BulkBytes, o: SpanOtlp): void {
  if (o.links !== undefined) {
    w.write(`,"otlp":${otlpJson(o)}`);
    return;
  }
  w.ascii(',"otlp":{');
  let first = true;
  if (o.flags) {
    w.ascii('"flags":');
    w.ascii(jsonNumber(o.flags));
    first = false;
  }
  if (o.parentSpanId !== undefined) {
    w.ascii(first ? '"parentSpanID":' : ',"parentSpanID":');
    w.string(o.parentSpanId);
    first = false;
  }
  if (o.startNanos) {
    w.ascii(first ? '"startNanos":' : ',"startNanos":');
    w.ascii(jsonNumber(o.startNanos));
    first = false;
  }
  if (o.durationNanos) {
    w.ascii(first ? '"durationNanos":' : ',"durationNanos":');
    w.ascii(jsonNumber(o.durationNanos));
    first = false;
  }
  if (o.eventNanos !== undefined) {
    w.ascii(first ? '"eventNanos":' : ',"eventNanos":');
    w.write(JSON.stringify(o.eventNanos));
    first = false;
  }
  if (o.eventNames !== undefined) {
    w.ascii(first ? '"eventNames":' : ',"eventNames":');
    w.write(JSON.stringify(o.eventNames));
    first = false;
  }
  if (o.dropped !== undefined) {
    w.ascii(first ? '"dropped":' : ',"dropped":');
    w.write(JSON.stringify(o.dropped));
  }
  w.byte(0x7d);
}

/**
 * The nested key/type/value list: with `split`, without the tags written as fields; with `dropStatus`, without
 * `otel.status_code=ERROR`.
 */
function writeKvs(w: BulkBytes, kvs: KeyValue[], split: boolean, dropStatus: boolean): void {
  w.byte(0x5b);
  let first = true;
  for (let i = 0; i < kvs.length; i++) {
    const kv = kvs[i]!;
    if (split && kv.type !== 'binary' && TAGS_AS_FIELDS.has(kv.key) && !overriddenField(kvs, i)) continue;
    if (dropStatus && isImpliedStatus(kv)) continue;
    if (!first) w.byte(0x2c);
    first = false;
    w.ascii('{"key":');
    w.string(kv.key);
    w.ascii(',"type":"');
    w.ascii(kv.type);
    w.ascii('","value":');
    if (kv.type === 'string') {
      w.string(kv.value);
      if (kv.any !== undefined) w.write(`,"any":${JSON.stringify(kv.any)}`);
    } else if (kv.type === 'bool') w.ascii(kv.value ? 'true' : 'false');
    else if (kv.type === 'int64' && typeof kv.value === 'number') w.ascii(String(kv.value));
    else w.write(valueJson(kv));
    w.byte(0x7d);
  }
  w.byte(0x5d);
}

const textWriter = new SpanDocWriter();

/** The span document's JSON text (tools and tests; the writer writes bulk bodies as bytes). */
export function spanDocJson(span: Span): string {
  return textWriter.docBytes(span).toString('utf8');
}
