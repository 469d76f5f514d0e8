/**
 * Which write API an InfluxDB-compatible server has, told from its `GET /ping` answer, and the requests of each:
 *
 * - InfluxDB before 1.8 (0.9 to 1.7: `X-Influxdb-Version: 1.6.7`) has only the 1.x API: `POST /write?db=&rp=`, into
 *   a database that must exist (`CREATE DATABASE` through `POST /query` makes it; it does nothing when it exists).
 * - InfluxDB 1.8+, 2.x (`v2.7.1`), 3.x and VictoriaMetrics (which answers /ping 204 without a version header) take
 *   `POST /api/v2/write?org=&bucket=`. A server that refuses /ping for credentials or does not know it gets the v2
 *   API too (InfluxDB 1.x answers /ping without credentials): that is what the output spoke before it asked.
 *
 * The bucket is `database` or `database/retention-policy` for the 1.x API (InfluxDB 1.8's v2 API reads it the same
 * way). Credentials: `user:password` is Basic auth for the 1.x API; anything else is sent as `Token <token>`.
 * Pure functions: the sink (collector/metrics/influxdb-sink.ts) does the requests.
 */

export type WriteApiKind = 'v1' | 'v2';

export interface PingAnswer {
  status: number;
  /** The `X-Influxdb-Version` header, when there is one. */
  version: string | undefined;
}

/** What the answer says: the API to write with, or 'unknown' when the server is busy or failing (ask again later). */
export type PingVerdict = { api: WriteApiKind; server: string } | 'unknown';

export function writeApiFromPing(answer: PingAnswer): PingVerdict {
  const { status, version } = answer;
  if (status === 408 || status === 429 || status >= 500) return 'unknown';
  if (status < 200 || status >= 300) return { api: 'v2', server: `a server that answers /ping ${status}` };
  if (version === undefined || version.trim() === '') return { api: 'v2', server: 'a server without X-Influxdb-Version (VictoriaMetrics or alike)' };
  const m = /^v?(\d+)\.(\d+)/.exec(version.trim());
  const server = `InfluxDB ${version.trim()}`;
  if (!m) return { api: 'v2', server };
  const major = Number(m[1]);
  const minor = Number(m[2]);
  return { api: major < 1 || (major === 1 && minor < 8) ? 'v1' : 'v2', server };
}

export interface WriteTarget {
  /** Base URL, e.g. `http://influxdb:8086`. */
  url: string;
  token: string;
  org: string;
  /** `database`, `database/retention-policy`, or a 2.x bucket name. */
  bucket: string;
}

/** `telegraf/autogen` → database `telegraf`, retention policy `autogen`; no `/`: the database's default policy. */
export function databaseOf(bucket: string): { database: string; retentionPolicy: string } {
  const slash = bucket.indexOf('/');
  return slash < 0 ? { database: bucket, retentionPolicy: '' } : { database: bucket.slice(0, slash), retentionPolicy: bucket.slice(slash + 1) };
}

function base(url: string): string {
  return url.replace(/\/+$/, '');
}

export function pingUrl(url: string): string {
  return `${base(url)}/ping`;
}

/** The URL points are POSTed to with this API. */
export function writeUrl(api: WriteApiKind, target: WriteTarget): string {
  if (api === 'v2') return `${base(target.url)}/api/v2/write?${new URLSearchParams({ org: target.org, bucket: target.bucket, precision: 'ns' })}`;
  const { database, retentionPolicy } = databaseOf(target.bucket);
  const query = new URLSearchParams({ db: database, ...(retentionPolicy === '' ? {} : { rp: retentionPolicy }), precision: 'ns' });
  return `${base(target.url)}/write?${query}`;
}

/** The Authorization header of this API's requests, or none. */
export function authorization(api: WriteApiKind, token: string): Record<string, string> {
  if (token === '') return {};
  if (api === 'v1' && token.includes(':')) return { authorization: `Basic ${Buffer.from(token).toString('base64')}` };
  return { authorization: `Token ${token}` };
}

/** `POST /query` with this body creates the database (nothing happens when it exists). */
export function createDatabaseRequest(target: WriteTarget): { url: string; body: string } {
  const { database } = databaseOf(target.bucket);
  const quoted = `"${database.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return { url: `${base(target.url)}/query`, body: new URLSearchParams({ q: `CREATE DATABASE ${quoted}` }).toString() };
}

/** The error a `/query` answer body reports (`{"error":…}` or a statement's `results[i].error`), if any. */
export function queryError(text: string): string | undefined {
  try {
    const json = JSON.parse(text) as { error?: unknown; results?: Array<{ error?: unknown }> };
    if (typeof json.error === 'string') return json.error;
    const failed = json.results?.find((r) => typeof r.error === 'string');
    return failed === undefined ? undefined : String(failed.error);
  } catch {
    return text.trim() === '' ? undefined : text.trim().slice(0, 300);
  }
}
