/**
 * The fields a pilot record owns (the README's "Records") and the rule when a line's own field has the same name.
 *
 * Collision rule: the pilot's field keeps its name — `@timestamp`, `host`, `source`… are what index patterns,
 * dashboards and the log API rely on, and log-pilot's records carried them the same way — and the line's value is
 * kept under `original_<name>` (then `original_original_<name>`… should that be taken too). Nothing is dropped
 * and no record ever holds a key twice.
 */

/** Always present or owned by the pilot whatever the container. */
export const CORE_FIELDS = ['@timestamp', 'message', 'stream', 'source', 'target', 'host', 'parse_error', 'truncated'] as const;

/** Container metadata fields; present when the container has a value. */
export const META_FIELDS = [
  'docker_container', 'docker_container_id', 'docker_app', 'docker_service',
  'k8s_pod', 'k8s_pod_namespace', 'k8s_container_name', 'k8s_pod_uid', 'k8s_container_restart', 'k8s_node_name',
] as const;

/** Tags may not reuse these names (a tag named `host` is ignored with a warning). */
export const RECORD_FIELDS: ReadonlySet<string> = new Set<string>([...CORE_FIELDS, ...META_FIELDS]);

/** Where a line's own field goes when the record already has `name`. */
export function renamedField(name: string, taken: (candidate: string) => boolean): string {
  let candidate = `original_${name}`;
  while (taken(candidate)) candidate = `original_${candidate}`;
  return candidate;
}
