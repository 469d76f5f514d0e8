/**
 * Where the test services are: test/run.ts (`npm test`) starts them through test/services/*.sh and passes their
 * coordinates in SHIPWATCH_TEST_* variables, read here.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SERVICES_DIR = fileURLToPath(new URL('../services/', import.meta.url));

export interface TestServices {
  /** Elasticsearch 8, single node, security off: `http://127.0.0.1:9200`. */
  readonly esUrl: string;
  /** VictoriaMetrics (InfluxDB `/api/v2/write`, Prometheus query API): `http://127.0.0.1:8428`. */
  readonly vmUrl: string;
  /** The prometheus binary, for tests that start their own (helpers/prometheus.ts). */
  readonly prometheusBin: string;
  /** The Docker engine's unix socket. */
  readonly dockerSocket: string;
  /** The busybox image every test container runs. */
  readonly image: string;
  /** test/fixtures: conformance data from public projects, with its origin in its README. */
  readonly fixturesDir: string;
}

const VARIABLES = {
  esUrl: 'SHIPWATCH_TEST_ES_URL',
  vmUrl: 'SHIPWATCH_TEST_VM_URL',
  prometheusBin: 'SHIPWATCH_TEST_PROMETHEUS_BIN',
  dockerSocket: 'SHIPWATCH_TEST_DOCKER_SOCKET',
  image: 'SHIPWATCH_TEST_IMAGE',
  fixturesDir: 'SHIPWATCH_TEST_FIXTURES',
} as const satisfies Record<keyof TestServices, string>;

let cached: TestServices | undefined;

/** The services' coordinates; throws naming the runner when the test was not started by it. */
export function testServices(): TestServices {
  if (cached) return cached;
  const missing = Object.values(VARIABLES).filter((name) => !process.env[name]);
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(', ')} not set: run integration tests through the test runner, ` +
        '`npm test -- <file or folder>` (test/run.ts starts the services and sets these)',
    );
  }
  const entries = Object.entries(VARIABLES).map(([key, name]) => [key, process.env[name]!]);
  cached = Object.freeze(Object.fromEntries(entries) as unknown as TestServices);
  return cached;
}

/** A file under test/fixtures, e.g. `fixturePath('line-protocol', 'corpus.json')`. */
export function fixturePath(...parts: string[]): string {
  return join(testServices().fixturesDir, ...parts);
}

async function elasticsearchScript(action: 'stop' | 'start'): Promise<void> {
  try {
    await run('bash', [join(SERVICES_DIR, 'elasticsearch.sh'), action], { timeout: 300_000 });
  } catch (err) {
    const output = err as { stdout?: string; stderr?: string };
    throw new Error(`elasticsearch.sh ${action} failed: ${output.stderr ?? ''}${output.stdout ?? ''}`.trim(), { cause: err });
  }
}

/** Stops the test Elasticsearch (an outage); returns once its port no longer answers. Needs root. */
export function stopElasticsearch(): Promise<void> {
  return elasticsearchScript('stop');
}

/** Starts it again; returns once the cluster is yellow. Needs root. */
export function startElasticsearch(): Promise<void> {
  return elasticsearchScript('start');
}
