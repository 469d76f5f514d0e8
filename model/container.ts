/**
 * The container facts the pilot's pure parts read: declarations (labels, env) and the constant record fields (the
 * README's "Records"). A structural subset of the engine's `ContainerInfo` (platform/engine/container-info.ts), so what
 * the runtime fills from `docker inspect` is passed as it is; tests can write one by hand.
 */
export interface ContainerMeta {
  /** Full 64-hex id (`docker_container_id`). */
  readonly id: string;
  /** Name without the leading `/` (`docker_container`). */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** `Config.Env` as a map. */
  readonly env: Readonly<Record<string, string>>;
  /** Compose project or stack namespace (`docker_app`), '' when none. */
  readonly app: string;
  /** Compose service or swarm service name (`docker_service`), '' when none. */
  readonly service: string;
  /** `io.kubernetes.pod.name`, `io.kubernetes.pod.namespace`, `io.kubernetes.container.name`; '' when none. */
  readonly k8sPod: string;
  readonly k8sNamespace: string;
  readonly k8sContainer: string;
  /** CRI only (kubelet's log path): the pod's uid and the container's restart count (`k8s_pod_uid`, `k8s_container_restart`). */
  readonly k8sPodUid?: string;
  readonly k8sRestart?: string;
  /**
   * What names the container in record ids when `id` may not be known from the start (CRI: the runtime's id is read
   * from kubelet's link, which may come after the log file); default `id`.
   */
  readonly recordKey?: string;
}
