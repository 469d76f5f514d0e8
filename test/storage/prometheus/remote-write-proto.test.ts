/**
 * The remote write messages and frames, read back by protobufjs from prompb's own definitions (an encoder checked
 * only by its own decoder would prove nothing), the series the output makes of points, named as /metrics names
 * them, and how the sink classifies answers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { compressSync, uncompressSync } from 'snappy';
import { seriesOfPoints } from '../../../collector/metrics/remote-write-output.js';
import { PrometheusSeries } from '../../../collector/metrics/prometheus-series.js';
import { bool, float, int, makePoint, str, uint } from '../../../model/metric-point.js';
import { Registry } from '../../../platform/self-metrics.js';
import { cutSeries, encodeSeriesFrame, readSeriesFrame, seriesEntries, seriesFrames } from '../../../storage/prometheus/remote-write-frames.js';
import { decodeSeriesEntry, encodeSeriesEntry, entryEnds, seriesText } from '../../../storage/prometheus/remote-write-proto.js';
import { RemoteWriteAnswer, RemoteWriteSink } from '../../../storage/prometheus/remote-write-sink.js';
import { swError } from '../../../platform/errors.js';

// prompb/types.proto and remote.proto, the messages remote write 1.0 uses.
const root = protobuf.parse(`
syntax = "proto3";
package prometheus;
message WriteRequest { repeated TimeSeries timeseries = 1; reserved 2; repeated MetricMetadata metadata = 3; }
message MetricMetadata { int32 type = 1; string metric_family_name = 2; string help = 4; string unit = 5; }
message Sample { double value = 1; int64 timestamp = 2; }
message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
message Label { string name = 1; string value = 2; }
`).root;
const WriteRequest = root.lookupType('prometheus.WriteRequest');

interface Decoded { timeseries: Array<{ labels: Array<{ name: string; value: string }>; samples: Array<{ value: number; timestamp: string }> }> }

function decode(body: Buffer): Decoded {
  return WriteRequest.toObject(WriteRequest.decode(body), { longs: String, defaults: true }) as unknown as Decoded;
}

test('a series entry is a WriteRequest protobufjs reads: labels sorted by name, __name__ among them, one sample in milliseconds', () => {
  const entry = encodeSeriesEntry({ labels: [['zone', 'eu'], ['__name__', 'up_value'], ['host', 'h-1'], ['empty', '']], value: 0.25, timestampMs: 1_700_000_000_123 });
  assert.deepEqual(decode(entry), {
    metadata: [],
    timeseries: [{
      labels: [{ name: '__name__', value: 'up_value' }, { name: 'host', value: 'h-1' }, { name: 'zone', value: 'eu' }],
      samples: [{ value: 0.25, timestamp: '1700000000123' }],
    }],
  });
});

test('entries joined end to end are one WriteRequest of every series, in order; odd values survive', () => {
  const values = [0, -0, -1.5, 1e300, Number.NaN, Infinity, 2 ** 53 + 2];
  const entries = values.map((value, i) => encodeSeriesEntry({ labels: [['__name__', `m_${i}`], ['k', 'é✓ "q"\n']], value, timestampMs: i === 0 ? 0 : -5 + i * 1000 }));
  const req = decode(Buffer.concat(entries));
  assert.deepEqual(req.timeseries.map((t) => t.labels[0]!.value), values.map((_, i) => `m_${i}`));
  assert.deepEqual(req.timeseries.map((t) => t.samples[0]!.timestamp), values.map((_, i) => String(i === 0 ? 0 : -5 + i * 1000)));
  req.timeseries.forEach((t, i) => assert.ok(Object.is(t.samples[0]!.value, values[i]) || (Number.isNaN(values[i]!) && Number.isNaN(t.samples[0]!.value)), `value ${i}`));
  assert.equal(req.timeseries[1]!.labels[1]!.value, 'é✓ "q"\n');
  // A negative timestamp (before 1970) takes the ten-byte varint protobuf gives an int64.
  const early = encodeSeriesEntry({ labels: [['__name__', 'x']], value: 1, timestampMs: -1 });
  assert.equal(decode(early).timeseries[0]!.samples[0]!.timestamp, '-1');
});

test('the reader takes back what protobufjs writes, for dead letters in Prometheus text', () => {
  const written = Buffer.from(WriteRequest.encode(WriteRequest.fromObject({
    timeseries: [{ labels: [{ name: '__name__', value: 'disk_used' }, { name: 'path', value: '/var "x"' }], samples: [{ value: 42, timestamp: 1234 }] }],
  })).finish());
  assert.deepEqual(entryEnds(written), [written.length]);
  const decoded = decodeSeriesEntry(written);
  assert.notEqual(typeof decoded, 'string');
  assert.equal(seriesText(decoded as Exclude<typeof decoded, string>), 'disk_used{path="/var \\"x\\""} 42 1234');
  assert.match(entryEnds(Buffer.from([0x12, 0x00])) as string, /does not start a series entry/);
  assert.match(entryEnds(Buffer.from([0x0a, 0x09, 0x00])) as string, /runs past the end/);
});

test('a frame of entries reads back whole; cut short, damaged or miscounted frames are told apart', () => {
  const entries = [1, 2, 3].map((v) => encodeSeriesEntry({ labels: [['__name__', 'm'], ['i', String(v)]], value: v, timestampMs: v }));
  const frame = Buffer.concat(encodeSeriesFrame(entries));
  const read = readSeriesFrame(frame, 0);
  assert.equal(read.kind, 'frame');
  if (read.kind !== 'frame') return;
  assert.equal(read.value.series, 3);
  assert.equal(read.size, frame.length);
  assert.deepEqual(read.value.body, Buffer.concat(entries));
  assert.deepEqual(readSeriesFrame(frame.subarray(0, frame.length - 1), 0), { kind: 'short', size: frame.length });
  const damaged = Buffer.from(frame);
  damaged[20] ^= 0xff;
  assert.deepEqual(readSeriesFrame(damaged, 0), { kind: 'damaged', reason: 'checksum mismatch' });
  const miscounted = Buffer.from(frame);
  miscounted.writeUInt32LE(2, 4);
  assert.deepEqual(readSeriesFrame(miscounted, 0), { kind: 'damaged', reason: '3 series where the header says 2' });

  const [head, tail] = cutSeries(read.value, 1);
  assert.deepEqual([head.series, tail.series], [1, 2]);
  assert.deepEqual(decode(tail.body).timeseries.map((t) => t.samples[0]!.value), [2, 3]);
  assert.deepEqual(seriesEntries(read.value).map((e) => e.length), entries.map((e) => e.length));
  const joined = seriesFrames.join([head, tail]);
  assert.deepEqual(joined, read.value);
  // Snappy block format both ways, as the sink sends it and a receiver reads it.
  assert.deepEqual(uncompressSync(compressSync(joined.body)), joined.body);
});

test('points become series named as /metrics names them: one per numeric field, strings left out, booleans 1 and 0', () => {
  const timeNs = 1_700_000_000_123_456_789n;
  const points = [
    makePoint('docker_container_cpu', { container_name: 'web', 'com.docker.stack': 'shop', '2nd': 'x' }, [
      ['usage_percent', float(12.5)], ['throttling_periods', int(3)], ['big', uint(18_446_744_073_709_551_615n)], ['ok', bool(true)], ['note', str('hi')],
    ], timeNs),
    makePoint('only.strings', { a: 'b' }, [['s', str('x')]], timeNs),
  ];
  const req = decode(Buffer.concat(seriesOfPoints(points)));
  const got = req.timeseries.map((t) => ({ labels: Object.fromEntries(t.labels.map((l) => [l.name, l.value])), value: t.samples[0]!.value, ts: t.samples[0]!.timestamp }));
  const labels = { _2nd: 'x', com_docker_stack: 'shop', container_name: 'web' };
  assert.deepEqual(got, [
    { labels: { __name__: 'docker_container_cpu_usage_percent', ...labels }, value: 12.5, ts: '1700000000123' },
    { labels: { __name__: 'docker_container_cpu_throttling_periods', ...labels }, value: 3, ts: '1700000000123' },
    { labels: { __name__: 'docker_container_cpu_big', ...labels }, value: 18_446_744_073_709_551_615, ts: '1700000000123' },
    { labels: { __name__: 'docker_container_cpu_ok', ...labels }, value: 1, ts: '1700000000123' },
  ]);
  // The same names and labels as the exposition on /metrics.
  const exposition = new PrometheusSeries({ stalenessMs: 60_000, maxSeries: 100, registry: new Registry() });
  exposition.write(points);
  const exposed = exposition.render().split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.slice(0, l.lastIndexOf(' ')));
  void exposition.close();
  const sent = req.timeseries.map((t) => {
    const name = t.labels.find((l) => l.name === '__name__')!.value;
    const rest = t.labels.filter((l) => l.name !== '__name__').map((l) => `${l.name}="${l.value}"`);
    return `${name}{${rest.join(',')}}`;
  });
  assert.deepEqual(sent, exposed);
});

test('the sink classifies as the remote write specification asks: 5xx and 429 retried (with Retry-After), other 4xx never, no answer retried', () => {
  const sink = new RemoteWriteSink({ name: 'rw', url: 'http://user:secret@127.0.0.1:9/api/v1/write', timeoutMs: 1_000 });
  const answered = (status: number, retryAfterMs?: number): Error => swError('SW_OUTPUT_FAILED', `answered ${status}`, new RemoteWriteAnswer(status, 'x', retryAfterMs));
  assert.deepEqual(sink.classify(answered(503)), { retry: true });
  assert.deepEqual(sink.classify(answered(500)), { retry: true });
  assert.deepEqual(sink.classify(answered(429, 7_000)), { retry: true, retryAfterMs: 7_000 });
  for (const status of [400, 401, 403, 404, 413]) assert.deepEqual(sink.classify(answered(status)), { retry: false }, String(status));
  assert.deepEqual(sink.classify(new Error('connect ECONNREFUSED')), { retry: true });
  // Dead letters name the URL without its credentials.
  const [letter] = sink.deadLetters({ body: encodeSeriesEntry({ labels: [['__name__', 'm']], value: 1, timestampMs: 2 }), series: 1 }, 'why');
  assert.deepEqual(letter, { index: 'http://127.0.0.1:9/api/v1/write', id: '', status: 0, reason: 'why', record: 'm 1 2' });
  sink.destroy();
});
