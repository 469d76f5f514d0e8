import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { createEngineClient } from '../../platform/engine/docker-client.js';
import { DockerLogAssembler, decodeDockerJsonLine, engineTimeMs, jsonFileLineLimit, type AssembledLine, type DockerLogEntry } from '../../pilot/docker-json-log.js';
import { LineSplitter } from '../../pilot/line-splitter.js';
import { docker } from '../helpers/docker.js';

const IMAGE = process.env.SHIPWATCH_TEST_IMAGE ?? 'shipwatch-test/busybox:latest';

function entry(raw: string): DockerLogEntry {
  const e = decodeDockerJsonLine(raw);
  assert.ok(typeof e !== 'string', String(e));
  return e;
}

test('an engine time with nanoseconds becomes milliseconds, UTC', () => {
  assert.equal(engineTimeMs('2026-03-01T12:34:56.123456789Z'), Date.UTC(2026, 2, 1, 12, 34, 56, 123));
  assert.equal(engineTimeMs('2026-03-01T12:34:56.1Z'), Date.UTC(2026, 2, 1, 12, 34, 56, 100));
  assert.equal(engineTimeMs('2026-03-01T12:34:56Z'), Date.UTC(2026, 2, 1, 12, 34, 56));
  assert.equal(engineTimeMs('2026-03-01T12:35:00.5Z'), Date.UTC(2026, 2, 1, 12, 35, 0, 500));
  assert.ok(Number.isNaN(engineTimeMs('yesterday')));
  assert.ok(Number.isNaN(engineTimeMs('2026-03-01T12:34:5xZ')));
});

test('a json-file entry gives its line without the newline, its stream and time', () => {
  assert.deepEqual(entry('{"log":"hello\\r\\n","stream":"stderr","time":"2026-03-01T00:00:00.000000001Z"}'), {
    text: 'hello', stream: 'stderr', timeMs: Date.UTC(2026, 2, 1), partial: false,
  });
  assert.equal(entry('{"log":"cut here","stream":"stdout","time":"2026-03-01T00:00:00Z"}').partial, true);
});

test('a line that is not a json-file entry is a failure reason, not an exception', () => {
  assert.match(String(decodeDockerJsonLine('{"log":')), /not a json-file log entry/);
  assert.match(String(decodeDockerJsonLine('[1,2]')), /no "log" text/);
  assert.match(String(decodeDockerJsonLine('null')), /no "log" text/);
});

test('partial entries are joined per stream; an interleaved stream holds back the resume offset', () => {
  const a = new DockerLogAssembler(1024);
  const t = '"time":"2026-03-01T00:00:00Z"';
  assert.equal(a.push(entry(`{"log":"aa",${t},"stream":"stdout"}`), 0, 10), null);
  const err = a.push(entry(`{"log":"E\\n",${t},"stream":"stderr"}`), 10, 20);
  assert.deepEqual(err && [err.text, err.endOffset, err.resumeOffset], ['E', 20, 0]);
  const out = a.push(entry(`{"log":"bb\\n",${t},"stream":"stdout"}`), 20, 30);
  assert.deepEqual(out && [out.text, out.endOffset, out.resumeOffset, out.truncated], ['aabb', 30, 30, false]);
});

test('reassembly is bounded: past the limit the line is cut, marked, and the rest skipped', () => {
  const a = new DockerLogAssembler(10);
  const t = '"time":"2026-03-01T00:00:00Z","stream":"stdout"';
  assert.equal(a.push(entry(`{"log":"123456",${t}}`), 0, 1), null);
  assert.equal(a.push(entry(`{"log":"789€€",${t}}`), 1, 2), null);
  const out = a.push(entry(`{"log":"tail\\n",${t}}`), 2, 3);
  assert.deepEqual(out && [out.text, out.truncated], ['123456789', true]);
  const single = a.push(entry(`{"log":"${'x'.repeat(20)}\\n",${t}}`), 3, 4);
  assert.deepEqual(single && [single.text, single.truncated], ['x'.repeat(10), true]);
});

test('end() hands out lines still waiting for a continuation, each with its own offset', () => {
  const a = new DockerLogAssembler(100);
  const t = '"time":"2026-03-01T00:00:00Z"';
  a.push(entry(`{"log":"o",${t},"stream":"stdout"}`), 0, 5);
  a.push(entry(`{"log":"e",${t},"stream":"stderr"}`), 5, 9);
  assert.deepEqual(a.end().map((l) => [l.text, l.stream, l.endOffset]), [['o', 'stdout', 5], ['e', 'stderr', 9]]);
  assert.deepEqual(a.end(), []);
});

test("a real container's json-file log: a 40 KiB line comes back whole, CRLF and stderr as written", async () => {
  const engine = createEngineClient('');
  const c = await docker().createContainer({
    Image: IMAGE,
    Cmd: ['sh', '-c', 'head -c 40000 /dev/zero | tr "\\0" a; echo; printf "crlf\\r\\n"; echo oops >&2; printf "\\303\\251t\\303\\251\\n"'],
    Labels: { 'shipwatch.test': 'docker-json-log' },
    HostConfig: { LogConfig: { Type: 'json-file', Config: {} } },
  });
  try {
    await c.start();
    await c.wait();
    const info = await c.inspect();
    const raw = await readFile(info.LogPath);
    const splitter = new LineSplitter();
    const assembler = new DockerLogAssembler(1024 * 1024);
    const lines: AssembledLine[] = [];
    let entries = 0;
    let start = 0;
    splitter.push(raw, (text, end) => {
      entries++;
      const e = decodeDockerJsonLine(text);
      assert.ok(typeof e !== 'string', String(e));
      const line = assembler.push(e, start, end);
      start = end;
      if (line) lines.push(line);
    });
    assert.ok(entries >= 5, `the engine split the long line into ${entries - 3} entries`);
    const byStream = (s: string): string[] => lines.filter((l) => l.stream === s).map((l) => l.text);
    assert.deepEqual(byStream('stdout'), ['a'.repeat(40000), 'crlf', 'été']);
    assert.deepEqual(byStream('stderr'), ['oops']);
    assert.equal(lines[lines.length - 1]!.endOffset, raw.length);
    const started = Date.parse(info.State.StartedAt);
    for (const l of lines) assert.ok(Math.abs(l.timeMs - started) < 60_000, `time ${l.timeMs} near ${started}`);
  } finally {
    await c.remove({ force: true });
  }
});

test('the splitter limit for json-file logs never cuts an entry of 16 KiB of escaped output', () => {
  const worst = JSON.stringify({ log: '\u0001'.repeat(16 * 1024), stream: 'stdout', time: '2026-03-01T00:00:00.000000000Z' });
  assert.ok(Buffer.byteLength(worst) <= jsonFileLineLimit(1024));
  assert.equal(jsonFileLineLimit(8 * 1024 * 1024), 8 * 1024 * 1024);
});
