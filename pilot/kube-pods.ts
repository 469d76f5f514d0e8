/**
 * The node's pods as Kubernetes lists them, for their declarations on CRI nodes, where no container engine holds a
 * container's env and labels: a pod's `aliyun.logs.*` annotations and labels, and each container's literal
 * `aliyun_logs_*` env (an env taken from a ConfigMap or Secret is not in the pod spec, and is not seen).
 *
 * Read from a PodList: the API server's `/api/v1/pods?fieldSelector=spec.nodeName=<node>` (in-cluster: the service
 * account's token and CA) or a kubelet's `/pods`. Both answer the same `v1.PodList` JSON.
 */
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { describe } from '../platform/errors.js';

export interface KubePod {
  namespace: string;
  name: string;
  uid: string;
  /** Labels and annotations, annotations winning on the same key. */
  labels: Record<string, string>;
  /** Each container's (and init container's) literal env. */
  containerEnv: Map<string, Record<string, string>>;
}

export interface PodListSource {
  /** The pod list URL. */
  url: string;
  tokenFile: string;
  caFile: string;
  timeoutMs?: number;
}

/** Largest pod list read (a node's 110 pods with long annotations fit many times over). */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * Where the pod list is, from PILOT_KUBE_PODS_URL and its companions; undefined when it is off (or auto with no
 * API server named).
 */
export function podListUrl(config: { kubePodsUrl: string; kubeServiceHost: string; kubeServicePort: string; nodeName: string }): string | undefined {
  if (config.kubePodsUrl === 'off') return undefined;
  if (config.kubePodsUrl !== 'auto') return config.kubePodsUrl;
  if (config.kubeServiceHost === '' || config.nodeName === '') return undefined;
  const host = config.kubeServiceHost.includes(':') ? `[${config.kubeServiceHost}]` : config.kubeServiceHost;
  return `https://${host}:${config.kubeServicePort}/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${config.nodeName}`)}`;
}

/** A PodList JSON text → the pods by uid; the reason when it is not a pod list. Never throws. */
export function parsePodList(text: string): Map<string, KubePod> | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    // Mapped to the reason the caller reports.
    return `the pod list is not JSON: ${(err as Error).message.slice(0, 120)}`;
  }
  const items = (v as { items?: unknown } | null)?.items;
  if (!Array.isArray(items)) {
    const kind = (v as { kind?: unknown } | null)?.kind;
    return `the answer is not a pod list (kind ${JSON.stringify(kind ?? null)}, no items)`;
  }
  const pods = new Map<string, KubePod>();
  for (const item of items as Array<Record<string, any>>) {
    const meta = item?.metadata;
    if (typeof meta?.uid !== 'string' || typeof meta.name !== 'string') continue;
    const labels: Record<string, string> = { ...strings(meta.labels), ...strings(meta.annotations) };
    const containerEnv = new Map<string, Record<string, string>>();
    for (const c of [...arrayOf(item.spec?.initContainers), ...arrayOf(item.spec?.containers)]) {
      if (typeof c?.name !== 'string') continue;
      const env: Record<string, string> = {};
      for (const e of arrayOf(c.env)) if (typeof e?.name === 'string' && typeof e.value === 'string') env[e.name] = e.value;
      containerEnv.set(c.name, env);
    }
    pods.set(meta.uid, { namespace: String(meta.namespace ?? ''), name: meta.name, uid: meta.uid, labels, containerEnv });
  }
  return pods;
}

function arrayOf(v: unknown): any[] {
  return Array.isArray(v) ? v : [];
}

function strings(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

/** Reads the pod list once; throws with the reason (unreachable, refused, not a pod list). */
export async function fetchPodList(source: PodListSource): Promise<Map<string, KubePod>> {
  const token = await readFile(source.tokenFile, 'utf8').then((t) => t.trim(), () => '');
  const ca = await readFile(source.caFile).catch(() => undefined);
  const url = new URL(source.url);
  const body = await new Promise<string>((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token !== '') headers.authorization = `Bearer ${token}`;
    const opts = { method: 'GET', headers, timeout: source.timeoutMs ?? 10_000, ...(url.protocol === 'https:' && ca ? { ca } : {}) };
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, opts, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) req.destroy(new Error(`the pod list is larger than ${MAX_BODY_BYTES} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) reject(new Error(`${source.url} answered ${res.statusCode}: ${text.slice(0, 200)}`));
        else resolve(text);
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${source.url} did not answer within ${opts.timeout} ms`)));
    req.on('error', (err) => reject(new Error(`${source.url}: ${describe(err)}`, { cause: err })));
    req.end();
  });
  const pods = parsePodList(body);
  if (typeof pods === 'string') throw new Error(`${source.url}: ${pods}`);
  return pods;
}
