import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { ConsoleSink } from '../../../logs/outputs/console.js';
import { makeLogEvents } from '../../helpers/log-events.js';

test('the console output writes each record as one line, multi-byte text unchanged, and is acknowledged once written', async () => {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  const sink = new ConsoleSink(stream);
  const events = makeLogEvents(300, { target: 'app', timestampMs: Date.UTC(2024, 0, 1), extra: (i) => ({ note: i % 2 === 0 ? 'Grüße 東京 🚀' : 'plain' }) });
  await sink.write(events);
  await sink.write([]);
  const text = Buffer.concat(chunks).toString('utf8');
  assert.equal(text, events.map((e) => e.json + '\n').join(''));
  assert.equal((JSON.parse(text.split('\n')[0]!) as { note: string }).note, 'Grüße 東京 🚀');
  await sink.close();
  await assert.rejects(sink.write(events), /closed/);
});
