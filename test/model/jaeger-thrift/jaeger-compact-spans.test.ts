import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parentSpanId, type KeyValue, type Span } from '../../../model/span.js';
import { tagValueString } from '../../../storage/sqlite/span-codec.js';
import { spanKindOf } from '../../../model/span.js';
import { tagHash } from '../../../model/tag-hash.js';
import {
  FIRST_TAG, HAS_PARENT, ID_SLOTS, JaegerCompactWalker, KIND_END, KIND_START, KIND_TYPE, LOGS_AT, LOG_FIELDS_REPEATED, OP_END,
  OP_START, PARENT_ID, PLACE_SLOTS, SPAN_ID, STRUCT_END, STRUCT_START, TAGS_AT, TAGS_HASHED, TAG_END, TRACE_HIGH, TRACE_LOW,
  type JaegerCompactSpans,
} from '../../../model/jaeger-thrift/jaeger-compact-spans.js';
import { CompactSpanTags } from '../../../model/jaeger-thrift/jaeger-compact-tags.js';
import { decodeAgentEmitBatch, decodeJaegerSpans } from '../../../model/jaeger-thrift/jaeger-thrift.js';
import { hex64 } from '../../../model/jaeger-thrift/thrift-reader.js';
import { irregularBatch, mutate, seedBatch } from '../../collector/traces/support/jaeger-fuzz.js';
import { REF, encodeEmitBatch, type TBatch } from '../../collector/traces/support/thrift-writer.js';
import { seededRandom } from '../../helpers/seeded-random.js';

const LIMITS = { maxSpans: 1_000 };

/** The tags a span's index holds, as the model has them: its own tags, then its logs' fields. */
function modelTags(span: Span): Array<[string, string, boolean]> {
  const out: Array<[string, string, boolean]> = [];
  const add = (kvs: KeyValue[], own: boolean): void => {
    for (const kv of kvs) out.push([kv.key, tagValueString(kv), own]);
  };
  add(span.tags, true);
  for (const log of span.logs) add(log.fields, false);
  return out;
}

function wireTags(spans: JaegerCompactSpans, i: number): Array<[string, string, boolean]> {
  const out: Array<[string, string, boolean]> = [];
  const p = i * PLACE_SLOTS;
  new CompactSpanTags().walk(spans.bytes, spans.places[p + TAGS_AT]!, spans.places[p + LOGS_AT]!, spans.places[p + LOG_FIELDS_REPEATED] === 1, (t) => {
    out.push([t.key(), t.valueText(), t.spanTag]);
  });
  return out;
}

/**
 * The walk and the decoder agree on `bytes`: both refuse it for the same reason, or both read the same spans. What
 * the walk indexes (parent, times, name, tags, kind) is the decoded span's when the walk finds the datagram plain:
 * Jaeger's translation, which the decoder applies, then changes no more than tag order, flags and a reference
 * repeating the parent. Tags compare as sets for that reason.
 */
let hashed = 0;
let plain = 0;
let notPlain = 0;

const sorted = <T>(list: T[]): T[] => [...list].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0));

function agree(walker: JaegerCompactWalker, bytes: Buffer): boolean {
  const walked = walker.walk(bytes);
  const decoded = decodeAgentEmitBatch(bytes, 'compact', LIMITS);
  if (!decoded.ok) {
    assert.deepEqual(walked, decoded, 'refused alike, for the same reason');
    return false;
  }
  assert.ok(walked.ok, `the decoder read it, the walk refused it: ${walked.ok ? '' : walked.error}`);
  const w = walked.spans;
  assert.deepEqual(w.decode(), decoded.spans);
  if (!w.plain) {
    notPlain++;
    return true;
  }
  plain++;
  assert.equal(w.count, decoded.spans.length);
  decoded.spans.forEach((span, i) => {
    const ids = w.ids;
    const o = i * ID_SLOTS;
    const p = i * PLACE_SLOTS;
    assert.equal(hex64(ids[o + TRACE_HIGH]!, ids[o + TRACE_HIGH + 1]!) + hex64(ids[o + TRACE_LOW]!, ids[o + TRACE_LOW + 1]!), span.traceId);
    assert.equal(hex64(ids[o + SPAN_ID]!, ids[o + SPAN_ID + 1]!), span.spanId);
    assert.equal(ids[o + HAS_PARENT] === 1 ? hex64(ids[o + PARENT_ID]!, ids[o + PARENT_ID + 1]!) : undefined, parentSpanId(span), `span ${i}'s parent`);
    assert.equal(w.times[i * 2], span.startTimeMicros);
    assert.equal(w.times[i * 2 + 1], span.durationMicros);
    assert.equal(w.bytes.toString('utf8', w.places[p + OP_START], w.places[p + OP_END]), span.operationName);
    assert.deepEqual(sorted(wireTags(w, i)), sorted(modelTags(span)), `span ${i}'s tags`);
    if (w.places[p + TAGS_HASHED] === 1) {
      // The hashes the walk made are those of the tags that count, and the kind its first string span.kind.
      const hashes = Array.from(w.tagHashes.subarray(w.places[p + FIRST_TAG], w.places[p + TAG_END]));
      assert.deepEqual(hashes.sort(), modelTags(span).map(([key, value]) => tagHash(key, value)).sort(), `span ${i}'s tag hashes`);
      const kindType = w.places[p + KIND_TYPE]!;
      const kind = kindType === -1 ? '' : kindType === 0 ? w.bytes.toString('utf8', w.places[p + KIND_START], w.places[p + KIND_END]) : `Unknown VType: ${kindType}`;
      assert.equal(kind, spanKindOf(span), `span ${i}'s kind`);
      hashed++;
    }
    // The struct alone, as the store keeps it, reads back as the same span.
    assert.deepEqual(decodeJaegerSpans(w.bytes.subarray(w.places[p + STRUCT_START], w.places[p + STRUCT_END]), 'compact', span.process), [span]);
  });
  assert.deepEqual(w.process, decoded.spans[0]?.process ?? w.process);
  return true;
}

test('the walk reads regular and irregular datagrams as the decoder does: ids, parents, times, names, tags and the struct of each span', () => {
  const walker = new JaegerCompactWalker(LIMITS);
  const random = seededRandom(3);
  for (const batch of [seedBatch(random, 1), seedBatch(random, 12), plainBatch(random, 12), irregularBatch()]) {
    assert.ok(agree(walker, encodeEmitBatch(batch, 'compact')));
  }
  const irregular = walker.walk(encodeEmitBatch(irregularBatch(), 'compact'));
  assert.ok(irregular.ok);
  // The checks above compare with the decoder; these say what it decided, so a shared mistake would show.
  const [a, b, c, d] = irregular.spans.decode();
  assert.equal(irregular.spans.plain, false, 'Jaeger\'s translation changes these spans: the store writes them decoded');
  assert.deepEqual(a!.tags.map((t) => t.key), ['second', 'span.kind'], 'a repeated tags list: the last counts (the kind comes last)');
  assert.deepEqual(a!.logs[0]!.fields.map((t) => t.key), ['last'], 'a repeated log fields list: the last counts');
  assert.deepEqual(b!.tags[1], { key: 'odd', type: 'string', value: '<Unknown Jaeger TagType "<UNSET>">' });
  assert.deepEqual(b!.tags[2], { key: 'no value', type: 'float64', value: 0 });
  assert.deepEqual(b!.tags.at(-1), { key: 'span.kind', type: 'string', value: 'server' }, 'a repeated key: its last value');
  assert.equal(parentSpanId(c!), hex64(0, 77), 'the parent field, whatever the references list first');
  assert.equal(parentSpanId(d!), undefined, 'a reference into another trace, even the only one, is no parent in Jaeger 2.x');
});

test('random, truncated and mutated datagrams: the walk accepts exactly what the decoder accepts, with the same reasons', () => {
  const walker = new JaegerCompactWalker(LIMITS);
  const random = seededRandom(11);
  const seeds = [
    encodeEmitBatch(seedBatch(random, 6), 'compact'), encodeEmitBatch(irregularBatch(), 'compact'), encodeEmitBatch(plainBatch(random, 6), 'compact'),
  ];
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < 6_000; i++) {
    if (agree(walker, mutate(random, seeds[i % seeds.length]!))) accepted++;
    else refused++;
  }
  for (const seed of seeds) for (let n = 0; n < seed.length; n++) assert.equal(agree(walker, seed.subarray(0, n)), false);
  // Both outcomes are exercised: damage that keeps a datagram readable (a changed value) and damage that does not.
  assert.ok(accepted > 100 && refused > 1_000, `${accepted} accepted, ${refused} refused`);
  assert.ok(hashed > 300, `${hashed} spans' hashes compared (${plain} plain datagrams, ${notPlain} not)`);
});

/** A seed batch Jaeger's translation leaves as the walk indexes it (durations above zero, references only to the parent). */
function plainBatch(random: () => number, n: number): TBatch {
  const batch = seedBatch(random, n);
  for (const span of batch.spans) {
    span.duration += 1n;
    span.references = span.parentSpanId === 0n ? [] : [{ refType: REF.CHILD_OF, traceIdLow: span.traceIdLow, traceIdHigh: span.traceIdHigh, spanId: span.parentSpanId }];
  }
  return batch;
}

test('a batch over the span limit is refused whole, as by the decoder', () => {
  const walker = new JaegerCompactWalker({ maxSpans: 3 });
  const walked = walker.walk(encodeEmitBatch(seedBatch(seededRandom(5), 4), 'compact'));
  assert.deepEqual(walked, { ok: false, reason: 'too_many_spans', error: 'batch of 4 spans exceeds the limit of 3' });
});

test('a process sent again in later datagrams is read once: the same object while its bytes are the same, read anew when they differ', () => {
  const walker = new JaegerCompactWalker(LIMITS);
  const random = seededRandom(17);
  const first = seedBatch(random, 2);
  const again = { ...seedBatch(random, 3), process: first.process };
  const other = { ...seedBatch(random, 1), process: { ...first.process, serviceName: 'fuzz-2' } };
  const walk = (batch: typeof first): JaegerCompactSpans => {
    const bytes = encodeEmitBatch(batch, 'compact');
    assert.ok(agree(walker, bytes));
    const walked = walker.walk(bytes);
    assert.ok(walked.ok);
    return walked.spans;
  };
  const a = walk(first);
  const b = walk(again);
  const c = walk(other);
  assert.equal(b.process, a.process, 'the same process struct: the object decoded from the first datagram');
  assert.notEqual(c.process, a.process);
  assert.equal(c.process.serviceName, 'fuzz-2');
  assert.equal(walk(again).process, a.process, 'remembered past a different process');
  // Cut inside the process struct of a datagram whose process is remembered: refused, as the decoder refuses it.
  const bytes = encodeEmitBatch(again, 'compact');
  const at = bytes.indexOf(Buffer.from('fuzz'));
  assert.equal(agree(walker, bytes.subarray(0, at + 2)), false);
});
