/**
 * What a container asks the collector to monitor, from its labels:
 * `<prefix>.monitoring.script` (a command run inside it), `<prefix>.monitoring.http` (+ `.tags`: a URL polled;
 * the host name `container` is the container itself), `<prefix>.monitoring.addon.influxdb`
 * (`<scheme>:<host>:<port>`: where its points go) and `.addon.prometheus` (`<scheme>:<host>:<port>[/path]`: the
 * Prometheus its points are sent to by remote write, at `/api/v1/write` unless a path is given).
 * A bad label is reported and skipped; the container's other declarations stay.
 */
import type { ContainerInfo } from '../../platform/engine/container-info.js';

export interface MonitoringDeclaration {
  script?: string;
  http?: { url: URL; tagKeys: string[] };
  influxdbUrl?: string;
  /** The remote write URL, e.g. `http://prometheus:9090/api/v1/write`. */
  prometheusUrl?: string;
}

export interface DeclarationWarning {
  container: string;
  label: string;
  reason: string;
}

export function monitoringDeclaration(container: ContainerInfo, prefix: string): { declaration: MonitoringDeclaration; warnings: DeclarationWarning[] } {
  const warnings: DeclarationWarning[] = [];
  const declaration: MonitoringDeclaration = {};
  const label = (suffix: string): [string, string | undefined] => {
    const name = `${prefix}.monitoring.${suffix}`;
    return [name, container.labels[name]];
  };
  const warn = (name: string, reason: string): void => {
    warnings.push({ container: container.name, label: name, reason });
  };

  const [scriptLabel, script] = label('script');
  if (script !== undefined) {
    if (script.trim() === '') warn(scriptLabel, 'the command is empty');
    else declaration.script = script;
  }

  const [httpLabel, http] = label('http');
  const [tagsLabel, tagsValue] = label('tags');
  if (http === undefined && tagsValue !== undefined) warn(tagsLabel, `tags are only read with ${httpLabel}, which is not set`);
  if (http !== undefined) {
    const url = parseMonitoringUrl(http, container.ipAddress);
    if (typeof url === 'string') warn(httpLabel, url);
    else {
      declaration.http = { url, tagKeys: (tagsValue ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '') };
    }
  }

  const [influxLabel, influx] = label('addon.influxdb');
  if (influx !== undefined) {
    const m = /^(https?):(?:\/\/)?([^:/]+):(\d{1,5})$/.exec(influx.trim());
    if (!m || Number(m[3]) < 1 || Number(m[3]) > 65535) {
      warn(influxLabel, `"${influx}" is not <http|https>:<host>:<port> (e.g. http:influxdb:8086): this container's points go to the other metric outputs only`);
    }
    else declaration.influxdbUrl = `${m[1]}://${m[2]}:${m[3]}`;
  }
  const [prometheusLabel, prometheus] = label('addon.prometheus');
  if (prometheus !== undefined) {
    const m = /^(https?):(?:\/\/)?([^:/@\s]+):(\d{1,5})(\/\S*)?$/.exec(prometheus.trim());
    if (!m || Number(m[3]) < 1 || Number(m[3]) > 65535) {
      warn(prometheusLabel, `"${prometheus}" is not <http|https>:<host>:<port> (e.g. http:prometheus:9090, or with a path: http:mimir:9009/api/v1/push): this container's points go to the other metric outputs only`);
    }
    else declaration.prometheusUrl = `${m[1]}://${m[2]}:${m[3]}${m[4] === undefined || m[4] === '/' ? '/api/v1/write' : m[4]}`;
  }
  return { declaration, warnings };
}

/** The URL to poll, with host `container` replaced by the container's address; a string is the reason it is bad. */
export function parseMonitoringUrl(raw: string, containerAddress: string): URL | string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return `"${raw}" is not a URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `"${raw}" is not an http(s) URL`;
  if (url.hostname === 'container') {
    if (containerAddress === '') return 'the host "container" has no address (the container has no network address)';
    url.hostname = containerAddress;
  }
  return url;
}
