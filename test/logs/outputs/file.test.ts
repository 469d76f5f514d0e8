import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileSink } from '../../../logs/outputs/file.js';
import { makeLogEvents } from '../../helpers/log-events.js';

test('the file output writes each record as a line in the file of its target and day, in order, multi-byte text unchanged', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-file-output-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sink = new FileSink({ dir });
  const day1 = Date.UTC(2024, 0, 1, 23, 59, 59);
  const day2 = Date.UTC(2024, 0, 2, 0, 0, 1);
  // One batch mixing two targets and two days, interleaved; then a second batch appended behind it.
  const a1 = makeLogEvents(200, { target: 'app', timestampMs: day1, extra: (i) => ({ n: i, note: 'Grüße 東京 🚀' }) });
  const b1 = makeLogEvents(50, { target: 'web', timestampMs: day1, extra: (i) => ({ n: i }) });
  const a2 = makeLogEvents(70, { target: 'app', timestampMs: day2, extra: (i) => ({ n: i }) });
  const batch = [...a1.slice(0, 100), ...b1, ...a2.slice(0, 35), ...a1.slice(100), ...a2.slice(35)];
  await sink.write(batch);
  const later = makeLogEvents(10, { target: 'app', timestampMs: day1, extra: (i) => ({ n: 1000 + i }) });
  await sink.write(later);
  await sink.write([]);
  await sink.close();
  assert.deepEqual(readdirSync(dir).sort(), ['app-2024.01.01.ndjson', 'app-2024.01.02.ndjson', 'web-2024.01.01.ndjson']);
  const lines = (name: string): string => readFileSync(join(dir, name), 'utf8');
  assert.equal(lines('app-2024.01.01.ndjson'), [...a1, ...later].map((e) => e.json + '\n').join(''));
  assert.equal(lines('app-2024.01.02.ndjson'), a2.map((e) => e.json + '\n').join(''));
  assert.equal(lines('web-2024.01.01.ndjson'), b1.map((e) => e.json + '\n').join(''));
  await assert.rejects(sink.write(later), /closed/);
});
