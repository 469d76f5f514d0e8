/**
 * deploy/kubernetes-containerd: the Kubernetes deployment for containerd nodes, rendered by kustomize as
 * `kubectl apply -k` would render it, checked against what the pilot reads on a CRI node.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { describeVariables } from '../../platform/config/load-config.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- rendered manifests are checked field by field

function render(): Json[] | string {
  const kubectl = spawnSync('kubectl', ['kustomize', join(ROOT, 'deploy/kubernetes-containerd')], { encoding: 'utf8' });
  if (kubectl.error) return `kubectl is not installed (${kubectl.error.message})`;
  assert.equal(kubectl.status, 0, kubectl.stderr);
  const script = 'import json, sys, yaml\nprint(json.dumps([d for d in yaml.safe_load_all(sys.stdin) if d]))';
  const py = spawnSync('python3', ['-c', script], { input: kubectl.stdout, encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  return JSON.parse(py.stdout) as Json[];
}

const defaultOf = (name: string): string => describeVariables().find((v) => v.name === name)!.default;

test('the containerd variant runs the pilot on kubelet\'s log folders, without the Docker socket, with a service account that may list pods', (t) => {
  const objects = render();
  if (typeof objects === 'string') {
    t.skip(objects);
    return;
  }
  const pilot = objects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'shipwatch-pilot');
  assert.ok(pilot);
  const spec = pilot.spec.template.spec;
  const container = spec.containers.find((c: Json) => c.name === 'pilot');
  const env = Object.fromEntries((container.env as Json[]).map((e) => [e.name, e]));
  assert.equal(env.PILOT_RUNTIME.value, 'cri');
  assert.equal(env.PILOT_HOST_ROOT.value, '/');
  assert.deepEqual(env.NODE_NAME.valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } }, 'the pod list is asked for this node\'s pods');
  const known = new Set(describeVariables().filter((v) => v.section === 'common' || v.section === 'pilot').map((v) => v.name));
  for (const name of Object.keys(env)) assert.ok(known.has(name), `${name} is a pilot variable`);

  const hostPaths = new Map<string, string>((spec.volumes as Json[]).filter((v) => v.hostPath).map((v) => [v.name, v.hostPath.path]));
  const mounts = new Map<string, Json>((container.volumeMounts as Json[]).map((m) => [hostPaths.get(m.name) ?? m.name, m]));
  assert.ok(![...hostPaths.values()].some((p) => p.includes('docker.sock')), 'no Docker socket');
  assert.ok(![...hostPaths.values()].includes('/'), 'no host root');
  for (const variable of ['PILOT_CRI_LOG_ROOT', 'PILOT_CRI_CONTAINERS_DIR']) {
    const path = env[variable]?.value ?? defaultOf(variable);
    assert.equal(mounts.get(path)?.mountPath, path, `${path} (${variable}) is mounted at its own path`);
    assert.equal(mounts.get(path)?.readOnly, true);
  }

  assert.equal(spec.serviceAccountName, 'shipwatch-pilot');
  const binding = objects.find((o) => o.kind === 'ClusterRoleBinding' && o.subjects.some((s: Json) => s.kind === 'ServiceAccount' && s.name === spec.serviceAccountName && s.namespace === pilot.metadata.namespace));
  assert.ok(binding, 'the service account is bound to a role');
  const role = objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === binding.roleRef.name);
  assert.deepEqual(role.rules, [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }]);
});
