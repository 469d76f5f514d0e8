/**
 * The pilot on Kubernetes nodes without Docker (containerd, CRI-O): which runtime's logs it reads, where kubelet
 * keeps the CRI log files, and where the pods' declarations come from. Spread into the pilot section.
 */
import { Problem, parseDurationMs, parseEnum, parseString, v } from './schema.js';

/** A declaration name, as log-declarations.ts accepts it. */
const LOG_NAME_RE = /^[A-Za-z0-9_-]+$/;

export const pilotCri = {
  runtime: v({
    name: 'PILOT_RUNTIME', default: 'docker', parse: parseEnum(['docker', 'cri', 'auto'] as const),
    doc: "Whose container logs the pilot reads: docker (the engine's events and json-file logs), cri (kubelet's log files under PILOT_CRI_LOG_ROOT, containerd or CRI-O nodes), or auto (docker when the engine's socket exists, else cri when PILOT_CRI_LOG_ROOT does).",
  }),
  criLogRoot: v({
    name: 'PILOT_CRI_LOG_ROOT', default: '/var/log/pods',
    doc: "Kubelet's pod log folder on the host (<namespace>_<pod>_<uid>/<container>/<restart>.log), read under PILOT_HOST_ROOT.",
    parse: (raw: string) => (raw.trim().startsWith('/') ? raw.trim() : new Problem(`"${raw}" is not an absolute path`)),
  }),
  criContainersDir: v({
    name: 'PILOT_CRI_CONTAINERS_DIR', default: '/var/log/containers',
    doc: "Kubelet's links <pod>_<namespace>_<container>-<id>.log on the host, where a log file's container id is read (docker_container_id).",
    parse: (raw: string) => (raw.trim().startsWith('/') ? raw.trim() : new Problem(`"${raw}" is not an absolute path`)),
  }),
  criDefaultLog: v({
    name: 'PILOT_CRI_DEFAULT_LOG', default: '', defaultDoc: 'none',
    doc: 'On cri: a log name; every container whose pod declares nothing readable (no pod list reachable, or a pod unknown to it) has its standard output collected as <prefix>.logs.<name>=stdout. Empty: such containers are not collected.',
    parse: (raw: string) => {
      const t = raw.trim();
      return t === '' || (LOG_NAME_RE.test(t) && t.length <= 200) ? t : new Problem(`"${raw}" is not a log name (letters, digits, "-" and "_")`);
    },
  }),
  kubePodsUrl: v({
    name: 'PILOT_KUBE_PODS_URL', default: 'auto',
    doc: "On cri: where the node's pods (their aliyun.logs.* annotations and labels, their containers' aliyun_logs_* env) are listed: auto (the API server from KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, pods of NODE_NAME, when both are set), off, or the URL of a pod list (a kubelet's https://<node>:10250/pods, or an API server's /api/v1/pods).",
    parse: (raw: string) => {
      const t = raw.trim();
      if (t === 'auto' || t === 'off') return t;
      try {
        const u = new URL(t);
        if (u.protocol === 'http:' || u.protocol === 'https:') return t;
      } catch {
        // reported below
      }
      return new Problem(`"${raw}" is neither auto, off nor an http(s) URL`);
    },
  }),
  kubeTokenFile: v({
    name: 'PILOT_KUBE_TOKEN_FILE', default: '/var/run/secrets/kubernetes.io/serviceaccount/token',
    doc: 'Bearer token file sent to the pod list (the pod\'s service account token); read again at each request, absent: no token.', parse: parseString,
  }),
  kubeCaFile: v({
    name: 'PILOT_KUBE_CA_FILE', default: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
    doc: "CA certificate file the pod list's https certificate is checked against (absent: the system's CAs).", parse: parseString,
  }),
  kubeServiceHost: v({
    name: 'KUBERNETES_SERVICE_HOST', default: '', doc: 'Set by Kubernetes in every pod: the API server, for PILOT_KUBE_PODS_URL=auto.', parse: parseString,
  }),
  kubeServicePort: v({
    name: 'KUBERNETES_SERVICE_PORT', default: '443', doc: 'Set by Kubernetes in every pod: the API server\'s port, for PILOT_KUBE_PODS_URL=auto.', parse: parseString,
  }),
  kubePodsRefreshMs: v({
    name: 'PILOT_KUBE_PODS_REFRESH', default: '30s',
    doc: 'How often the pod list is read again (also at once when a container of a pod it does not hold appears, at most every 2s).',
    parse: (raw: string) => {
      const n = parseDurationMs(raw);
      return n instanceof Problem || (n >= 1000 && n <= 3_600_000) ? n : new Problem('must be from 1s to 1h');
    },
  }),
};
