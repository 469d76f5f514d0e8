/**
 * `shipwatch es-init [target …]` and `shipwatch es-clean`: one-off Elasticsearch commands, configured by the same
 * variables as the programs (the pilot's ELASTICSEARCH_* for logs, SPAN_STORAGE_TYPE and ES_* for spans).
 *
 * - es-init: the log index templates of the targets named (and, for data streams kept N days on a cluster with
 *   ILM, the policy), the span index templates when SPAN_STORAGE_TYPE names elasticsearch
 *   (storage/elasticsearch/es-init.ts).
 * - es-clean: one retention run, the one the pilot and the collector make every hour
 *   (storage/elasticsearch/retention.ts), for logs when ELASTICSEARCH_RETENTION_DAYS is set, for spans when
 *   ES_RETENTION_DAYS is set.
 *
 * Exit codes: 0 done; 1 Elasticsearch unreachable, refusing the credentials or a request; 2 usage or configuration.
 * What was done goes to standard output, one line a step; problems to standard error.
 */
import { ShipwatchError } from '../platform/errors.js';
import { loadConfig, type Config, type ConfigProblem, type Env } from '../platform/config/load-config.js';
import { createEsClient, pilotEsConnection, spanStorageEsConnection } from '../storage/elasticsearch/es-client.js';
import { initLogs, initSpans } from '../storage/elasticsearch/es-init.js';
import { cleanLogIndices, cleanSpanIndices, noIlmMessage, type RetentionReport } from '../storage/elasticsearch/retention.js';
import { esProblem } from '../storage/elasticsearch/request-failure.js';

import type { EsCommand } from './es-command-names.js';

export { ES_COMMANDS, type EsCommand } from './es-command-names.js';

/** A target as the pilot accepts one (pilot/log-declarations.ts): an index name's characters, lower case. */
const TARGET_RE = /^[a-z0-9][^\\/*?"<>|,#:\s]*$/;
const TARGET_MAX_CHARS = 200;

interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

const stdio: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

class UsageError extends Error {}

function logsConfigured(config: Config): boolean {
  return config.pilot.esHosts.length > 0 || config.pilot.esHost !== '';
}

/** Runs `command` with `args`; resolves to the exit code. */
export async function runEsCommand(command: EsCommand, args: string[], env: Env, io: Io = stdio): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(env, 'all');
  } catch (err) {
    if (err instanceof ShipwatchError && err.code === 'SW_CONFIG_INVALID') {
      const problems = (err as ShipwatchError & { problems: ConfigProblem[] }).problems;
      io.err(`shipwatch ${command}: invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):`);
      for (const p of problems) io.err(`  ${p.variable}: ${p.reason}`);
      return 2;
    }
    throw err;
  }
  try {
    await (command === 'es-init' ? esInit(config, args, io) : esClean(config, args, io));
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`shipwatch ${command}: ${err.message}`);
      return 2;
    }
    if (err instanceof ShipwatchError) {
      io.err(`shipwatch ${command}: ${err.message}`);
      return err.code === 'SW_CONFIG_INVALID' ? 2 : 1;
    }
    io.err(`shipwatch ${command}: ${esProblem(err)}`);
    return 1;
  }
}

async function esInit(config: Config, targets: string[], io: Io): Promise<void> {
  const bad = targets.filter((t) => !TARGET_RE.test(t) || t.length > TARGET_MAX_CHARS);
  if (bad.length > 0) throw new UsageError(`${bad.map((t) => `"${t}"`).join(', ')}: not a target (lower case letters, digits, "-", "_", "."; at most ${TARGET_MAX_CHARS})`);
  const logs = logsConfigured(config);
  const spans = config.spanStorage.types.includes('elasticsearch');
  if (targets.length > 0 && !logs) throw new UsageError('targets are given but no Elasticsearch for logs: set ELASTICSEARCH_HOSTS (or ELASTICSEARCH_HOST)');
  if (!logs && !spans) throw new UsageError('nothing to create: set ELASTICSEARCH_HOSTS and name targets (es-init app web), and/or SPAN_STORAGE_TYPE=elasticsearch');
  if (logs) {
    const p = config.pilot;
    const conn = pilotEsConnection(p);
    const client = createEsClient(conn);
    try {
      if (targets.length === 0) io.out('logs: no target named; the pilot installs a target\'s template before its first document (es-init app web names them)');
      await initLogs({ client, where: conn.nodes.join(', '), targets, rotation: p.esIndexRotation, dataStreamNamespace: p.esDataStreamNamespace, retentionDays: p.esRetentionDays }, io.out);
    } finally {
      await client.close();
    }
  }
  if (spans) {
    const s = config.spanStorage;
    const client = createEsClient(spanStorageEsConnection(s), { requestTimeoutMs: s.esTimeoutMs });
    try {
      await initSpans({ client, where: s.esServerUrls.join(', '), prefix: s.esIndexPrefix, shards: s.esNumShards, replicas: s.esNumReplicas }, io.out);
    } finally {
      await client.close();
    }
  }
}

function printReport(what: string, days: number, r: RetentionReport, io: Io): void {
  for (const s of r.rolledOver) io.out(`${what}: rolled over ${s}`);
  for (const s of r.ilmAttached) io.out(`${what}: ILM policy named in ${s}`);
  for (const i of r.deleted) io.out(`${what}: deleted ${i}`);
  io.out(`${what}: ${r.deleted.length} ind${r.deleted.length === 1 ? 'ex' : 'ices'} deleted (older than ${days} days)`);
}

async function esClean(config: Config, args: string[], io: Io): Promise<void> {
  if (args.length > 0) throw new UsageError(`es-clean takes no arguments (got ${args.join(' ')}); the days come from ELASTICSEARCH_RETENTION_DAYS and ES_RETENTION_DAYS`);
  const logDays = logsConfigured(config) ? config.pilot.esRetentionDays : undefined;
  const spanDays = config.spanStorage.esRetentionDays;
  if (logDays === undefined && spanDays === undefined) {
    throw new UsageError('nothing to clean: set ELASTICSEARCH_RETENTION_DAYS (with ELASTICSEARCH_HOSTS) for logs and/or ES_RETENTION_DAYS (with ES_SERVER_URLS) for spans');
  }
  if (logDays !== undefined) {
    const conn = pilotEsConnection(config.pilot);
    const client = createEsClient(conn);
    try {
      const r = await cleanLogIndices(client, { days: logDays, onIlm: (ilm) => { if (!ilm) io.out(`logs: ${noIlmMessage()}`); } });
      printReport('logs', logDays, r, io);
    } catch (err) {
      throw new ShipwatchError('SW_OUTPUT_FAILED', `Elasticsearch at ${conn.nodes.join(', ')}, log indices: ${esProblem(err)}`, { cause: err });
    } finally {
      await client.close();
    }
  }
  if (spanDays !== undefined) {
    const s = config.spanStorage;
    const client = createEsClient(spanStorageEsConnection(s), { requestTimeoutMs: s.esTimeoutMs });
    try {
      printReport('spans', spanDays, await cleanSpanIndices(client, { days: spanDays, prefix: s.esIndexPrefix }), io);
    } catch (err) {
      throw new ShipwatchError('SW_OUTPUT_FAILED', `Elasticsearch at ${s.esServerUrls.join(', ')}, span indices: ${esProblem(err)}`, { cause: err });
    } finally {
      await client.close();
    }
  }
}
