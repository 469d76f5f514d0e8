import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../platform/config/load-config.js';
import { criTimeMs, decodeCriLine, isRotatedLogName, parsePodDirName, restartOfLogName } from '../../pilot/cri-log.js';
import { DockerLogAssembler } from '../../pilot/docker-json-log.js';
import { fetchPodList, parsePodList, podListUrl } from '../../pilot/kube-pods.js';

const dir = mkdtempSync(join(tmpdir(), 'sw-cri-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a CRI entry gives its text, stream, time and whether the runtime cut it', () => {
  assert.deepEqual(decodeCriLine('2026-03-01T12:34:56.123456789Z stdout F hello world'), {
    text: 'hello world', stream: 'stdout', timeMs: Date.UTC(2026, 2, 1, 12, 34, 56, 123), partial: false,
  });
  assert.deepEqual(decodeCriLine('2026-03-01T12:34:56.5+01:00 stderr P  two  spaces kept '), {
    text: ' two  spaces kept ', stream: 'stderr', timeMs: Date.UTC(2026, 2, 1, 11, 34, 56, 500), partial: true,
  });
  assert.equal((decodeCriLine('2026-03-01T12:34:56Z stdout F ') as { text: string }).text, '');
  assert.equal((decodeCriLine('2026-03-01T12:34:56Z stdout F') as { text: string }).text, '');
  assert.equal((decodeCriLine('2026-03-01T12:34:56Z stdout F:x more') as { partial: boolean }).partial, false);
});

test('CRI times: Z or an offset, 0 to 9 fraction digits; anything else is NaN', () => {
  assert.equal(criTimeMs('2026-03-01T00:00:00Z'), Date.UTC(2026, 2, 1));
  assert.equal(criTimeMs('2026-03-01T00:00:00.1-02:00'), Date.UTC(2026, 2, 1, 2, 0, 0, 100));
  for (const bad of ['2026-03-01 00:00:00Z', '2026-13-01T00:00:00+00:00', 'yesterday', '2026-03-01T00:00:00', '']) assert.ok(Number.isNaN(criTimeMs(bad)), bad);
});

test('a malformed CRI line is a failure reason naming what is wrong, never an exception', () => {
  assert.match(String(decodeCriLine('not-a-time stdout F x')), /is not an RFC 3339 time/);
  assert.match(String(decodeCriLine('2026-03-01T00:00:00Z stdcrap F x')), /stream "stdcrap" is neither stdout nor stderr/);
  assert.match(String(decodeCriLine('2026-03-01T00:00:00Z stdout')), /no P or F tag/);
  assert.match(String(decodeCriLine('2026-03-01T00:00:00Z stdout hello world')), /tag "hello" is neither P nor F/);
  assert.match(String(decodeCriLine('plain')), /no "<time> <stream> <tag> " header/);
});

test('P pieces are joined into one line per stream by the assembler, bounded and marked when past the limit', () => {
  const a = new DockerLogAssembler(10);
  const lines = ['2026-03-01T00:00:00Z stdout P abc', '2026-03-01T00:00:01Z stderr F err', '2026-03-01T00:00:02Z stdout F def'];
  let offset = 0;
  const out = [];
  for (const l of lines) {
    const e = decodeCriLine(l);
    assert.ok(typeof e !== 'string');
    const end = offset + l.length + 1;
    const done = a.push(e, offset, end);
    if (done) out.push(done);
    offset = end;
  }
  assert.deepEqual(out.map((d) => [d.text, d.stream, d.timeMs, d.truncated]), [
    ['err', 'stderr', Date.UTC(2026, 2, 1, 0, 0, 1), false], ['abcdef', 'stdout', Date.UTC(2026, 2, 1), false],
  ]);
  // The stderr line may not move the position past the stdout piece still waiting.
  assert.equal(out[0]!.resumeOffset, 0);
  const long = new DockerLogAssembler(4);
  long.push(decodeCriLine('2026-03-01T00:00:00Z stdout P abc') as never, 0, 10);
  const cut = long.push(decodeCriLine('2026-03-01T00:00:00Z stdout F def') as never, 10, 20)!;
  assert.deepEqual([cut.text, cut.truncated], ['abcd', true]);
});

test('kubelet paths: pod folder, restart file, rotated names', () => {
  assert.deepEqual(parsePodDirName('kube-system_coredns-5d78c9869d-abcde_0b6f1c2e-1111-2222-3333-444455556666'), {
    namespace: 'kube-system', pod: 'coredns-5d78c9869d-abcde', podUid: '0b6f1c2e-1111-2222-3333-444455556666',
  });
  assert.equal(parsePodDirName('no-underscores'), undefined);
  assert.equal(restartOfLogName('0.log'), 0);
  assert.equal(restartOfLogName('12.log'), 12);
  assert.equal(restartOfLogName('0.log.20260301-120000'), undefined);
  assert.equal(isRotatedLogName('0.log.20260301-120000', '0.log'), true);
  assert.equal(isRotatedLogName('0.log.20260301-120000.gz', '0.log'), false);
  assert.equal(isRotatedLogName('10.log.20260301-120000', '0.log'), false);
});

/** A v1.PodList as the API server and the kubelet answer it (trimmed to what a pod of one node carries). */
const POD_LIST = {
  kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '4242' },
  items: [{
    metadata: {
      name: 'web-7c9d', namespace: 'shop', uid: 'uid-1',
      labels: { app: 'web', 'aliyun.logs.access': 'stdout' },
      annotations: { 'aliyun.logs.access.format': 'json', 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
    },
    spec: {
      nodeName: 'node-a',
      initContainers: [{ name: 'init', image: 'busybox' }],
      containers: [
        { name: 'app', image: 'nginx', env: [{ name: 'aliyun_logs_app', value: 'stdout' }, { name: 'SECRET', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] },
        { name: 'sidecar', image: 'envoy' },
      ],
    },
    status: { phase: 'Running' },
  }],
};

test('a pod list gives each pod its labels and annotations and each container its literal env', () => {
  const pods = parsePodList(JSON.stringify(POD_LIST));
  assert.ok(typeof pods !== 'string');
  const pod = pods.get('uid-1')!;
  assert.deepEqual([pod.namespace, pod.name], ['shop', 'web-7c9d']);
  assert.equal(pod.labels['aliyun.logs.access'], 'stdout');
  assert.equal(pod.labels['aliyun.logs.access.format'], 'json');
  assert.deepEqual(pod.containerEnv.get('app'), { aliyun_logs_app: 'stdout' });
  assert.deepEqual(pod.containerEnv.get('sidecar'), {});
  assert.deepEqual(pod.containerEnv.get('init'), {});
  assert.match(String(parsePodList('{"kind":"Status","status":"Failure"}')), /not a pod list \(kind "Status"/);
  assert.match(String(parsePodList('<html>')), /not JSON/);
});

test('the pod list URL: in-cluster from the service variables and the node name, off, or as given', () => {
  const base = { kubeServiceHost: '10.96.0.1', kubeServicePort: '443', nodeName: 'node-a' };
  assert.equal(podListUrl({ ...base, kubePodsUrl: 'auto' }), 'https://10.96.0.1:443/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a');
  assert.equal(podListUrl({ ...base, kubePodsUrl: 'auto', kubeServiceHost: '' }), undefined);
  assert.equal(podListUrl({ ...base, kubePodsUrl: 'auto', nodeName: '' }), undefined);
  assert.equal(podListUrl({ ...base, kubePodsUrl: 'off' }), undefined);
  assert.equal(podListUrl({ ...base, kubePodsUrl: 'https://127.0.0.1:10250/pods' }), 'https://127.0.0.1:10250/pods');
});

// No Kubernetes cluster exists where these tests run: a local HTTP server answers the real PodList JSON shape, and
// the client is checked for what it sends (the service account token) and how it reads answers and refusals.
test('the pod list is read with the service account token, and a refusal names the status', async (t) => {
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'tok-123\n');
  const seen: Array<string | undefined> = [];
  let status = 200;
  const server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(status === 200 ? JSON.stringify(POD_LIST) : '{"kind":"Status","message":"pods is forbidden"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a`;
  const pods = await fetchPodList({ url, tokenFile, caFile: join(dir, 'no-ca.crt') });
  assert.deepEqual([...pods.keys()], ['uid-1']);
  assert.deepEqual(seen, ['Bearer tok-123']);
  status = 403;
  await assert.rejects(fetchPodList({ url, tokenFile, caFile: join(dir, 'no-ca.crt') }), /answered 403: .*forbidden/);
  await assert.rejects(fetchPodList({ url: 'http://127.0.0.1:1/pods', tokenFile, caFile: '' }), /127\.0\.0\.1:1/);
});

test('the CRI variables: defaults, and every bad value reported at once with its variable', () => {
  const p = loadConfig({}, 'pilot').pilot;
  assert.deepEqual([p.runtime, p.criLogRoot, p.criContainersDir, p.criDefaultLog, p.kubePodsUrl, p.kubePodsRefreshMs], ['docker', '/var/log/pods', '/var/log/containers', '', 'auto', 30_000]);
  const ok = loadConfig({ PILOT_RUNTIME: 'cri', PILOT_CRI_DEFAULT_LOG: 'k8s', PILOT_KUBE_PODS_URL: 'https://127.0.0.1:10250/pods' }, 'pilot').pilot;
  assert.deepEqual([ok.runtime, ok.criDefaultLog, ok.kubePodsUrl], ['cri', 'k8s', 'https://127.0.0.1:10250/pods']);
  assert.throws(() => loadConfig({
    PILOT_RUNTIME: 'containerd', PILOT_CRI_LOG_ROOT: 'var/log/pods', PILOT_CRI_DEFAULT_LOG: 'all logs', PILOT_KUBE_PODS_URL: 'kubelet:10250', PILOT_KUBE_PODS_REFRESH: '100ms',
  }, 'pilot'), (err: Error) => {
    for (const re of [/PILOT_RUNTIME: "containerd"/, /PILOT_CRI_LOG_ROOT: .*not an absolute path/, /PILOT_CRI_DEFAULT_LOG: .*not a log name/, /PILOT_KUBE_PODS_URL: .*neither auto, off nor an http\(s\) URL/, /PILOT_KUBE_PODS_REFRESH: .*from 1s to 1h/]) {
      assert.match(err.message, re);
    }
    return true;
  });
});
