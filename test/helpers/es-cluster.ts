/**
 * The three-node Elasticsearch cluster of the tests (test/services/elasticsearch-cluster.sh): its URLs come from
 * SHIPWATCH_TEST_ES_CLUSTER_URLS (test/run.ts sets the 8.x cluster's), its nodes are stopped, killed and started
 * again through the script, which needs root. The version the script is run for is the cluster's own, read from
 * the nodes API, so the same test runs on a 9.x cluster when the variable names its ports.
 */
import { Client } from '@elastic/elasticsearch';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = join(fileURLToPath(new URL('../services/', import.meta.url)), 'elasticsearch-cluster.sh');
const VARIABLE = 'SHIPWATCH_TEST_ES_CLUSTER_URLS';

export class EsCluster {
  private constructor(
    /** node-1, node-2, node-3's HTTP URLs, in that order. */
    readonly urls: readonly string[],
    /** The nodes' Elasticsearch version. */
    readonly version: string,
  ) {}

  /** The cluster once all three nodes are in it and it is green; throws naming the runner when it is not set. */
  static async connect(): Promise<EsCluster> {
    const value = process.env[VARIABLE];
    if (!value) throw new Error(`${VARIABLE} not set: run integration tests through the test runner, \`npm test -- <file or folder>\``);
    const urls = value.split(',').map((u) => u.trim().replace(/\/+$/, ''));
    if (urls.length !== 3) throw new Error(`${VARIABLE} must name three node URLs, not ${JSON.stringify(value)}`);
    const client = new Client({ nodes: urls, maxRetries: urls.length - 1, requestTimeout: 90_000 });
    try {
      const health = await client.cluster.health({ wait_for_status: 'green', wait_for_nodes: 3, timeout: '60s' });
      if (health.timed_out) throw new Error(`the cluster at ${value} is ${health.status} with ${health.number_of_nodes} nodes`);
      const info = await client.nodes.info({ node_id: '_all', metric: '_none' });
      const versions = [...new Set(Object.values(info.nodes).map((n) => n.version))];
      if (versions.length !== 1) throw new Error(`the cluster's nodes differ in version: ${versions.join(', ')}`);
      return new EsCluster(urls, versions[0]!);
    } catch (err) {
      throw new Error(`no green three-node Elasticsearch cluster at ${value} (test/services/elasticsearch-cluster.sh)`, { cause: err });
    } finally {
      await client.close();
    }
  }

  /** A client on all three nodes (the caller closes it); it goes on to another node when one does not answer. */
  client(): Client {
    return new Client({ nodes: [...this.urls], maxRetries: this.urls.length - 1, requestTimeout: 60_000 });
  }

  /** The number (1..3) of the node whose name is `node-N`. */
  static nodeNumber(name: string): 1 | 2 | 3 {
    const m = /^node-([123])$/.exec(name);
    if (!m) throw new Error(`not a node of the test cluster: ${name}`);
    return Number(m[1]) as 1 | 2 | 3;
  }

  /** SIGKILL: the node is gone at once, no shutdown, its connections reset. */
  killNode(n: 1 | 2 | 3): Promise<void> {
    return this.script('kill-node', n);
  }

  /** SIGTERM, and waits for the process to end. */
  stopNode(n: 1 | 2 | 3): Promise<void> {
    return this.script('stop-node', n);
  }

  /** Starts node N again; resolves once the cluster has three nodes (yellow at least: copies may still recover). */
  startNode(n: 1 | 2 | 3): Promise<void> {
    return this.script('start-node', n);
  }

  private async script(action: string, n: number): Promise<void> {
    try {
      await run('bash', [SCRIPT, action, String(n)], { timeout: 300_000, env: { ...process.env, ES_CLUSTER_VERSION: this.version } });
    } catch (err) {
      const output = err as { stdout?: string; stderr?: string };
      throw new Error(`elasticsearch-cluster.sh ${action} ${n} failed: ${output.stderr ?? ''}${output.stdout ?? ''}`.trim(), { cause: err });
    }
  }
}
