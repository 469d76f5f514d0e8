/**
 * Jaeger agent datagrams in Thrift compact checked whole without making a `Span` object: the spans stay in the
 * datagram's bytes, and what the embedded store needs to index them (ids, parent, times, where each span's struct
 * and operation name lie) goes into typed arrays. The store then keeps each span's own `Span` struct as its data,
 * a slice of the datagram (storage/sqlite/span-write.ts); a storage that wants objects calls `decode`.
 *
 * The walk accepts exactly what `decodeAgentEmitBatch` accepts, with the same failure reasons: it reads through the
 * same reader in the same order, and skips what the decoder would make objects of (strings, tags, logs) while
 * checking their structure and required fields the decoder's way. A repeated field counts the decoder's way too
 * (the last one wins). test/model/jaeger-thrift/jaeger-compact-spans.test.ts holds the two to the same answers on valid,
 * random, truncated and mutated datagrams.
 *
 * Why: decoding a span of 8 tags and 2 logs into objects and then encoding them again for the store took ≈ 7 µs of
 * the ≈ 16 µs such a span cost from datagram to commit (bench/traces-to-store.bench.ts, jaeger-compact).
 */
import { isUtf8 } from 'node:buffer';
import type { Process, Span, WireSpans } from '../span.js';
import { AsciiTagHasher, tagHash } from '../tag-hash.js';
import { TypedSlab } from './typed-slab.js';
import { CompactTagFields } from './jaeger-compact-tags.js';
import {
  JaegerDecoder, REQUIRED_SPAN_FIELDS, SpanRefFields, TAG_BINARY, TAG_BOOL, TAG_DOUBLE, TAG_LONG, TAG_STRING, TooManySpans, decodeAgentEmitBatch,
  decodeFailure, missingSpanField, readEmitBatchCall, type JaegerDecodeLimits, type JaegerDecodeResult,
} from './jaeger-thrift.js';
import { CompactReader } from './thrift-compact.js';
import { T_I32, T_I64, T_LIST, T_STOP, T_STRING, T_STRUCT, ThriftError, int64Number, typeName } from './thrift-reader.js';

/** Int32 slots per span in `JaegerCompactSpans.ids`. */
export const ID_SLOTS = 9;
/** The slots: trace id high (2 halves), low (2), span id (2), parent span id (2), 1 when there is a parent. */
export const TRACE_HIGH = 0, TRACE_LOW = 2, SPAN_ID = 4, PARENT_ID = 6, HAS_PARENT = 8;
/**
 * Int32 slots per span in `JaegerCompactSpans.places`: struct start and end, operation name start and end, where the
 * (last) tags list and logs list start (-1: none), and 1 when some log repeats its fields list (only the last
 * counts then, as in the decoder); the span's range of `tagHashes` and 1 when that range is its tags (false when a
 * tags, logs or log fields list repeats: then `CompactSpanTags` reads the tags that count); where the value of its
 * `span.kind` tag lies and that tag's type (-1: none; as for the hashes, only when the range is its tags).
 */
export const PLACE_SLOTS = 13;
export const STRUCT_START = 0, STRUCT_END = 1, OP_START = 2, OP_END = 3, TAGS_AT = 4, LOGS_AT = 5, LOG_FIELDS_REPEATED = 6;
export const FIRST_TAG = 7, TAG_END = 8, TAGS_HASHED = 9, KIND_START = 10, KIND_END = 11, KIND_TYPE = 12;

/** The spans of one checked datagram, still in its bytes. */
export class JaegerCompactSpans implements WireSpans {
  private decoded: Span[] | undefined;

  constructor(
    /** The whole datagram. */
    readonly bytes: Buffer,
    readonly count: number,
    /** The batch's process, shared by its spans. */
    readonly process: Process,
    /** `ID_SLOTS` per span; 64-bit ids as signed high and unsigned-as-signed low halves. */
    readonly ids: Int32Array,
    /** `PLACE_SLOTS` per span: byte offsets into `bytes`. */
    readonly places: Int32Array,
    /** 2 per span: start time and duration, µs. */
    readonly times: Float64Array,
    /**
     * The tag index hash (model/tag-hash.ts) of every tag and log field of the spans, read while walking: each
     * span's are `places[FIRST_TAG]` up to `places[TAG_END]`.
     */
    readonly tagHashes: Float64Array,
    /** Where each of those tags' structs starts in `bytes`. */
    readonly tagOffsets: Int32Array,
    private readonly limits: JaegerDecodeLimits,
    /**
     * Whether Jaeger 2.x's translation (jaeger-otel-translate.ts) leaves every span as the walk indexed it: the same
     * operation name, parent, kind, duration and set of tags. It may still reorder tags, drop a reference that
     * repeats the parent and clear the flags — what decoding the stored struct does again on every read. A
     * storage that indexes from the walk writes the decoded spans when this is false.
     */
    readonly plain: boolean = true,
  ) {}

  decode(): Span[] {
    if (this.decoded === undefined) {
      const result = decodeAgentEmitBatch(this.bytes, 'compact', this.limits);
      // The walk accepted these bytes; the decoder accepts the same (the equivalence test holds them to it).
      if (!result.ok) throw new Error(`a checked Jaeger datagram failed to decode: ${result.error}`);
      this.decoded = result.spans;
    }
    return this.decoded;
  }
}

export type JaegerWalkResult =
  | { ok: true; spans: JaegerCompactSpans }
  | Extract<JaegerDecodeResult, { ok: false }>;

/** Processes a walker remembers by their bytes (`JaegerCompactWalker.process`). */
const KNOWN_PROCESSES = 16;
/** Spans of a batch held before the walk's arrays grow. */
const INITIAL_SPANS = 64;
/** References of one span held before the scratch grows: 7 slots each (type, trace id 4 halves, span id 2). */
const REF_SLOTS = 7;
/** Elements per slab the result arrays are cut from (model/jaeger-thrift/typed-slab.ts): ≈ 40 datagrams of 10 spans each. */
const SLAB_LENGTH = 16_384;

/**
 * Walks `Agent.emitBatch` datagrams in Thrift compact. Reusable and synchronous: its scratch arrays are copied into
 * each result.
 */
export class JaegerCompactWalker {
  private r = new CompactReader(Buffer.alloc(0));
  private spanIndex = -1;
  private count = 0;
  private ids = new Int32Array(INITIAL_SPANS * ID_SLOTS);
  private places = new Int32Array(INITIAL_SPANS * PLACE_SLOTS);
  private times = new Float64Array(INITIAL_SPANS * 2);
  private refs = new Int32Array(8 * REF_SLOTS);
  private refCount = 0;
  /** 1 when a log of the span being walked repeats its fields list. */
  private logFieldsRepeated = 0;
  private bytes: Buffer = Buffer.alloc(0);
  private tagHashes = new Float64Array(INITIAL_SPANS * 16);
  private tagOffsets = new Int32Array(INITIAL_SPANS * 16);
  private tagCount = 0;
  /** Whether the tags list being walked is the span's own (where its kind is). */
  private spanTags = false;
  private kindStart = 0;
  private kindEnd = 0;
  private kindType = -1;
  private readonly hasher = new AsciiTagHasher();
  private readonly ref = new SpanRefFields();
  private readonly tag = new CompactTagFields();
  /** Processes of earlier datagrams with the bytes of their struct, most recently seen first. */
  private readonly processes: Array<{ bytes: Buffer; process: Process }> = [];
  /** Where the results' arrays are copied to. */
  private readonly ints = new TypedSlab((n) => new Int32Array(n), SLAB_LENGTH);
  private readonly doubles = new TypedSlab((n) => new Float64Array(n), SLAB_LENGTH);
  /** False once a span of the datagram is one Jaeger's translation changes beyond what a read redoes. */
  private plain = true;
  /** Where the keys of the tags list being walked lie (start, end), to find a repeated key. */
  private keys = new Int32Array(64);

  constructor(private readonly limits: JaegerDecodeLimits) {}

  walk(bytes: Buffer): JaegerWalkResult {
    this.r = new CompactReader(bytes);
    this.bytes = bytes;
    this.spanIndex = -1;
    this.count = 0;
    this.tagCount = 0;
    this.plain = true;
    try {
      const process = this.emitBatch();
      const n = this.count;
      const ints = this.ints;
      const doubles = this.doubles;
      return {
        ok: true,
        spans: new JaegerCompactSpans(
          bytes, n, process, ints.copy(this.ids, n * ID_SLOTS), ints.copy(this.places, n * PLACE_SLOTS), doubles.copy(this.times, n * 2),
          doubles.copy(this.tagHashes, this.tagCount), ints.copy(this.tagOffsets, this.tagCount), this.limits, this.plain,
        ),
      };
    } catch (err) {
      // The decoder's reasons, word for word.
      return decodeFailure(err, this.spanIndex);
    }
  }

  private emitBatch(): Process {
    const r = this.r;
    readEmitBatchCall(r);
    let process: Process | undefined;
    let batches = 0;
    r.readStructBegin();
    for (let t = r.readFieldBegin(); t !== T_STOP; t = r.readFieldBegin()) {
      if (r.fieldId === 1 && t === T_STRUCT) {
        process = this.batch();
        batches++;
      } else {
        r.skip(t);
      }
    }
    r.readStructEnd();
    if (batches === 0) throw new ThriftError('emitBatch call without its batch argument');
    return process!;
  }

  private batch(): Process {
    const r = this.r;
    let process: Process | undefined;
    let spans = false;
    r.readStructBegin();
    for (let t = r.readFieldBegin(); t !== T_STOP; t = r.readFieldBegin()) {
      if (r.fieldId === 1 && t === T_STRUCT) process = this.process();
      else if (r.fieldId === 2 && t === T_LIST) {
        this.spans();
        spans = true;
      } else r.skip(t);
    }
    r.readStructEnd();
    if (process === undefined) throw new ThriftError('Batch is missing its required field process');
    if (!spans) throw new ThriftError('Batch is missing its required field spans');
    return process;
  }

  /**
   * The batch's process: the one decoded before from the same bytes, else decoded now. A client sends the same
   * process struct in every datagram; decoding it again (and the store keying it again) cost ≈ 0.4 µs per span of
   * 10-span datagrams. The same bytes read the same: a struct's fields are read from its own start on, and its list
   * counts were checked against its own bytes.
   */
  private process(): Process {
    const r = this.r;
    const bytes = this.bytes;
    const start = r.offset;
    const known = this.processes;
    for (let i = 0; i < known.length; i++) {
      const k = known[i]!;
      const end = start + k.bytes.length;
      if (end <= bytes.length && bytes.compare(k.bytes, 0, k.bytes.length, start, end) === 0) {
        if (i > 0) {
          known.splice(i, 1);
          known.unshift(k);
        }
        r.seek(end);
        return k.process;
      }
    }
    const process = new JaegerDecoder(r, this.limits).process();
    // A copy: a view would keep the whole datagram alive.
    known.unshift({ bytes: Buffer.from(bytes.subarray(start, r.offset)), process });
    if (known.length > KNOWN_PROCESSES) known.pop();
    return process;
  }

  private structList(what: string): number {
    const n = this.r.readListBegin();
    if (this.r.elemType !== T_STRUCT) throw new ThriftError(`${what} holds ${typeName(this.r.elemType)} elements, expected structs`);
    return n;
  }

  private spans(): void {
    const n = this.structList('Batch.spans');
    if (n > this.limits.maxSpans) throw new TooManySpans(`batch of ${n} spans exceeds the limit of ${this.limits.maxSpans}`);
    // A later spans field replaces an earlier one, as in the decoder.
    this.count = 0;
    for (let i = 0; i < n; i++) {
      this.spanIndex = i;
      this.span();
    }
    this.spanIndex = -1;
  }

  private span(): void {
    const r = this.r;
    const at = this.count;
    if ((at + 1) * ID_SLOTS > this.ids.length) this.grow();
    const ids = this.ids;
    const idBase = at * ID_SLOTS;
    let seen = 0;
    let opStart = 0, opEnd = 0, start = 0, duration = 0, tagsAt = -1, logsAt = -1;
    this.logFieldsRepeated = 0;
    this.kindType = -1;
    const firstTag = this.tagCount;
    let parentHi = 0, parentLo = 0;
    this.refCount = 0;
    const structStart = r.offset;
    r.readStructBegin();
    for (let t = r.readFieldBegin(); t !== T_STOP; t = r.readFieldBegin()) {
      const id = r.fieldId;
      if (t === T_I64 && (id === 1 || id === 2 || id === 3 || id === 4 || id === 8 || id === 9)) {
        r.readI64();
        seen |= 1 << (id - 1);
        switch (id) {
          case 1: ids[idBase + TRACE_LOW] = r.i64Hi; ids[idBase + TRACE_LOW + 1] = r.i64Lo; break;
          case 2: ids[idBase + TRACE_HIGH] = r.i64Hi; ids[idBase + TRACE_HIGH + 1] = r.i64Lo; break;
          case 3: ids[idBase + SPAN_ID] = r.i64Hi; ids[idBase + SPAN_ID + 1] = r.i64Lo; break;
          case 4: parentHi = r.i64Hi; parentLo = r.i64Lo; break;
          case 8: start = int64Number(r.i64Hi, r.i64Lo); break;
          default: duration = int64Number(r.i64Hi, r.i64Lo); break;
        }
      } else if (id === 5 && t === T_STRING) {
        opStart = r.skipBytes('a string');
        opEnd = r.offset;
        seen |= 1 << 4;
      } else if (id === 6 && t === T_LIST) {
        this.references();
      } else if (id === 7 && t === T_I32) {
        r.readI32();
        seen |= 1 << 6;
      } else if (id === 10 && t === T_LIST) {
        if (tagsAt >= 0) this.logFieldsRepeated |= 2;
        tagsAt = r.offset;
        this.spanTags = true;
        this.tags('Span.tags');
        this.spanTags = false;
      } else if (id === 11 && t === T_LIST) {
        if (logsAt >= 0) this.logFieldsRepeated |= 2;
        logsAt = r.offset;
        this.logFieldsRepeated &= ~1;
        this.logs();
      } else {
        r.skip(t);
      }
    }
    r.readStructEnd();
    if (seen !== REQUIRED_SPAN_FIELDS) throw new ThriftError(`Span is missing its required field ${missingSpanField(seen)}`);
    if (opEnd === opStart || duration <= 0 || !utf8(this.bytes, opStart, opEnd)) this.plain = false;
    this.parent(idBase, parentHi, parentLo);
    const places = this.places;
    const p = at * PLACE_SLOTS;
    places[p + STRUCT_START] = structStart;
    places[p + STRUCT_END] = r.offset;
    places[p + OP_START] = opStart;
    places[p + OP_END] = opEnd;
    places[p + TAGS_AT] = tagsAt;
    places[p + LOGS_AT] = logsAt;
    places[p + LOG_FIELDS_REPEATED] = this.logFieldsRepeated & 1;
    places[p + FIRST_TAG] = firstTag;
    places[p + TAG_END] = this.tagCount;
    // A repeated list leaves hashes of tags that do not count in the range.
    places[p + TAGS_HASHED] = this.logFieldsRepeated === 0 ? 1 : 0;
    places[p + KIND_START] = this.kindStart;
    places[p + KIND_END] = this.kindEnd;
    places[p + KIND_TYPE] = this.kindType;
    this.times[at * 2] = start;
    this.times[at * 2 + 1] = duration;
    this.count = at + 1;
  }

  /**
   * The span's parent as the span model has it (`parentSpanId` of what the decoder makes): the `parentSpanId` field
   * when set and no CHILD_OF reference of the same trace comes before one naming it; else the first CHILD_OF
   * reference into the same trace; else the first reference.
   */
  private parent(idBase: number, parentHi: number, parentLo: number): void {
    const ids = this.ids;
    const refs = this.refs;
    const th = ids[idBase + TRACE_HIGH]!, thl = ids[idBase + TRACE_HIGH + 1]!;
    const tl = ids[idBase + TRACE_LOW]!, tll = ids[idBase + TRACE_LOW + 1]!;
    let hasParent = 0;
    let hi = 0, lo = 0;
    let namesParent = false;
    for (let i = 0; i < this.refCount; i++) {
      const b = i * REF_SLOTS;
      if (refs[b] === 0 && refs[b + 1] === th && refs[b + 2] === thl && refs[b + 3] === tl && refs[b + 4] === tll) {
        if (hasParent === 0) {
          hasParent = 1;
          hi = refs[b + 5]!;
          lo = refs[b + 6]!;
        }
        if (refs[b + 5] === parentHi && refs[b + 6] === parentLo) namesParent = true;
      }
    }
    if ((parentHi !== 0 || parentLo !== 0) && !namesParent) {
      // Jaeger's MaybeAddParentSpanID puts the parent first.
      hasParent = 1;
      hi = parentHi;
      lo = parentLo;
    } else if (hasParent === 0 && this.refCount > 0) {
      hasParent = 1;
      hi = refs[5]!;
      lo = refs[6]!;
    }
    ids[idBase + PARENT_ID] = hi;
    ids[idBase + PARENT_ID + 1] = lo;
    ids[idBase + HAS_PARENT] = hasParent;
    // Plain: references that only repeat the parent field (CHILD_OF, same trace); anything else Jaeger reorders,
    // retypes or takes a parent from its own way.
    if (this.refCount > 0) {
      if (parentHi === 0 && parentLo === 0) this.plain = false;
      for (let i = 0; i < this.refCount && this.plain; i++) {
        const b = i * REF_SLOTS;
        if (refs[b] !== 0 || refs[b + 1] !== th || refs[b + 2] !== thl || refs[b + 3] !== tl || refs[b + 4] !== tll || refs[b + 5] !== (parentHi | 0) || refs[b + 6] !== (parentLo | 0)) this.plain = false;
      }
    }
  }

  /** The references kept (CHILD_OF and FOLLOWS_FROM; others the decoder drops with a warning) into `refs`. */
  private references(): void {
    const r = this.r;
    const n = this.structList('Span.references');
    // A later references field replaces an earlier one.
    this.refCount = 0;
    const f = this.ref;
    for (let i = 0; i < n; i++) {
      f.read(r);
      if (f.refType !== 0 && f.refType !== 1) {
        // Jaeger takes it as FOLLOWS_FROM.
        this.plain = false;
        continue;
      }
      if ((this.refCount + 1) * REF_SLOTS > this.refs.length) this.refs = doubled(this.refs);
      const refs = this.refs;
      const b = this.refCount++ * REF_SLOTS;
      refs[b] = f.refType;
      refs[b + 1] = f.highHi;
      refs[b + 2] = f.highLo;
      refs[b + 3] = f.lowHi;
      refs[b + 4] = f.lowLo;
      refs[b + 5] = f.idHi;
      refs[b + 6] = f.idLo;
    }
  }

  private logs(): void {
    const r = this.r;
    const n = this.structList('Span.logs');
    for (let i = 0; i < n; i++) {
      let timestamp = false;
      let fields = false;
      r.readStructBegin();
      for (let t = r.readFieldBegin(); t !== T_STOP; t = r.readFieldBegin()) {
        if (r.fieldId === 1 && t === T_I64) {
          r.readI64();
          timestamp = true;
        } else if (r.fieldId === 2 && t === T_LIST) {
          if (fields) this.logFieldsRepeated |= 1;
          this.tags('Log.fields');
          fields = true;
        } else {
          r.skip(t);
        }
      }
      r.readStructEnd();
      if (!timestamp) throw new ThriftError('Log is missing its required field timestamp');
      if (!fields) throw new ThriftError('Log is missing its required field fields');
    }
  }

  private tags(what: string): void {
    const r = this.r;
    const n = this.structList(what);
    const tag = this.tag;
    const bytes = this.bytes;
    const h = this.hasher;
    if (n * 2 > this.keys.length) this.keys = new Int32Array(n * 2);
    const keys = this.keys;
    // A bit per key length and first byte seen in this list: only a key whose bit is set already can repeat one.
    let seenKeys = 0;
    for (let i = 0; i < n; i++) {
      const tagStart = r.offset;
      tag.read(r, bytes);
      if (tag.keyStart < 0) throw new ThriftError('Tag is missing its required field key');
      // A vType of -1 reads as none, as in the decoder.
      if (tag.vType === -1) throw new ThriftError(`Tag "${tag.key().slice(0, 64)}" is missing its required field vType`);

      // The tag's hash for the store's index, of its value as text (`tagValueString` of the decoded tag): from the
      // bytes while they are ASCII, else from the decoder's strings.
      if (this.tagCount === this.tagHashes.length) {
        this.tagHashes = doubled(this.tagHashes);
        this.tagOffsets = doubled(this.tagOffsets);
      }
      const at = this.tagCount++;
      const hashes = this.tagHashes;
      let ascii = h.key(bytes, tag.keyStart, tag.keyEnd);
      if (ascii && tag.vType === TAG_STRING) ascii = h.valueBytes(bytes, tag.strStart, tag.strEnd, hashes, at);
      else if (ascii) h.value(tag.valueText(), hashes, at);
      if (!ascii) hashes[at] = tagHash(tag.key(), tag.valueText());
      if (this.plain) {
        keys[i * 2] = tag.keyStart;
        keys[i * 2 + 1] = tag.keyEnd;
        const bit = 1 << ((tag.keyEnd - tag.keyStart + (tag.keyEnd > tag.keyStart ? bytes[tag.keyStart]! : 0)) & 31);
        if (!plainTag(tag, bytes, this.spanTags, ascii) || ((seenKeys & bit) !== 0 && repeatsKey(bytes, keys, i))) this.plain = false;
        seenKeys |= bit;
      }
      this.tagOffsets[at] = tagStart;
      if (this.spanTags && this.kindType === -1 && (tag.vType < TAG_DOUBLE || tag.vType > TAG_BINARY) && isSpanKind(bytes, tag.keyStart, tag.keyEnd)) {
        // The first string-typed span.kind tag (an unknown type reads as a string).
        this.kindType = tag.vType;
        this.kindStart = tag.strStart;
        this.kindEnd = tag.strEnd;
      }
    }
  }

  private grow(): void {
    this.ids = doubled(this.ids);
    this.places = doubled(this.places);
    this.times = doubled(this.times);
  }

}

/** A copy of the array twice as long. */
function doubled<T extends Int32Array | Float64Array>(array: T): T {
  const grown = new (array.constructor as new (n: number) => T)(array.length * 2);
  grown.set(array);
  return grown;
}

const SPAN_KIND = Buffer.from('span.kind');
const KINDS = ['server', 'client', 'producer', 'consumer', 'internal'].map((k) => Buffer.from(k));
const ERROR = Buffer.from('error');
const EVENT = Buffer.from('event');
const HTTP_STATUS_CODE = Buffer.from('http.status_code');
/** Span tags whose presence alone changes what Jaeger's translation makes of a span's tags. */
const CHANGING = ['otel.status_code', 'otel.status_description', '@jaeger@warnings'].map((k) => Buffer.from(k));

function equals(bytes: Buffer, start: number, end: number, word: Buffer): boolean {
  const n = word.length;
  if (end - start !== n) return false;
  for (let i = 0; i < n; i++) if (bytes[start + i] !== word[i]) return false;
  return true;
}

/** Whether the bytes are UTF-8 (ASCII checked here, anything else natively). */
function utf8(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i]! >= 0x80) return isUtf8(bytes.subarray(start, end));
  return true;
}

/**
 * Whether Jaeger's translation keeps the tag as the walk indexed it: a known type, UTF-8 key and value (checked only
 * when the hasher found them not ASCII; span tags only:
 * log fields are not checked by Jaeger's sanitizer), and none of the keys it acts on unless their value leaves the
 * span as it is (a valid `span.kind`, `error=false`, an `http.status_code` under 399, an `event` that is a string).
 */
function plainTag(tag: CompactTagFields, bytes: Buffer, spanTag: boolean, ascii: boolean): boolean {
  const vType = tag.vType;
  if (vType < TAG_STRING || vType > TAG_BINARY) return false;
  const ks = tag.keyStart, ke = tag.keyEnd;
  const len = ke - ks;
  if (!spanTag) return len !== 5 || !equals(bytes, ks, ke, EVENT) || (vType === TAG_STRING && tag.strEnd > tag.strStart);
  if (!ascii && (!utf8(bytes, ks, ke) || (vType === TAG_STRING && !utf8(bytes, tag.strStart, tag.strEnd)))) return false;
  if (len === 9 && equals(bytes, ks, ke, SPAN_KIND)) {
    if (vType !== TAG_STRING) return false;
    for (const k of KINDS) if (equals(bytes, tag.strStart, tag.strEnd, k)) return true;
    return false;
  }
  if (len === 5 && equals(bytes, ks, ke, ERROR)) return vType === TAG_BOOL && !tag.vBool;
  if (len === 16 && equals(bytes, ks, ke, HTTP_STATUS_CODE)) {
    if (vType !== TAG_LONG || tag.longHi !== 0) return false;
    return tag.longLo >= 100 && tag.longLo < 399;
  }
  if (len === 16 || len === 23) for (const k of CHANGING) if (equals(bytes, ks, ke, k)) return false;
  return true;
}

/** Whether key `i` of a list (start, end pairs in `keys`) repeats an earlier one. */
function repeatsKey(bytes: Buffer, keys: Int32Array, i: number): boolean {
  const s = keys[i * 2]!, e = keys[i * 2 + 1]!;
  const len = e - s;
  for (let j = 0; j < i; j++) {
    const t = keys[j * 2]!;
    if (keys[j * 2 + 1]! - t !== len) continue;
    let k = 0;
    while (k < len && bytes[s + k] === bytes[t + k]) k++;
    if (k === len) return true;
  }
  return false;
}

function isSpanKind(bytes: Buffer, start: number, end: number): boolean {
  if (end - start !== SPAN_KIND.length) return false;
  for (let i = 0; i < SPAN_KIND.length; i++) if (bytes[start + i] !== SPAN_KIND[i]) return false;
  return true;
}
