/**
 * OTLP `AnyValue` → Jaeger tag, as Jaeger's write path does it (opentelemetry-collector-contrib
 * `pkg/translator/jaeger`, `attributeToJaegerProtoTag`): string, bool, int64, double and bytes keep their type;
 * arrays and key/value lists become a string holding their JSON, written the way Go's `encoding/json` writes
 * `pcommon.Value.AsString()` (map keys sorted, `<>&` escaped, bytes as base64, empty as null); a value with no
 * variant set becomes an empty string tag (its OTLP form `{}` kept in `any`, as arrays' and maps' are).
 *
 * The input is the OTLP/JSON shape (`{stringValue}`, `{intValue: "12"}`, …) or what `otlp-protobuf.ts` decodes
 * into the same shape (`intValue` as number | bigint, `bytesValue` as Uint8Array). Pure, never throws: a value that
 * is not an AnyValue yields an error string.
 */
import type { KeyValue } from '../../../../model/span.js';

/** An `AnyValue` as OTLP/JSON writes it or as the protobuf decoder builds it. */
export interface AnyValueIn {
  stringValue?: unknown;
  boolValue?: unknown;
  intValue?: unknown;
  doubleValue?: unknown;
  arrayValue?: unknown;
  kvlistValue?: unknown;
  bytesValue?: unknown;
}

/** A raw attribute value: what pcommon's `AsRaw()` would hold. */
type Raw = string | boolean | number | bigint | Uint8Array | null | Raw[] | RawMap;
interface RawMap {
  readonly map: Map<string, Raw>;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DECIMAL = /^-?\d+$/;

/** An int64 from a JSON string/number or a decoded number/bigint; a number while safe, else a bigint. */
export function toInt64(v: unknown): number | bigint | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : Number.isInteger(v) ? clampBig(BigInt(v)) : undefined;
  if (typeof v === 'bigint') return clampBig(v);
  if (typeof v === 'string') {
    if (!DECIMAL.test(v)) return undefined;
    if (v.length < 16) return Number(v);
    return clampBig(BigInt(v));
  }
  return undefined;
}

function clampBig(b: bigint): number | bigint | undefined {
  if (b < INT64_MIN || b > INT64_MAX) return undefined;
  const n = Number(b);
  return Number.isSafeInteger(n) ? n : b;
}

/** A double from a JSON number or proto3-JSON string form ("NaN", "Infinity", "-Infinity", "1.5"). */
export function toDouble(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    const n = Number(v);
    return v.trim() !== '' && !Number.isNaN(n) ? n : undefined;
  }
  return undefined;
}

/** Bytes from a base64 JSON string or a decoded Uint8Array. */
export function toBytes(v: unknown): Uint8Array | undefined {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') {
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(v)) return undefined;
    return new Uint8Array(Buffer.from(v, 'base64'));
  }
  return undefined;
}

/** Converts one attribute to a tag, or returns the reason it is not an AnyValue. */
/**
 * The OTLP form of a value with no variant set (pcommon's empty value): Jaeger's v1 model has an empty string tag of
 * it, its API v3 returns `{}`. Shared, never changed.
 */
const EMPTY_ANY: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

export function attributeToTag(key: string, value: unknown): KeyValue | string {
  if (value === undefined || value === null) return { key, type: 'string', value: '', any: EMPTY_ANY };
  if (typeof value !== 'object') return `attribute "${key}" is not an AnyValue`;
  const v = value as AnyValueIn;
  if (v.stringValue !== undefined) {
    return typeof v.stringValue === 'string' ? { key, type: 'string', value: v.stringValue } : `attribute "${key}": stringValue is not a string`;
  }
  if (v.intValue !== undefined) {
    const n = toInt64(v.intValue);
    return n === undefined ? `attribute "${key}": intValue is not an int64` : { key, type: 'int64', value: n };
  }
  if (v.boolValue !== undefined) {
    return typeof v.boolValue === 'boolean' ? { key, type: 'bool', value: v.boolValue } : `attribute "${key}": boolValue is not a boolean`;
  }
  if (v.doubleValue !== undefined) {
    const d = toDouble(v.doubleValue);
    return d === undefined ? `attribute "${key}": doubleValue is not a number` : { key, type: 'float64', value: d };
  }
  if (v.bytesValue !== undefined) {
    const b = toBytes(v.bytesValue);
    return b === undefined ? `attribute "${key}": bytesValue is not base64` : { key, type: 'binary', value: b };
  }
  if (v.arrayValue !== undefined || v.kvlistValue !== undefined) {
    const raw = toRaw(v, 0);
    if (typeof raw === 'string' && raw.startsWith('\u0000')) return `attribute "${key}": ${raw.slice(1)}`;
    return { key, type: 'string', value: goJson(raw as Raw) ?? '', any: otlpJsonValue(v, 0) };
  }
  // An AnyValue with no variant set: pcommon's empty value, which Jaeger writes as an empty string tag.
  return { key, type: 'string', value: '', any: EMPTY_ANY };
}

const MAX_DEPTH = 64;

/**
 * An AnyValue (already checked by `toRaw`) in OTLP/JSON's canonical form, as Jaeger's API v3 writes it back: int64 as
 * decimal strings, bytes as base64, an empty array or map without `values`, map entries in the order sent
 * (duplicate keys kept, as pcommon keeps them).
 */
function otlpJsonValue(value: unknown, depth: number): Record<string, unknown> {
  if (value === undefined || value === null || typeof value !== 'object' || depth > MAX_DEPTH) return {};
  const v = value as AnyValueIn;
  if (v.stringValue !== undefined) return { stringValue: v.stringValue };
  if (v.intValue !== undefined) return { intValue: String(toInt64(v.intValue)) };
  if (v.boolValue !== undefined) return { boolValue: v.boolValue };
  if (v.doubleValue !== undefined) {
    const d = toDouble(v.doubleValue)!;
    return { doubleValue: Number.isFinite(d) ? d : String(d) };
  }
  if (v.bytesValue !== undefined) {
    const b = toBytes(v.bytesValue)!;
    return { bytesValue: Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64') };
  }
  if (v.arrayValue !== undefined) {
    const values = ((v.arrayValue as { values?: unknown[] } | null)?.values ?? []).map((item) => otlpJsonValue(item, depth + 1));
    return { arrayValue: values.length > 0 ? { values } : {} };
  }
  if (v.kvlistValue !== undefined) {
    const entries = (v.kvlistValue as { values?: Array<{ key: string; value?: unknown }> } | null)?.values ?? [];
    const values = entries.map((kv) => ({ key: kv.key, value: otlpJsonValue(kv.value, depth + 1) }));
    return { kvlistValue: values.length > 0 ? { values } : {} };
  }
  return {};
}

/** AnyValue → raw value; a string starting with NUL carries an error (keeps the hot path free of exceptions). */
function toRaw(value: unknown, depth: number): Raw | string {
  if (depth > MAX_DEPTH) return '\u0000nested too deeply';
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object') return '\u0000not an AnyValue';
  const v = value as AnyValueIn;
  if (v.stringValue !== undefined) return typeof v.stringValue === 'string' ? v.stringValue : '\u0000stringValue is not a string';
  if (v.intValue !== undefined) return toInt64(v.intValue) ?? '\u0000intValue is not an int64';
  if (v.boolValue !== undefined) return typeof v.boolValue === 'boolean' ? v.boolValue : '\u0000boolValue is not a boolean';
  if (v.doubleValue !== undefined) {
    const d = toDouble(v.doubleValue);
    return d === undefined ? '\u0000doubleValue is not a number' : d;
  }
  if (v.bytesValue !== undefined) return toBytes(v.bytesValue) ?? '\u0000bytesValue is not base64';
  if (v.arrayValue !== undefined) {
    const values = (v.arrayValue as { values?: unknown } | null)?.values ?? [];
    if (!Array.isArray(values)) return '\u0000arrayValue.values is not an array';
    const out: Raw[] = [];
    for (const item of values) {
      const r = toRaw(item, depth + 1);
      if (typeof r === 'string' && r.startsWith('\u0000')) return r;
      out.push(r as Raw);
    }
    return out;
  }
  if (v.kvlistValue !== undefined) {
    const values = (v.kvlistValue as { values?: unknown } | null)?.values ?? [];
    if (!Array.isArray(values)) return '\u0000kvlistValue.values is not an array';
    const map = new Map<string, Raw>();
    for (const kv of values) {
      const k = (kv as { key?: unknown } | null)?.key;
      if (typeof k !== 'string') return '\u0000kvlistValue entry without a string key';
      const r = toRaw((kv as { value?: unknown }).value, depth + 1);
      if (typeof r === 'string' && r.startsWith('\u0000')) return r;
      map.set(k, r as Raw); // the last of duplicate keys wins, as in pcommon's AsRaw()
    }
    return { map };
  }
  return null;
}

// ---- Go encoding/json, as json.Marshal writes a value (HTML escaping on) ----

/** Go's `json.Marshal` of a raw value; undefined where Go fails (NaN or ±Inf anywhere), which AsString makes ''. */
export function goJson(raw: Raw): string | undefined {
  const parts: string[] = [];
  return writeGo(raw, parts) ? parts.join('') : undefined;
}

function writeGo(raw: Raw, out: string[]): boolean {
  if (raw === null) {
    out.push('null');
    return true;
  }
  switch (typeof raw) {
    case 'string':
      out.push(goString(raw));
      return true;
    case 'boolean':
      out.push(raw ? 'true' : 'false');
      return true;
    case 'bigint':
      out.push(raw.toString());
      return true;
    case 'number':
      if (!Number.isFinite(raw)) return false;
      out.push(goFloat(raw));
      return true;
  }
  if (raw instanceof Uint8Array) {
    out.push(`"${Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64')}"`);
    return true;
  }
  if (Array.isArray(raw)) {
    out.push('[');
    for (let i = 0; i < raw.length; i++) {
      if (i > 0) out.push(',');
      if (!writeGo(raw[i]!, out)) return false;
    }
    out.push(']');
    return true;
  }
  const keys = [...(raw as RawMap).map.keys()].sort(compareUtf8);
  out.push('{');
  for (let i = 0; i < keys.length; i++) {
    if (i > 0) out.push(',');
    out.push(goString(keys[i]!), ':');
    if (!writeGo((raw as RawMap).map.get(keys[i]!)!, out)) return false;
  }
  out.push('}');
  return true;
}

/** Go sorts map keys by their UTF-8 bytes, which is code point order (JS's `<` compares UTF-16 units). */
function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/** Ints print as integers; other doubles as Go's strconv 'f' / 'e' shortest form, which matches JS's between 1e-6 and 1e21. */
function goFloat(x: number): string {
  if (Object.is(x, -0)) return '-0';
  const s = String(x);
  // JS writes "1e+21" and "1e-7" exactly as Go's cleaned-up exponent form does.
  return s;
}

const HEX = '0123456789abcdef';

/** A Go JSON string: `<`, `>`, `&`, U+2028, U+2029 escaped; control characters as \n \r \t \b \f or \u00XX; lone surrogates as U+FFFD. */
export function goString(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c < 0x20) {
      esc = c === 10 ? '\\n' : c === 13 ? '\\r' : c === 9 ? '\\t' : c === 8 ? '\\b' : c === 12 ? '\\f' : `\\u00${HEX[c >> 4]}${HEX[c & 15]}`;
    } else if (c === 0x22) esc = '\\"';
    else if (c === 0x5c) esc = '\\\\';
    else if (c === 0x3c) esc = '\\u003c';
    else if (c === 0x3e) esc = '\\u003e';
    else if (c === 0x26) esc = '\\u0026';
    else if (c === 0x2028) esc = '\\u2028';
    else if (c === 0x2029) esc = '\\u2029';
    else if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      esc = '\ufffd';
    }
    if (esc !== undefined) {
      out += s.slice(start, i) + esc;
      start = i + 1;
    }
  }
  return out + s.slice(start) + '"';
}
