/**
 * `shipwatch es-init` and `shipwatch es-clean` as an operator runs them (the command from source, only PATH and the
 * test's variables in its environment), against the real Elasticsearch: what they create, that a second run
 * changes nothing, and the exit codes of the README (0 done, 1 Elasticsearch unreachable or refusing, 2 usage or
 * configuration).
 *
 * Refused credentials cannot be shown here: the test node runs without security, so it takes any.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@elastic/elasticsearch';
import { esTestUrl } from '../helpers/elasticsearch.js';
import { freePort } from '../helpers/ports.js';

const ENTRY = fileURLToPath(new URL('../../cli/shipwatch.ts', import.meta.url));
const run = `swinit-${process.pid}-${Date.now().toString(36)}`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function shipwatch(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', ENTRY, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

describe('shipwatch es-init and es-clean against a real Elasticsearch', () => {
  let es: Client;
  let url: string;

  before(async () => {
    url = await esTestUrl();
    es = new Client({ node: url, maxRetries: 0 });
  });
  after(async () => {
    const templates = await es.indices.getIndexTemplate({ name: `*${run}*` }, { ignore: [404] });
    for (const t of templates.index_templates ?? []) await es.indices.deleteIndexTemplate({ name: t.name });
    await es.close();
  });

  test('creates the log templates of the named targets and the span templates, and a second run changes nothing', async () => {
    const env = { ELASTICSEARCH_HOSTS: url, SPAN_STORAGE_TYPE: 'elasticsearch', ES_SERVER_URLS: url, ES_INDEX_PREFIX: run, ES_NUM_SHARDS: '1', ES_NUM_REPLICAS: '0' };
    const first = await shipwatch(['es-init', `${run}-app`, `${run}-web`], env);
    assert.equal(first.code, 0, first.stderr);
    const lines = first.stdout.trim().split('\n');
    assert.equal(lines.length, 6, first.stdout);
    assert.match(lines[0]!, new RegExp(`^log index template shipwatch-logs-${run}-app \\(${run}-app, ${run}-app-1\\*, .*\\): installed \\(version \\d+\\)$`));
    assert.match(lines[1]!, new RegExp(`^log index template shipwatch-logs-${run}-web .*: installed`));
    assert.deepEqual(lines.slice(2).map((l) => l.split(' ')[3]), [`${run}-jaeger-span`, `${run}-jaeger-service`, `${run}-jaeger-span-shipwatch`, `${run}-jaeger-service-shipwatch`]);

    const stored = await es.indices.getIndexTemplate({ name: `*${run}*` });
    assert.deepEqual(stored.index_templates.map((t) => t.name).sort(), [
      `shipwatch-logs-${run}-app`, `shipwatch-logs-${run}-web`,
      `${run}-jaeger-service`, `${run}-jaeger-service-shipwatch`, `${run}-jaeger-span`, `${run}-jaeger-span-shipwatch`,
    ]);
    const span = stored.index_templates.find((t) => t.name === `${run}-jaeger-span-shipwatch`)!.index_template;
    assert.deepEqual(span.index_patterns, [`${run}-jaeger-span-*`]);
    assert.equal(span.template?.settings?.index?.number_of_shards, '1');
    const app = stored.index_templates.find((t) => t.name === `shipwatch-logs-${run}-app`)!.index_template;
    assert.equal((app.template?.mappings?.properties?.['message'] as { type?: string }).type, 'text');

    const second = await shipwatch(['es-init', `${run}-app`, `${run}-web`], env);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /shipwatch-logs-swinit-.*-app .*: up to date/);
    assert.match(second.stdout, /shipwatch-logs-swinit-.*-web .*: up to date/);
    const again = await es.indices.getIndexTemplate({ name: `*${run}*` });
    assert.equal(again.index_templates.length, 6);
  });

  test('an unreachable Elasticsearch exits 1 naming the address and what failed', async () => {
    const port = await freePort();
    const r = await shipwatch(['es-init', `${run}-app`], { ELASTICSEARCH_HOSTS: `127.0.0.1:${port}` });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^shipwatch es-init: .*Elasticsearch at http://127\\.0\\.0\\.1:${port}, log index template shipwatch-logs-${run}-app: unreachable \\(`));
    const clean = await shipwatch(['es-clean'], { ES_SERVER_URLS: `http://127.0.0.1:${port}`, ES_RETENTION_DAYS: '3' });
    assert.equal(clean.code, 1);
    assert.match(clean.stderr, new RegExp(`Elasticsearch at http://127\\.0\\.0\\.1:${port}, span indices: unreachable`));
  });

  test('wrong usage and wrong variables exit 2 and say what is wrong', async () => {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['es-init'], {}, /nothing to create: set ELASTICSEARCH_HOSTS/],
      [['es-init', 'app'], {}, /targets are given but no Elasticsearch for logs/],
      [['es-init', 'App*'], { ELASTICSEARCH_HOSTS: url }, /"App\*": not a target/],
      [['es-init', 'app'], { ELASTICSEARCH_HOSTS: url, ELASTICSEARCH_RETENTION_DAYS: '0' }, /ELASTICSEARCH_RETENTION_DAYS: "0" is not a number of days from 1 to 36500/],
      [['es-clean'], {}, /nothing to clean: set ELASTICSEARCH_RETENTION_DAYS/],
      [['es-clean', 'now'], { ES_RETENTION_DAYS: '3' }, /es-clean takes no arguments/],
      [['es-clean'], { ES_RETENTION_DAYS: 'a week' }, /ES_RETENTION_DAYS: "a week" is not a number of days/],
    ];
    for (const [args, env, message] of cases) {
      const r = await shipwatch(args, env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  test('es-clean runs the retention once and reports what it deleted', async () => {
    // Span indices made now are not old: the run lists them and deletes none (the rules are tested in
    // test/storage/elasticsearch/retention.test.ts); this checks the command's wiring and report.
    await es.indices.create({ index: `${run}-jaeger-span-2026-11-01`, settings: { number_of_shards: 1, number_of_replicas: 0 } });
    try {
      const r = await shipwatch(['es-clean'], { ES_SERVER_URLS: url, ES_INDEX_PREFIX: run, ES_RETENTION_DAYS: '1' });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'spans: 0 indices deleted (older than 1 days)\n');
      assert.equal((await es.indices.exists({ index: `${run}-jaeger-span-2026-11-01` })), true);
    } finally {
      await es.indices.delete({ index: `${run}-jaeger-span-2026-11-01`, ignore_unavailable: true });
    }
  });

  test('--help lists es-init and es-clean', async () => {
    const r = await shipwatch(['--help'], {});
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^ {2}es-init +create the index templates/m);
    assert.match(r.stdout, /^ {2}es-clean +delete the log and span indices/m);
  });
});
