/**
 * Acceptance: a real container logging through Docker's syslog driver (`--log-driver syslog --log-opt
 * syslog-address=udp://127.0.0.1:<port>`, then tcp://, then tcp+tls:// in RFC 5424 with octet counting) into a
 * real pilot process; every one of 10,000 lines arrives in the file output once, with the container's tag.
 * The engine's syslog driver dials from the daemon's network namespace: 127.0.0.1 is this host's loopback.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { docker, removeContainer, TEST_LABEL, waitFor } from '../../helpers/docker.js';
import { metricSum } from '../../helpers/prometheus-text.js';
import { PilotDirs, PilotProcess, type PilotRecord } from '../pilot-process.js';

const skip = process.env.SHIPWATCH_TEST_DOCKER_SOCKET && process.env.SHIPWATCH_TEST_IMAGE
  ? false
  : 'SHIPWATCH_TEST_DOCKER_SOCKET and SHIPWATCH_TEST_IMAGE not set: run through the test runner (test/run.ts starts the Docker engine)';

const N = 10_000;

/** Starts a pilot with a syslog receiver on a port the system picks; the port, from its start-up summary. */
async function pilotWithSyslog(t: TestContext, env: Record<string, string> = {}): Promise<{ pilot: PilotProcess; dirs: PilotDirs; port: number }> {
  const dirs = new PilotDirs(t);
  const pilot = await PilotProcess.start(t, dirs, { PILOT_SYSLOG_LISTEN: '127.0.0.1:0', PILOT_SYSLOG_TARGET: 'containers-syslog', ...env });
  const port = await waitFor(() => {
    for (const l of pilot.stderr) {
      const m = /syslog (?:udp\+tcp|tls) 127\.0\.0\.1:(\d+)/.exec(l);
      if (m) return Number(m[1]);
    }
    return undefined;
  }, { what: 'the syslog port in the summary' });
  return { pilot, dirs, port };
}

/** Runs busybox printing `line 1` … `line N` through the syslog driver; resolves once it exited. */
async function runLogging(t: TestContext, logOpts: Record<string, string>): Promise<{ id: string; tag: string }> {
  const tag = `sw-syslog-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const created = await docker().createContainer({
    name: tag,
    Image: process.env.SHIPWATCH_TEST_IMAGE!,
    Cmd: ['sh', '-c', `i=1; while [ $i -le ${N} ]; do echo "line $i"; i=$((i+1)); done`],
    Labels: { [TEST_LABEL]: String(process.pid) },
    HostConfig: { LogConfig: { Type: 'syslog', Config: { tag, ...logOpts } } },
  });
  t.after(() => removeContainer(created.id));
  await created.start();
  await created.wait();
  return { id: created.id, tag };
}

/** The records of the file output whose tag is `tag`, once every line 1..N is there; asserts each came once. */
async function everyLine(dirs: PilotDirs, tag: string, started: number): Promise<{ records: PilotRecord[]; seconds: number }> {
  const records = await waitFor(() => {
    const r = dirs.records().filter((x) => x.syslog_app_name === tag);
    return r.length >= N && r;
  }, { what: `${N} records tagged ${tag}`, timeoutMs: 60_000, intervalMs: 250 });
  const seconds = (performance.now() - started) / 1000;
  const seen = new Uint8Array(N + 1);
  for (const r of records) {
    const k = Number(/^line (\d+)$/.exec(String(r.message))?.[1]);
    assert.ok(k >= 1 && k <= N, `unexpected message ${JSON.stringify(r.message)}`);
    seen[k]!++;
  }
  assert.equal(records.length, N, 'no line twice');
  assert.ok(seen.subarray(1).every((c) => c === 1), 'every line once');
  return { records, seconds };
}

test('10,000 lines through Docker\'s syslog driver over UDP all arrive, with the container\'s tag', { skip }, async (t) => {
  const { pilot, dirs, port } = await pilotWithSyslog(t);
  const started = performance.now();
  const { tag } = await runLogging(t, { 'syslog-address': `udp://127.0.0.1:${port}` });
  const { records, seconds } = await everyLine(dirs, tag, started);
  const r = records[0]!;
  // Docker's default format: RFC 3164 without a hostname, the tag and the daemon's pid.
  assert.deepEqual([r.source, r.target, r.syslog_transport, r.syslog_format, r.syslog_facility, r.syslog_severity, r.parse_error],
    ['syslog', 'containers-syslog', 'udp', 'rfc3164', 'daemon', 'info', undefined]);
  assert.match(String(r.syslog_procid), /^\d+$/);
  const metrics = await pilot.metrics();
  const dropped = metricSum(metrics, 'shipwatch_pilot_syslog_dropped_total');
  t.diagnostic(`udp: ${N} lines in ${seconds.toFixed(1)} s, dropped ${dropped}`);
  assert.equal(dropped, 0);
  assert.deepEqual(await pilot.terminate(), { code: 0, signal: null });
});

test('10,000 lines through Docker\'s syslog driver over TCP (rfc3164 format, newline framing) all arrive', { skip }, async (t) => {
  const { pilot, dirs, port } = await pilotWithSyslog(t);
  const started = performance.now();
  const { tag } = await runLogging(t, { 'syslog-address': `tcp://127.0.0.1:${port}`, 'syslog-format': 'rfc3164' });
  const { records, seconds } = await everyLine(dirs, tag, started);
  t.diagnostic(`tcp: ${N} lines in ${seconds.toFixed(1)} s`);
  const r = records[0]!;
  assert.deepEqual([r.syslog_transport, r.syslog_format, r.parse_error], ['tcp', 'rfc3164', undefined]);
  assert.equal(typeof r.syslog_hostname, 'string');
  assert.deepEqual(await pilot.terminate(), { code: 0, signal: null });
});

const tlsSkip = skip || (spawnSync('openssl', ['version']).status === 0 ? false : 'openssl is not installed (it makes the test certificate)');

test('10,000 lines over TLS in RFC 5424 (octet counting, RFC 5425) all arrive, tag as APP-NAME and MSGID', { skip: tlsSkip }, async (t) => {
  const dir = new PilotDirs(t).dataDir;
  const cert = `${dir}/cert.pem`;
  const key = `${dir}/key.pem`;
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const { pilot, dirs, port } = await pilotWithSyslog(t, { PILOT_SYSLOG_TLS_CERT: cert, PILOT_SYSLOG_TLS_KEY: key });
  const started = performance.now();
  const { tag } = await runLogging(t, {
    'syslog-address': `tcp+tls://127.0.0.1:${port}`, 'syslog-format': 'rfc5424micro', 'syslog-tls-skip-verify': 'true',
  });
  const { records, seconds } = await everyLine(dirs, tag, started);
  t.diagnostic(`tls: ${N} lines in ${seconds.toFixed(1)} s`);
  const r = records[0]!;
  assert.deepEqual([r.syslog_transport, r.syslog_format, r.syslog_msgid, r.parse_error], ['tls', 'rfc5424', tag, undefined]);
  assert.match(String(r.syslog_timestamp), /\.\d{6}/);
  assert.deepEqual(await pilot.terminate(), { code: 0, signal: null });
});
