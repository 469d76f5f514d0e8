/**
 * Records the parity goldens from the real Jaeger 2.x: starts it on memory storage (jaeger-memory.yaml), sends every
 * input over every protocol, asks every question and writes each answer, as Jaeger gave it, to
 * test/fixtures/jaeger-parity/golden/, with manifest.json naming the Jaeger version, the date, the configuration,
 * the command, the base time of the inputs and the questions.
 *
 *   SHIPWATCH_TEST_JAEGER_BIN=$(bash test/jaeger-parity/build-jaeger.sh) npm run test:jaeger-parity:record
 *
 * Run by hand when the inputs or questions change; not part of `npm test`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { sendAll, traceIds } from './inputs.js';
import { GOLDEN_DIR, ask, goldenFile, questions, type Golden, type Manifest, type Question } from './parity.js';

const CONFIG = 'test/jaeger-parity/jaeger-memory.yaml';
const QUERY = 'http://127.0.0.1:44086';
const JAEGER_MODULE = 'github.com/jaegertracing/jaeger';

/** The module version the binary was built from, as Go recorded it in the binary. */
function jaegerVersion(bin: string): string {
  const r = spawnSync('go', ['version', '-m', bin], { encoding: 'utf8' });
  const line = (r.stdout ?? '').split('\n').find((l) => l.trim().split(/\s+/)[1] === JAEGER_MODULE);
  return line?.trim().split(/\s+/)[2] ?? 'unknown (go version -m did not say)';
}

/**
 * The order Jaeger is asked in. Its memory store hands the trace it holds to the v3 adjusters, which change it in
 * place (duplicates dropped, warnings added, each span's events sorted by name), and keeps what they did:
 * - raw questions first, while the store still holds what was sent;
 * - then every v1 question, before any v3 adjusted one: v1 answers a copy, adjusted by v1's adjusters (which sort
 *   tags and log fields, not the logs), so a v1 answer after a v3 adjusted one would show its logs in the event
 *   order the v3 adjusters left, not in the order sent;
 * - then the rest. The manifest lists the questions in the order asked.
 */
function askingOrder(qs: Question[]): Question[] {
  const raw = (q: Question): boolean => /raw/.test(q.id) && !q.id.startsWith('error.');
  const v1 = (q: Question): boolean => !raw(q) && !q.id.startsWith('v3.') && !q.id.startsWith('error.v3.');
  return [...qs.filter(raw), ...qs.filter(v1), ...qs.filter((q) => !raw(q) && !v1(q))];
}

async function waitUntil(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await ok().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${what}`);
    await sleep(200);
  }
}

async function main(): Promise<void> {
  const bin = process.env['SHIPWATCH_TEST_JAEGER_BIN'];
  if (!bin) throw new Error('set SHIPWATCH_TEST_JAEGER_BIN to the Jaeger 2.x binary (bash test/jaeger-parity/build-jaeger.sh builds it)');
  const root = fileURLToPath(new URL('../..', import.meta.url));
  // Jaeger traces itself to an OTLP endpoint on localhost:4317 unless told not to.
  const env = { ...process.env, OTEL_TRACES_EXPORTER: 'none', OTEL_SDK_DISABLED: 'true' };
  const jaeger = spawn(bin, ['--config', CONFIG], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  jaeger.stderr.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-20_000); });
  const exited = new Promise<void>((resolve) => jaeger.once('exit', () => resolve()));
  try {
    await waitUntil('Jaeger to answer /api/services', 30_000, async () => (await fetch(`${QUERY}/api/services`)).ok);

    // A minute ago, on a whole second: recent enough for every default window, and easy to read in the goldens.
    const baseUs = BigInt(Math.floor(Date.now() / 1000) - 60) * 1_000_000n;
    const intake = await sendAll({ otlpHttp: 'http://127.0.0.1:44018', zipkin: 'http://127.0.0.1:44011', jaegerHttp: 'http://127.0.0.1:44068', jaegerCompactUdp: 44031 }, baseUs);
    // Every trace sent, or those Jaeger does not store: their answers are goldens too.
    const deadline = Date.now() + 15_000;
    for (const { traceId } of traceIds()) {
      await waitUntil(`trace ${traceId} in Jaeger`, Math.max(0, deadline - Date.now()), async () => (await fetch(`${QUERY}/api/traces/${traceId}?raw=true`)).ok)
        .catch(() => process.stderr.write(`Jaeger does not return trace ${traceId}\n`));
    }
    for (const s of intake) if (s.status >= 300) process.stderr.write(`Jaeger answered ${s.status} to ${s.protocol} ${s.what}\n`);
    // The batch processor flushes every 200 ms: the repeated requests' copies land after the first.
    await sleep(2000);

    const services = ((await (await fetch(`${QUERY}/api/services`)).json()) as { data: string[] }).data;
    const qs = askingOrder(questions(services));
    mkdirSync(GOLDEN_DIR, { recursive: true });
    for (const f of readdirSync(GOLDEN_DIR)) if (f.endsWith('.json')) rmSync(`${GOLDEN_DIR}${f}`);
    for (const q of qs) {
      const answer = await ask(QUERY, q, baseUs);
      const golden: Golden = { id: q.id, path: q.path, ...answer };
      writeFileSync(goldenFile(q.id), `${JSON.stringify(golden, null, 1)}\n`);
    }
    const manifest: Manifest = {
      jaeger: { module: `${JAEGER_MODULE}/cmd/jaeger`, version: jaegerVersion(bin), binary: 'built by test/jaeger-parity/build-jaeger.sh (go build from the Go module proxy)' },
      recordedAt: new Date().toISOString(),
      config: CONFIG,
      command: 'SHIPWATCH_TEST_JAEGER_BIN=$(bash test/jaeger-parity/build-jaeger.sh) npm run test:jaeger-parity:record',
      baseUs: String(baseUs),
      intake,
      questions: qs,
    };
    writeFileSync(`${GOLDEN_DIR}manifest.json`, `${JSON.stringify(manifest, null, 1)}\n`);
    process.stdout.write(`recorded ${qs.length} answers of Jaeger ${manifest.jaeger.version} to ${GOLDEN_DIR}\n`);
  } catch (err) {
    process.stderr.write(`Jaeger's last log lines:\n${log.split('\n').slice(-30).join('\n')}\n`);
    throw err;
  } finally {
    jaeger.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (jaeger.exitCode === null) jaeger.kill('SIGKILL');
  }
}

await main();
