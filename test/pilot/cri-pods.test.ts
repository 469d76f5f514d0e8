/**
 * The pilot on a CRI node: a pods folder laid out as kubelet and containerd write it (partial P entries, stderr
 * between stdout pieces, kubelet's rotation by rename then gzip, a restarted container's `1.log`, the links under
 * /var/log/containers), written while the pilot runs and while it is killed. No container runtime is needed: on a
 * containerd node these are plain files, and the pilot reads nothing else.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { createServer } from 'node:http';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { waitFor } from '../helpers/wait.js';
import { PilotDirs, PilotProcess, type PilotRecord } from './pilot-process.js';

const UID = '6f1c2e0b-1111-4222-8333-444455556666';
const ID0 = 'a0'.repeat(32);
const ID1 = 'b1'.repeat(32);
const BASE_MS = Date.UTC(2026, 11, 7, 9, 0, 0);
/** containerd's default max_container_log_line_size. */
const CUT = 16 * 1024;

class PodsFolder {
  readonly root = mkdtempSync(join(tmpdir(), 'sw-cri-pods-'));
  readonly pods = join(this.root, 'pods');
  readonly containers = join(this.root, 'containers');
  readonly dir = join(this.pods, `shop_web-7c9d_${UID}`, 'app');

  constructor() {
    mkdirSync(this.dir, { recursive: true });
    mkdirSync(this.containers, { recursive: true });
  }

  path(restart: number): string {
    return join(this.dir, `${restart}.log`);
  }

  /** containerd creating a run's log and kubelet linking it. */
  startRun(restart: number, id: string): void {
    writeFileSync(this.path(restart), '');
    symlinkSync(this.path(restart), join(this.containers, `web-7c9d_shop_app-${id}.log`));
  }

  /** Line `k` on stdout (every 7th one 40 KiB long, written in 16 KiB P pieces) and, every 5th, `e k` on stderr between. */
  write(file: string, from: number, to: number): void {
    let out = '';
    for (let k = from; k <= to; k++) {
      const time = new Date(BASE_MS + k).toISOString().replace('Z', '123456Z');
      const text = messageOf(k);
      for (let i = 0; i + CUT < Buffer.byteLength(text); i += CUT) {
        out += `${time} stdout P ${text.slice(i, i + CUT)}\n`;
        if (i === 0 && k % 5 === 0) out += `${time} stderr F e ${k}\n`;
      }
      const last = text.slice(Math.floor((text.length - 1) / CUT) * CUT);
      out += `${time} stdout F ${last}\n`;
      if (k % 5 === 0 && text.length <= CUT) out += `${time} stderr F e ${k}\n`;
    }
    appendFileSync(file, out);
  }

  /** Kubelet's rotation: rename (the runtime still writes `extra` to the renamed file until it reopens), a new file. */
  rotate(restart: number, stamp: string, extra: [number, number]): string {
    const rotated = `${this.path(restart)}.${stamp}`;
    renameSync(this.path(restart), rotated);
    this.write(rotated, ...extra);
    writeFileSync(this.path(restart), '');
    return rotated;
  }

  /** Kubelet compressing a rotated file at its next rotation. */
  compress(rotated: string): void {
    writeFileSync(`${rotated}.gz`, gzipSync(readFileSync(rotated)));
    unlinkSync(rotated);
  }
}

function messageOf(k: number): string {
  return k % 7 === 0 ? `l ${k} ` + 'x'.repeat(40 * 1024) : `l ${k}`;
}

function tally(messages: string[], prefix: string, numbers: number[]): { missing: number[]; duplicates: number } {
  const seen = new Map<number, number>();
  for (const m of messages) if (m.startsWith(prefix)) seen.set(Number(m.slice(prefix.length).split(' ')[0]), (seen.get(Number(m.slice(prefix.length).split(' ')[0])) ?? 0) + 1);
  const missing = numbers.filter((k) => !seen.has(k));
  let duplicates = 0;
  for (const n of seen.values()) duplicates += n - 1;
  return { missing: missing.slice(0, 10), duplicates };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const fives = (to: number): number[] => range(1, to).filter((k) => k % 5 === 0);

function storeRecords(dataDir: string): PilotRecord[] {
  const db = new Database(join(dataDir, 'shipwatch.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("SELECT record FROM logs WHERE target = 'k8s'").pluck().all() as string[]).map((r) => JSON.parse(r) as PilotRecord);
  } catch (err) {
    if (/no such table|unable to open/.test(String(err))) return [];
    throw err;
  } finally {
    db.close();
  }
}

test('a pods folder written as kubelet and containerd write it: every line once, joined, with its pod metadata, through rotation, gzip, a container restart and a SIGKILL', async (t) => {
  const pods = new PodsFolder();
  t.after(() => rmSync(pods.root, { recursive: true, force: true }));
  const dirs = new PilotDirs(t);
  const env = {
    LOGGING_OUTPUT: 'file,store', PILOT_RUNTIME: 'cri', PILOT_HOST_ROOT: '/', PILOT_CRI_LOG_ROOT: pods.pods,
    PILOT_CRI_CONTAINERS_DIR: pods.containers, PILOT_KUBE_PODS_URL: 'off', PILOT_CRI_DEFAULT_LOG: 'k8s', NODE_NAME: 'node-a',
  };
  const messages = (): string[] => dirs.records().map((r) => String(r.message));
  const waitAll = (to: number, what: string): Promise<unknown> => waitFor(() => {
    const m = messages();
    return tally(m, 'l ', range(1, to)).missing.length === 0 && tally(m, 'e ', fives(to)).missing.length === 0;
  }, { what, timeoutMs: 30_000, intervalMs: 200 });

  pods.startRun(0, ID0);
  pods.write(pods.path(0), 1, 100);
  appendFileSync(pods.path(0), [
    'garbage without a header',
    '2026-12-07T09:00:00.5Z stdcrap F bad stream',
    '2026-12-07T09:00:00.5Z stdout X bad tag',
    'yesterday stdout F bad time',
    '',
  ].join('\n'));
  const first = await PilotProcess.start(t, dirs, env);
  assert.ok(first.stderr.some((l) => l.includes('cri ' + pods.pods)), 'the start banner names the pods folder');

  pods.write(pods.path(0), 101, 200);
  await waitAll(200, 'lines 1-200');
  const rotated = pods.rotate(0, '20261207-090100', [201, 220]);
  pods.write(pods.path(0), 221, 300);
  await waitAll(300, 'lines 1-300 across the rotation');
  pods.compress(rotated);
  pods.write(pods.path(0), 301, 400);
  // The container restarts: its last lines in 0.log, the next run in 1.log.
  pods.startRun(1, ID1);
  pods.write(pods.path(1), 401, 500);
  await waitAll(500, 'lines 1-500 of both runs');
  await waitFor(() => first.logs('container read to the end').length === 1, { what: 'the first run read to its end and let go' });
  assert.match(await first.metrics(), /^shipwatch_pilot_cri_undecodable_total\{program="pilot"\} 4$/m, 'the malformed lines are counted');
  await new Promise((r) => setTimeout(r, 600)); // positions saved (PILOT_POSITIONS_FLUSH_INTERVAL 200ms)
  await first.kill();

  // While the pilot is down: more lines, and a rotation of the running container's log.
  pods.write(pods.path(1), 501, 600);
  const rotated1 = pods.rotate(1, '20261207-090200', [601, 620]);
  pods.write(pods.path(1), 621, 700);
  const second = await PilotProcess.start(t, dirs, env);
  await waitAll(700, 'lines 1-700 after the restart');
  await new Promise((r) => setTimeout(r, 1000)); // anything read twice would show now
  pods.compress(rotated1);
  assert.deepEqual(await second.terminate(), { code: 0, signal: null });

  const records = dirs.records();
  assert.deepEqual(tally(records.map((r) => String(r.message)), 'l ', range(1, 700)), { missing: [], duplicates: 0 }, 'stdout lines in the file output');
  assert.deepEqual(tally(records.map((r) => String(r.message)), 'e ', fives(700)), { missing: [], duplicates: 0 }, 'stderr lines in the file output');
  const stored = storeRecords(dirs.dataDir);
  assert.deepEqual(tally(stored.map((r) => String(r.message)), 'l ', range(1, 700)), { missing: [], duplicates: 0 }, 'stdout lines in the store');

  for (const r of records.filter((x) => /^[le] \d+/.test(String(x.message)))) {
    const k = Number(String(r.message).split(' ')[1]);
    const restart = k <= 400 ? '0' : '1';
    assert.deepEqual(
      [r.k8s_pod, r.k8s_pod_namespace, r.k8s_container_name, r.k8s_pod_uid, r.k8s_container_restart, r.docker_container_id, r.k8s_node_name, r.source, r.target],
      ['web-7c9d', 'shop', 'app', UID, restart, restart === '0' ? ID0 : ID1, 'node-a', 'stdout', 'k8s'], String(r.message).slice(0, 20),
    );
    assert.equal(r.docker_container, `k8s_app_web-7c9d_shop_${UID}_${restart}`);
    assert.equal(r['@timestamp'], new Date(BASE_MS + k).toISOString());
    assert.equal(r.stream, String(r.message).startsWith('e ') ? 'stderr' : 'stdout');
    assert.equal(r.parse_error, undefined);
    if (String(r.message).startsWith('l ')) assert.equal(r.message, messageOf(k), `line ${k} joined from its P pieces`);
  }

  // Malformed entries: kept whole as the message, the reason in parse_error, once each.
  const bad = records.filter((r) => r.parse_error !== undefined);
  assert.deepEqual(bad.map((r) => r.message).sort(), [
    '2026-12-07T09:00:00.5Z stdcrap F bad stream', '2026-12-07T09:00:00.5Z stdout X bad tag', 'garbage without a header', 'yesterday stdout F bad time',
  ]);
  for (const r of bad) {
    assert.match(String(r.parse_error), /^not a CRI log entry: /);
    assert.equal(r.k8s_pod, 'web-7c9d');
  }
});

test('a run that ended before the pilot started is not read again from its start; a pod list that cannot be read leaves the default declaration', async (t) => {
  const pods = new PodsFolder();
  t.after(() => rmSync(pods.root, { recursive: true, force: true }));
  const dirs = new PilotDirs(t);
  pods.startRun(0, ID0);
  pods.write(pods.path(0), 1, 10);
  pods.startRun(1, ID1);
  pods.write(pods.path(1), 11, 20);
  const pilot = await PilotProcess.start(t, dirs, {
    LOGGING_OUTPUT: 'file', PILOT_RUNTIME: 'cri', PILOT_HOST_ROOT: '/', PILOT_CRI_LOG_ROOT: pods.pods,
    PILOT_CRI_CONTAINERS_DIR: pods.containers, PILOT_KUBE_PODS_URL: 'http://127.0.0.1:1/pods', PILOT_CRI_DEFAULT_LOG: 'k8s',
  });
  await waitFor(() => tally(dirs.records().map((r) => String(r.message)), 'l ', range(11, 20)).missing.length === 0, { what: 'the running container\'s lines' });
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(tally(dirs.records().map((r) => String(r.message)), 'l ', range(1, 10)).missing.length, 10, 'the ended run is history from before the pilot looked');
  assert.ok(pilot.logs('pod list unavailable; containers get PILOT_CRI_DEFAULT_LOG').length >= 1);
  const health = await pilot.health();
  assert.match(JSON.stringify(health.body), /127\.0\.0\.1:1/);
  assert.deepEqual(await pilot.terminate(), { code: 0, signal: null });
});

// No Kubernetes cluster exists where the tests run: a local HTTP server answers the pod list as a kubelet's /pods
// does (the real v1.PodList shape), and checks the service account token the pilot sends.
test('declarations come from the pod list: annotations and labels of a pod, the literal env of a container; a pod that declares nothing is not collected; a new pod is asked about at once', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'sw-cri-api-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const podsDir = join(root, 'pods');
  const tokenFile = join(root, 'token');
  writeFileSync(tokenFile, 'sa-token\n');
  const pod = (name: string, uid: string, meta: Record<string, unknown>, containers: unknown[]): unknown => ({
    metadata: { name, namespace: 'shop', uid, ...meta }, spec: { nodeName: 'node-a', containers }, status: { phase: 'Running' },
  });
  const items: unknown[] = [
    pod('web', 'uid-web', { annotations: { 'aliyun.logs.access': 'stdout', 'aliyun.logs.access.format': 'json' }, labels: { 'aliyun.logs.access.tags': 'team=shop' } }, [{ name: 'nginx' }]),
    pod('batch', 'uid-batch', {}, [{ name: 'job', env: [{ name: 'aliyun_logs_jobs', value: 'stdout' }, { name: 'aliyun_logs_jobs_target', value: 'batch-jobs' }] }]),
    pod('quiet', 'uid-quiet', { labels: { app: 'quiet' } }, [{ name: 'main' }]),
  ];
  const tokens: Array<string | undefined> = [];
  const server = createServer((req, res) => {
    tokens.push(req.headers.authorization);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const write = (dir: string, lines: string[]): void => {
    mkdirSync(join(podsDir, dir), { recursive: true });
    appendFileSync(join(podsDir, dir, '0.log'), lines.map((l, i) => `${new Date(BASE_MS + i).toISOString()} stdout F ${l}\n`).join(''));
  };
  write('shop_web_uid-web/nginx', ['{"path":"/a","status":200}', '{"path":"/b","status":404}']);
  write('shop_batch_uid-batch/job', ['job one', 'job two']);
  write('shop_quiet_uid-quiet/main', ['not collected']);

  const dirs = new PilotDirs(t);
  const pilot = await PilotProcess.start(t, dirs, {
    LOGGING_OUTPUT: 'file', PILOT_RUNTIME: 'cri', PILOT_HOST_ROOT: '/', PILOT_CRI_LOG_ROOT: podsDir, PILOT_CRI_CONTAINERS_DIR: join(root, 'containers'),
    PILOT_KUBE_PODS_URL: `http://127.0.0.1:${(server.address() as { port: number }).port}/pods`, PILOT_KUBE_TOKEN_FILE: tokenFile, PILOT_CRI_DEFAULT_LOG: 'k8s',
  });
  await waitFor(() => dirs.records().length >= 4, { what: 'the declared containers\' records' });
  // A pod started after the last list: its folder appears first, the list is read again for it.
  items.push(pod('late', 'uid-late', { annotations: { 'aliyun.logs.late': 'stdout' } }, [{ name: 'c' }]));
  write('shop_late_uid-late/c', ['late line']);
  await waitFor(() => dirs.records().some((r) => r.message === 'late line'), { what: 'the new pod\'s line', timeoutMs: 15_000 });
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(await pilot.terminate(), { code: 0, signal: null });

  const records = dirs.records();
  const access = records.filter((r) => r.target === 'access');
  assert.deepEqual(access.map((r) => [r.path, r.status, r.team, r.k8s_pod, r.k8s_container_name]), [['/a', 200, 'shop', 'web', 'nginx'], ['/b', 404, 'shop', 'web', 'nginx']]);
  assert.deepEqual(records.filter((r) => r.target === 'batch-jobs').map((r) => [r.message, r.k8s_pod]), [['job one', 'batch'], ['job two', 'batch']]);
  assert.deepEqual(records.filter((r) => r.target === 'late').map((r) => r.message), ['late line']);
  assert.equal(records.length, 5, 'the pod that declares nothing is not collected, though PILOT_CRI_DEFAULT_LOG is set');
  assert.ok(tokens.length >= 2 && tokens.every((a) => a === 'Bearer sa-token'), `the token is sent at each read: ${JSON.stringify(tokens)}`);
});

test('down across two of kubelet\'s rotations: the file compressed meanwhile is read on from its saved position, the one made and rotated meanwhile from its start', async (t) => {
  const pods = new PodsFolder();
  t.after(() => rmSync(pods.root, { recursive: true, force: true }));
  const dirs = new PilotDirs(t);
  const env = {
    LOGGING_OUTPUT: 'file', PILOT_RUNTIME: 'cri', PILOT_HOST_ROOT: '/', PILOT_CRI_LOG_ROOT: pods.pods,
    PILOT_CRI_CONTAINERS_DIR: pods.containers, PILOT_KUBE_PODS_URL: 'off', PILOT_CRI_DEFAULT_LOG: 'k8s',
  };
  const messages = (): string[] => dirs.records().map((r) => String(r.message));
  pods.startRun(0, ID0);
  pods.write(pods.path(0), 1, 50);
  const first = await PilotProcess.start(t, dirs, env);
  await waitFor(() => tally(messages(), 'l ', range(1, 50)).missing.length === 0, { what: 'lines 1-50' });
  await new Promise((r) => setTimeout(r, 600)); // positions saved
  await first.kill();

  pods.write(pods.path(0), 51, 80);
  const firstRotation = pods.rotate(0, '20261207-090100', [81, 90]);
  pods.write(pods.path(0), 91, 100);
  // The next rotation: kubelet compresses the older rotated file, then renames the current one.
  pods.compress(firstRotation);
  pods.rotate(0, '20261207-090200', [101, 105]);
  pods.write(pods.path(0), 106, 120);

  const second = await PilotProcess.start(t, dirs, env);
  await waitFor(() => tally(messages(), 'l ', range(1, 120)).missing.length === 0, { what: 'lines 1-120', timeoutMs: 20_000 }).catch((err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify(tally(messages(), 'l ', range(1, 120)))} ${readFileSync(join(dirs.dataDir, 'pilot', 'cri-positions.json'), 'utf8')} ${second.stderr.filter((l) => !l.includes('"debug"')).slice(-15).join('\n')}`);
  });
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(await second.terminate(), { code: 0, signal: null });
  assert.deepEqual(tally(messages(), 'l ', range(1, 120)), { missing: [], duplicates: 0 });
  // Whether the new 0.log reused the compressed file's inode (then it looks truncated) or not, the copy read is the .gz.
  const fromCopy = second.logs(/compressed while the pilot was away|its unread lines are read from its copy/).map((l) => String(l.copy ?? l.path));
  assert.equal(fromCopy.length, 1);
  assert.match(fromCopy[0]!, /0\.log\.20261207-090100\.gz$/);
  assert.deepEqual(readdirSync(join(dirs.dataDir, 'pilot', 'unpacked')), [], 'no uncompressed copy is left behind');
});
