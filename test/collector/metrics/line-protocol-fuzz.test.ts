/**
 * Broken and unusual bodies: the parser never throws, and what it remembers between lines and between bodies
 * (series, field shapes, timestamps, interned tokens) never changes what a line gives.
 */
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseLineProtocol, type ParseResult } from '../../../collector/metrics/line-protocol-parser.js';
import { seededRandom } from '../../helpers/seeded-random.js';

const CORPUS_FILE = new URL('../../fixtures/line-protocol/corpus.json', import.meta.url);

/** Lines agents write, and every line of the conformance corpus (good and bad), as bytes. */
function seedLines(): Buffer[] {
  const corpus = JSON.parse(readFileSync(CORPUS_FILE, 'utf8')) as { decode: Record<string, { input: { text: string | { binary: string } } }> };
  const fromCorpus = Object.values(corpus.decode).map(({ input: { text } }) => (typeof text === 'string' ? Buffer.from(text) : Buffer.from(text.binary, 'base64')));
  const agent = [
    'cpu,cpu=cpu0,host=web-000.eu-west-1.internal,region=eu-west-1,zone=eu-west-1a usage_user=12.34,usage_system=3.21,usage_idle=80.12,usage_iowait=1.23,usage_steal=0 1700000000000000000',
    'mem,host=web-000.eu-west-1.internal total=16729870336i,available=1234567i,used_percent=12.345678,free=4i 1700000000000000000',
    'disk,device=nvme0n1p1,fstype=ext4,host=web-000,mode=rw,path=/ total=520987402240i,used_percent=3.4567,inodes_used=123u 1700000000000000000',
    'system,host=web-001 load1=0.5,load5=1.25,n_cpus=4i,uptime=1234i,label="a b",up=true 1700000010000000000',
  ].map((line) => Buffer.from(line));
  return [...agent, ...agent, ...agent, ...fromCorpus];
}

/** Characters that matter to the grammar, and bytes that are not UTF-8. */
const PIECES = [' ', ',', '=', '\\', '"', '\n', '\r\n', '\t', '0', '9', 'i', 'u', '.', 'e', '-', 't', 'f', '#', '\u00e9', '\u{1f600}', '\u0000', '12345678901234567890'].map((p) => Buffer.from(p));

function mutate(random: () => number, line: Buffer): Buffer {
  const bytes = [...line];
  const at = (): number => Math.floor(random() * (bytes.length + 1));
  for (let k = Math.floor(random() * 4); k > 0; k--) {
    const r = random();
    if (r < 0.35) bytes.splice(at(), 0, ...PIECES[Math.floor(random() * PIECES.length)]!);
    else if (r < 0.6) bytes.splice(at(), 1);
    else if (r < 0.9) bytes.splice(at(), 1, ...PIECES[Math.floor(random() * PIECES.length)]!);
    else bytes.splice(at(), 0, Math.floor(random() * 256));
  }
  return Buffer.from(bytes);
}

/** A result as plain data (-0 told apart from 0), to compare whole. */
function plain(r: ParseResult): { points: unknown[]; failures: unknown[] } {
  return {
    points: r.points.map((p) => ({ ...p, fieldTypes: [...p.fieldTypes], fieldValues: p.fieldValues.map((v) => (Object.is(v, -0) ? '-0' : v)) })),
    failures: r.failures,
  };
}

test('broken bodies are parsed without throwing, and give the same result whatever was parsed before them', () => {
  const random = seededRandom(20261122);
  const seeds = seedLines();
  const options = { defaultTimeNs: 1_700_000_000_123_456_789n };
  let points = 0;
  let failures = 0;
  for (let round = 0; round < 1500; round++) {
    const lines = Array.from({ length: 1 + Math.floor(random() * 10) }, () => {
      const line = seeds[Math.floor(random() * seeds.length)]!;
      return random() < 0.6 ? mutate(random, line) : line;
    });
    const body = Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')]));
    const other = Buffer.concat([...lines].reverse().map((line) => mutate(random, Buffer.concat([line, Buffer.from('\n')]))));
    const first = plain(parseLineProtocol(body, options));
    parseLineProtocol(other, options);
    assert.deepStrictEqual(plain(parseLineProtocol(body, options)), first, `after another body: ${JSON.stringify(body.toString('latin1'))}`);
    // Valid UTF-8 given as text reads as the bytes do.
    if (isUtf8(body)) assert.deepStrictEqual(plain(parseLineProtocol(body.toString('utf8'), options)), first);
    const r = parseLineProtocol(body, options);
    points += r.points.length;
    failures += r.failures.length;
  }
  // Both outcomes were exercised.
  assert.ok(points > 300, `${points} points`);
  assert.ok(failures > 1000, `${failures} failures`);
});

test('a body of lines gives the points its lines give one by one', () => {
  // Without quotes, no value spans lines, so every line stands alone.
  const random = seededRandom(7);
  const seeds = seedLines().filter((line) => !line.includes('"'));
  const options = { defaultTimeNs: 1_700_000_000_123_456_789n };
  for (let round = 0; round < 1500; round++) {
    const lines = Array.from({ length: 1 + Math.floor(random() * 10) }, () => {
      const line = seeds[Math.floor(random() * seeds.length)]!;
      return (random() < 0.5 ? mutate(random, line) : line).toString('utf8').replace(/["\r\n]/g, '');
    });
    const whole = parseLineProtocol(lines.join('\n'), options);
    const alone = lines.map((line) => parseLineProtocol(line, options));
    assert.deepStrictEqual(plain(whole).points, alone.flatMap((r) => plain(r).points), JSON.stringify(lines));
    // The same lines fail (where and why may differ when a line alone ends the input).
    assert.deepStrictEqual(
      whole.failures.map((f) => f.line),
      alone.flatMap((r, i) => r.failures.map(() => i + 1)),
      JSON.stringify(lines),
    );
  }
});

test('a body of lines without a space takes time in proportion to its size', () => {
  // Each line is bad (no fields). Searching the rest of the body for a space on every line made this quadratic:
  // 2 MB of such lines took 1.1 s, 6 MB 19.5 s.
  const line = 'no_space_in_this_line,at=all\n';
  const lines = Math.ceil(6_000_000 / line.length);
  // CPU time, not wall time: on a loaded machine the wall clock also counts the wait for a core.
  const started = process.cpuUsage();
  const r = parseLineProtocol(Buffer.from(line.repeat(lines)));
  const spent = process.cpuUsage(started);
  const ms = (spent.user + spent.system) / 1000;
  assert.equal(r.points.length, 0);
  assert.equal(r.failures.length, lines);
  assert.equal(r.failures.at(-1)!.line, lines);
  assert.ok(ms < 4_000, `${ms} ms of CPU`);
});
