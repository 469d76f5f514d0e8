/**
 * Alerts in Alertmanager's two JSON shapes, so an existing receiver and an existing Alertmanager take them as they are:
 *
 * - the webhook receiver's body (`"version": "4"`, `groupKey`, `status`, `receiver`, `groupLabels`, `commonLabels`,
 *   `commonAnnotations`, `externalURL`, `alerts[]` with `status`, `labels`, `annotations`, `startsAt`, `endsAt`,
 *   `generatorURL`, `fingerprint`), one per rule and status of an evaluation;
 * - the body of Alertmanager's `POST /api/v2/alerts` (a list of `labels`, `annotations`, `startsAt`, `endsAt`,
 *   `generatorURL`), which Alertmanager groups, silences and routes itself.
 *
 * The fingerprint is Prometheus's label signature (FNV-1a 64 over the sorted names and values, each followed by
 * 0xff), written as 16 hex digits as Alertmanager writes it.
 */
import type { AlertInstance } from '../../model/alarm.js';

/** Go's zero time: Alertmanager's `endsAt` of an alert that has not ended. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK = 0xffffffffffffffffn;

export function labelsFingerprint(labels: Readonly<Record<string, string>>): string {
  let h = FNV_OFFSET;
  const add = (bytes: Uint8Array): void => {
    for (const b of bytes) h = ((h ^ BigInt(b)) * FNV_PRIME) & MASK;
  };
  const sep = new Uint8Array([0xff]);
  const enc = new TextEncoder();
  for (const name of Object.keys(labels).sort()) {
    add(enc.encode(name));
    add(sep);
    add(enc.encode(labels[name]!));
    add(sep);
  }
  return h.toString(16).padStart(16, '0');
}

export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export interface WebhookMessage {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: WebhookAlert[];
}

function iso(ms: number | undefined): string {
  return ms === undefined ? ZERO_TIME : new Date(ms).toISOString();
}

export function webhookAlert(a: AlertInstance, generatorURL: string): WebhookAlert {
  const resolved = a.state === 'resolved';
  return {
    status: resolved ? 'resolved' : 'firing', labels: a.labels, annotations: a.annotations, startsAt: iso(a.firedAtMs ?? a.activeSinceMs),
    endsAt: resolved ? iso(a.resolvedAtMs) : ZERO_TIME, generatorURL, fingerprint: a.fingerprint,
  };
}

function common(maps: ReadonlyArray<Readonly<Record<string, string>>>): Record<string, string> {
  if (maps.length === 0) return {};
  const out: Record<string, string> = { ...maps[0] };
  for (const m of maps.slice(1)) for (const k of Object.keys(out)) if (m[k] !== out[k]) delete out[k];
  return out;
}

/** Alertmanager's groupKey for a group by alertname under the root route: `{}:{alertname="<name>"}`. */
export function groupKeyOf(alertname: string): string {
  return `{}:{alertname=${JSON.stringify(alertname)}}`;
}

/** One webhook body: alerts of one rule (alertname) that all have `status`. */
export function webhookMessage(alertname: string, status: 'firing' | 'resolved', alerts: WebhookAlert[], externalURL: string, receiver = 'shipwatch'): WebhookMessage {
  return {
    version: '4', groupKey: groupKeyOf(alertname), truncatedAlerts: 0, status, receiver, groupLabels: { alertname },
    commonLabels: common(alerts.map((a) => a.labels)), commonAnnotations: common(alerts.map((a) => a.annotations)), externalURL, alerts,
  };
}

/** Alertmanager's `POST /api/v2/alerts` item: a firing alert's `endsAt` is when Alertmanager may resolve it alone if not sent again. */
export function apiAlert(a: AlertInstance, generatorURL: string, validForMs: number, nowMs: number): Record<string, unknown> {
  const resolved = a.state === 'resolved';
  return {
    labels: a.labels, annotations: a.annotations, startsAt: iso(a.firedAtMs ?? a.activeSinceMs),
    endsAt: resolved ? iso(a.resolvedAtMs) : iso(nowMs + validForMs), generatorURL,
  };
}
