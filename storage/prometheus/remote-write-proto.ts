/**
 * Prometheus remote write 1.0 messages (`prometheus.WriteRequest` of prompb/remote.proto, with TimeSeries, Label and
 * Sample of prompb/types.proto), written and read by hand: the output sends one sample per series entry, so three
 * small messages is all it needs.
 *
 *   WriteRequest { repeated TimeSeries timeseries = 1; }
 *   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
 *   Label        { string name = 1; string value = 2; }
 *   Sample       { double value = 1; int64 timestamp = 2; }   // timestamp: milliseconds since the epoch
 *
 * A series is kept as its WriteRequest entry (field 1, length-delimited, the TimeSeries inside). Repeated fields of a
 * protobuf message concatenate, so entries joined end to end are a WriteRequest: a batch's body needs no encoding
 * when it is sent, only compressing (snappy, by the sink).
 *
 * The spec's rules on a series are kept here: labels sorted by name, `__name__` among them, no name twice, no empty
 * value (such a label is left out). Pure: no I/O; the readers never throw and return a reason instead.
 */

export interface SeriesSample {
  /** Label name → value, `__name__` among them; order does not matter (they are sorted). */
  labels: ReadonlyArray<readonly [string, string]>;
  value: number;
  timestampMs: number;
}

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const KEY_ENTRY = (1 << 3) | WIRE_LEN; // WriteRequest.timeseries, TimeSeries.labels, Label.name
const KEY_SAMPLES = (2 << 3) | WIRE_LEN; // TimeSeries.samples
const KEY_LABEL_VALUE = (2 << 3) | WIRE_LEN;
const KEY_SAMPLE_VALUE = (1 << 3) | WIRE_I64;
const KEY_SAMPLE_TIMESTAMP = (2 << 3) | WIRE_VARINT;

function varintBytes(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

/** An int64 as protobuf writes it: a negative one takes ten bytes (two's complement). */
function int64Bytes(v: number): number {
  return v < 0 ? 10 : varintBytes(v);
}

function writeVarint(buf: Buffer, at: number, v: number): number {
  while (v >= 0x80) {
    buf[at++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[at++] = v;
  return at;
}

function writeInt64(buf: Buffer, at: number, v: number): number {
  if (v >= 0) return writeVarint(buf, at, v);
  let u = BigInt.asUintN(64, BigInt(v));
  while (u >= 0x80n) {
    buf[at++] = Number(u & 0x7fn) | 0x80;
    u >>= 7n;
  }
  buf[at++] = Number(u);
  return at;
}

const byName = (a: readonly [string, string], b: readonly [string, string]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/**
 * One series with one sample, as a WriteRequest entry. Labels with an empty value are left out; of two with the same
 * name the first is kept. Timestamps are whole milliseconds (a fraction is dropped).
 */
export function encodeSeriesEntry(series: SeriesSample): Buffer {
  const sorted = [...series.labels].filter(([, value]) => value !== '').sort(byName);
  const labels: Array<{ name: Buffer; value: Buffer; size: number }> = [];
  for (let i = 0; i < sorted.length; i++) {
    if (i > 0 && sorted[i]![0] === sorted[i - 1]![0]) continue;
    const name = Buffer.from(sorted[i]![0], 'utf8');
    const value = Buffer.from(sorted[i]![1], 'utf8');
    labels.push({ name, value, size: 1 + varintBytes(name.length) + name.length + 1 + varintBytes(value.length) + value.length });
  }
  const timestampMs = Math.trunc(series.timestampMs);
  const sampleSize = 1 + 8 + 1 + int64Bytes(timestampMs);
  let seriesSize = 1 + varintBytes(sampleSize) + sampleSize;
  for (const l of labels) seriesSize += 1 + varintBytes(l.size) + l.size;

  const buf = Buffer.allocUnsafe(1 + varintBytes(seriesSize) + seriesSize);
  let at = 0;
  buf[at++] = KEY_ENTRY;
  at = writeVarint(buf, at, seriesSize);
  for (const l of labels) {
    buf[at++] = KEY_ENTRY;
    at = writeVarint(buf, at, l.size);
    buf[at++] = KEY_ENTRY;
    at = writeVarint(buf, at, l.name.length);
    at += l.name.copy(buf, at);
    buf[at++] = KEY_LABEL_VALUE;
    at = writeVarint(buf, at, l.value.length);
    at += l.value.copy(buf, at);
  }
  buf[at++] = KEY_SAMPLES;
  at = writeVarint(buf, at, sampleSize);
  buf[at++] = KEY_SAMPLE_VALUE;
  buf.writeDoubleLE(series.value, at);
  at += 8;
  buf[at++] = KEY_SAMPLE_TIMESTAMP;
  at = writeInt64(buf, at, timestampMs);
  return buf;
}

// ---- reading back (dead letters, cutting batches, checking frames) ----

type Read<T> = { ok: true; value: T; next: number } | { ok: false; reason: string };

function readVarint(buf: Buffer, at: number, end: number): Read<bigint> {
  let v = 0n;
  for (let shift = 0n; shift < 70n; shift += 7n) {
    if (at >= end) return { ok: false, reason: 'a varint runs past the end' };
    const b = buf[at++]!;
    v |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return { ok: true, value: v, next: at };
  }
  return { ok: false, reason: 'a varint longer than ten bytes' };
}

/** Where the WriteRequest entries of `body` end, one offset each; a reason when it is not a list of entries. */
export function entryEnds(body: Buffer): number[] | string {
  const ends: number[] = [];
  let at = 0;
  while (at < body.length) {
    if (body[at] !== KEY_ENTRY) return `byte ${at} does not start a series entry`;
    const len = readVarint(body, at + 1, body.length);
    if (!len.ok) return len.reason;
    const end = len.next + Number(len.value);
    if (end > body.length) return `the entry at byte ${at} runs past the end`;
    ends.push(end);
    at = end;
  }
  return ends;
}

export interface DecodedSeries {
  labels: Array<[string, string]>;
  samples: Array<{ value: number; timestampMs: number }>;
}

/** Skips a field of a wire type this reader does not take apart. */
function skipField(buf: Buffer, at: number, end: number, wire: number): Read<null> {
  if (wire === WIRE_VARINT) {
    const v = readVarint(buf, at, end);
    return v.ok ? { ok: true, value: null, next: v.next } : v;
  }
  if (wire === WIRE_I64) return at + 8 <= end ? { ok: true, value: null, next: at + 8 } : { ok: false, reason: 'a fixed64 runs past the end' };
  if (wire === 5) return at + 4 <= end ? { ok: true, value: null, next: at + 4 } : { ok: false, reason: 'a fixed32 runs past the end' };
  if (wire === WIRE_LEN) {
    const len = readVarint(buf, at, end);
    if (!len.ok) return len;
    const next = len.next + Number(len.value);
    return next <= end ? { ok: true, value: null, next } : { ok: false, reason: 'a field runs past the end' };
  }
  return { ok: false, reason: `wire type ${wire} is not read` };
}

/** The fields of a message between `start` and `end`: (field, wire type, where its value starts, where it ends). */
function fields(buf: Buffer, start: number, end: number, each: (field: number, wire: number, from: number, to: number) => void): string | undefined {
  let at = start;
  while (at < end) {
    const key = readVarint(buf, at, end);
    if (!key.ok) return key.reason;
    const field = Number(key.value >> 3n);
    const wire = Number(key.value & 7n);
    let from = key.next;
    if (wire === WIRE_LEN) {
      const len = readVarint(buf, from, end);
      if (!len.ok) return len.reason;
      from = len.next;
    }
    const skipped = skipField(buf, key.next, end, wire);
    if (!skipped.ok) return skipped.reason;
    each(field, wire, from, skipped.next);
    at = skipped.next;
  }
  return undefined;
}

/** The series of one WriteRequest entry (as `encodeSeriesEntry` writes it, or any TimeSeries). */
export function decodeSeriesEntry(entry: Buffer): DecodedSeries | string {
  if (entry[0] !== KEY_ENTRY) return 'not a series entry';
  const len = readVarint(entry, 1, entry.length);
  if (!len.ok) return len.reason;
  const end = len.next + Number(len.value);
  if (end > entry.length) return 'the entry runs past the end';
  const series: DecodedSeries = { labels: [], samples: [] };
  let problem: string | undefined;
  const outer = fields(entry, len.next, end, (field, wire, from, to) => {
    if (wire !== WIRE_LEN) return;
    if (field === 1) {
      let name = '';
      let value = '';
      problem ??= fields(entry, from, to, (f, w, a, b) => {
        if (w !== WIRE_LEN) return;
        if (f === 1) name = entry.toString('utf8', a, b);
        else if (f === 2) value = entry.toString('utf8', a, b);
      });
      series.labels.push([name, value]);
    } else if (field === 2) {
      let value = 0;
      let timestampMs = 0;
      problem ??= fields(entry, from, to, (f, w, a) => {
        if (f === 1 && w === WIRE_I64) value = entry.readDoubleLE(a);
        else if (f === 2 && w === WIRE_VARINT) {
          const t = readVarint(entry, a, to);
          if (t.ok) timestampMs = Number(BigInt.asIntN(64, t.value));
        }
      });
      series.samples.push({ value, timestampMs });
    }
  });
  return outer ?? problem ?? series;
}

/** `name{a="1"} value timestamp`, the series as a person reads it (Prometheus' text format): for dead letters. */
export function seriesText(series: DecodedSeries): string {
  const name = series.labels.find(([n]) => n === '__name__')?.[1] ?? '';
  const labels = series.labels.filter(([n]) => n !== '__name__')
    .map(([n, v]) => `${n}="${v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : '\\' + c))}"`);
  const text = labels.length === 0 ? name : `${name}{${labels.join(',')}}`;
  return series.samples.map((s) => `${text} ${s.value} ${s.timestampMs}`).join('\n');
}
