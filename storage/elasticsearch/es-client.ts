/**
 * Elasticsearch clients from configuration, for the pilot's log output and for the span storage.
 *
 * The pilot follows log-pilot: `ELASTICSEARCH_HOSTS` (host:port or URLs, comma list) wins over
 * `ELASTICSEARCH_HOST` + `ELASTICSEARCH_PORT`; hosts without a scheme take `ELASTICSEARCH_SCHEME`. When the file
 * `/run/secrets/es_credential` exists, its `user:password` replaces ELASTICSEARCH_USER / ELASTICSEARCH_PASSWORD
 * (log-pilot's entrypoint does the same with awk, which cut passwords at a second `:`; here everything after the
 * first `:` is the password, and a trailing newline is dropped).
 *
 * The client's own retries are switched off for one node: every retry goes through `delivery/retry.ts`, where it is
 * jittered, bounded by a deadline and counted. With several nodes the client fails over instead: a request that
 * cannot reach its node (connection refused or reset, or a 502/503/504) goes on at once to the next node, up to
 * each node once, and the node is marked dead so later requests pass it by (its weight falls in the client's
 * weighted pool; one answer makes it alive again). Without that, each request that met a dead node of a cluster
 * failed and waited a backoff although the other nodes were fine (test/storage/elasticsearch/es-cluster.test.ts).
 * A request sent again after a reset may have been applied once already; the pilot's documents carry deterministic
 * ids (an index overwrites, a data stream's create answers 409, taken as delivered) and spans are written by id, so
 * that stores nothing twice.
 */
import { readFileSync } from 'node:fs';
import { Client } from '@elastic/elasticsearch';
import type { Config } from '../../platform/config/load-config.js';
import { swError } from '../../platform/errors.js';

export interface EsConnection {
  nodes: string[];
  username?: string;
  password?: string;
}

/** `user:password` → the pair; a failure reason when there is no `:` or no user. Pure. */
export function parseCredential(text: string): { username: string; password: string } | { problem: string } {
  const line = text.replace(/\r?\n$/, '');
  const colon = line.indexOf(':');
  if (colon <= 0) return { problem: 'expected user:password' };
  return { username: line.slice(0, colon), password: line.slice(colon + 1) };
}

function withScheme(host: string, scheme: string): string {
  const url = /^[a-z]+:\/\//i.test(host) ? host : `${scheme}://${host}`;
  return url.replace(/\/+$/, '');
}

/**
 * The pilot's connection. Throws SW_CONFIG_INVALID when no host is configured or the credential file is malformed.
 */
export function pilotEsConnection(pilot: Config['pilot'], readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): EsConnection {
  let nodes = pilot.esHosts.map((h) => withScheme(h, pilot.esScheme));
  if (nodes.length === 0) {
    if (pilot.esHost === '') throw swError('SW_CONFIG_INVALID', 'ELASTICSEARCH_HOSTS or ELASTICSEARCH_HOST is needed for the elasticsearch output');
    nodes = [withScheme(`${pilot.esHost}:${pilot.esPort}`, pilot.esScheme)];
  }
  const conn: EsConnection = { nodes };
  if (pilot.esUser !== '') {
    conn.username = pilot.esUser;
    conn.password = pilot.esPassword;
  }
  let text: string | undefined;
  try {
    text = pilot.esCredentialFile === '' ? undefined : readFile(pilot.esCredentialFile);
  } catch (err) {
    // A missing secret file is the normal case (no secret mounted); anything else is a real problem.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw swError('SW_CONFIG_INVALID', `ELASTICSEARCH_CREDENTIAL_FILE: cannot read ${pilot.esCredentialFile}`, err);
    }
  }
  if (text !== undefined) {
    const cred = parseCredential(text);
    if ('problem' in cred) throw swError('SW_CONFIG_INVALID', `ELASTICSEARCH_CREDENTIAL_FILE: ${pilot.esCredentialFile}: ${cred.problem}`);
    conn.username = cred.username;
    conn.password = cred.password;
  }
  return conn;
}

/** The span storage's connection (`ES_SERVER_URLS`, `ES_USERNAME`, `ES_PASSWORD`). */
export function spanStorageEsConnection(spanStorage: Config['spanStorage']): EsConnection {
  const conn: EsConnection = { nodes: [...spanStorage.esServerUrls] };
  if (spanStorage.esUsername !== '') {
    conn.username = spanStorage.esUsername;
    conn.password = spanStorage.esPassword;
  }
  return conn;
}

/** The client's tries beyond the first: one per other node, so a request tries each node once at most. Pure. */
export function failoverTries(nodeCount: number): number {
  return Math.max(0, nodeCount - 1);
}

export function createEsClient(conn: EsConnection, options: { requestTimeoutMs?: number } = {}): Client {
  return new Client({
    nodes: conn.nodes,
    ...(conn.username !== undefined ? { auth: { username: conn.username, password: conn.password ?? '' } } : {}),
    maxRetries: failoverTries(conn.nodes.length),
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    compression: false,
  });
}
