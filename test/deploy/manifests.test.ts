/**
 * The deployment examples under deploy/, checked as far as this machine allows without a swarm or a Kubernetes cluster:
 * every file parses (YAML through Python's PyYAML, Debian's python3-yaml); the Shipwatch services run a program with
 * variables that program knows and values its configuration loader accepts; the pilot has the mounts and variables the
 * README names; ports are the programs' defaults and the README's port table; the Grafana dashboard queries
 * measurements, fields and tags the collector writes on a real statistics reading; the Kibana data views resolve to the
 * pilot's and Jaeger's index names on a real Elasticsearch.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { statsToPoints, type EngineStats } from '../../collector/monitoring/docker-stats.js';
import { httpJsonMeasurement } from '../../collector/monitoring/http-json.js';
import { describeVariables, loadConfig } from '../../platform/config/load-config.js';
import type { Program } from '../../platform/config/schema.js';
import { BulkEncoder } from '../../storage/elasticsearch/bulk-encoder.js';
import { indexDate, jaegerIndexNames, jaegerIndexTemplates } from '../../storage/elasticsearch/jaeger-indices.js';
import { fieldPairs, tagPairs, type MetricPoint } from '../../model/metric-point.js';
import { execIn, runContainer, waitFor } from '../helpers/docker.js';
import { esTestUrl } from '../helpers/elasticsearch.js';
import { startMonitoring } from '../collector/monitoring/support/monitoring-harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEPLOY = join(ROOT, 'deploy');
const COMPOSE_FILE = join(DEPLOY, 'compose', 'docker-compose.yml');
const K8S_DIR = join(DEPLOY, 'kubernetes');

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- parsed manifests are checked field by field

// ---------------------------------------------------------------------------------------------------------------
// Reading the files

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Every document of a YAML file, through PyYAML's safe loader (anchors resolved, no custom tags). */
function yamlDocuments(file: string): Json[] {
  const script = 'import json, sys, yaml\nwith open(sys.argv[1]) as f:\n    print(json.dumps(list(yaml.safe_load_all(f))))';
  const r = spawnSync('python3', ['-c', script, file], { encoding: 'utf8' });
  if (r.error) throw new Error(`python3 could not run (${r.error.message}): the YAML checks need python3 and python3-yaml`);
  if (r.status !== 0) throw new Error(`${relative(ROOT, file)} does not parse as YAML:\n${r.stderr.trim()}`);
  return (JSON.parse(r.stdout) as Json[]).filter((d) => d !== null);
}

function compose(): Json {
  return yamlDocuments(COMPOSE_FILE)[0];
}

function k8sObjects(): Json[] {
  return readdirSync(K8S_DIR)
    .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
    .sort()
    .flatMap((f) => yamlDocuments(join(K8S_DIR, f)));
}

// ---------------------------------------------------------------------------------------------------------------
// What the programs know

/** Which configuration sections each program reads (platform/config/load-config.ts, SECTIONS_OF). */
const SECTIONS_OF: Record<Program, string[]> = {
  pilot: ['common', 'pilot'],
  collector: ['common', 'spanStorage', 'collector'],
  query: ['common', 'spanStorage', 'query'],
  all: ['common', 'spanStorage', 'pilot', 'collector', 'query'],
  ingester: ['common', 'spanStorage', 'pilot', 'ingester'],
};

function knownVariables(program: Program): Set<string> {
  return new Set(describeVariables().filter((v) => SECTIONS_OF[program].includes(v.section)).flatMap((v) => [v.name, ...v.aliases]));
}

function defaultOf(name: string): string {
  const row = describeVariables().find((v) => v.name === name);
  assert.ok(row, `no variable ${name}`);
  return row.default;
}

/**
 * Default listen ports by variable, with UDP for the receivers the README's port table puts on UDP; a listener off
 * by default (no default, such as the pilot's syslog receiver) opens no port.
 */
function listenPorts(program: Program): Array<{ variable: string; port: number; protocol: 'tcp' | 'udp' }> {
  return describeVariables()
    .filter((v) => SECTIONS_OF[program].includes(v.section) && v.section !== 'common' && v.name.endsWith('_LISTEN') && /:\d+$/.test(v.default))
    .map((v) => ({ variable: v.name, port: Number(v.default.split(':').pop()), protocol: /\bUDP\b/.test(v.doc) ? 'udp' as const : 'tcp' as const }));
}

function adminPort(program: Exclude<Program, 'all'>): number {
  return Number(defaultOf(`${program.toUpperCase()}_ADMIN_LISTEN`).split(':').pop());
}

/** `${VAR:-default}` / `${VAR}` as docker compose substitutes them with nothing set: the default, or ''. */
function substituted(value: string): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g, (_m, _name: string, def: string | undefined) => def ?? '');
}

function envOfCompose(service: Json): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((e: string) => [e.split('=')[0]!, e.slice(e.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
}

function shipwatchServices(c: Json): Array<[string, Json]> {
  return Object.entries(c.services as Record<string, Json>).filter(([, s]) => /(^|\/)shipwatch[:@]|SHIPWATCH_IMAGE/.test(String(s.image)));
}

function programOf(args: unknown): Program {
  const program = (args as string[] | undefined)?.[0];
  assert.ok(program === 'pilot' || program === 'collector' || program === 'query' || program === 'all' || program === 'ingester', `not a program: ${String(program)}`);
  return program;
}

function shipwatchContainers(objects: Json[]): Array<{ workload: Json; container: Json; program: Program }> {
  return objects
    .filter((o) => o.kind === 'DaemonSet' || o.kind === 'Deployment')
    .flatMap((o) => (o.spec.template.spec.containers as Json[]).filter((c) => /(^|\/)shipwatch[:@]/.test(c.image)).map((c) => ({ workload: o, container: c, program: programOf(c.args) })));
}

function k8sEnv(container: Json): Record<string, Json> {
  return Object.fromEntries((container.env ?? []).map((e: Json) => [e.name, e]));
}

/** The image's ENV lines (the defaults every service starts from). */
function imageEnv(): Record<string, string> {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const runtime = text.slice(text.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const m of runtime.matchAll(/^ENV\s+(.+)$/gm)) for (const kv of m[1]!.matchAll(/([A-Z_]+)=(\S+)/g)) env[kv[1]!] = kv[2]!;
  return env;
}

/** `-v <source>:<target>` pairs the README gives for the pilot. */
function readmeMounts(): Array<[string, string]> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  return [...readme.matchAll(/-v (\/[^\s:`]*):(\/[^\s:`]*)/g)].map((m) => [m[1]!, m[2]!]);
}

// ---------------------------------------------------------------------------------------------------------------

test('every YAML, JSON and NDJSON file under deploy/ parses', () => {
  const files = filesUnder(DEPLOY);
  const checked: string[] = [];
  for (const file of files) {
    if (/\.ya?ml$/.test(file)) {
      assert.ok(yamlDocuments(file).length > 0, `${relative(ROOT, file)} holds no document`);
    } else if (file.endsWith('.ndjson')) {
      const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
      assert.ok(lines.length > 0);
      for (const line of lines) JSON.parse(line);
    } else if (file.endsWith('.json')) {
      JSON.parse(readFileSync(file, 'utf8'));
    } else {
      continue;
    }
    checked.push(relative(DEPLOY, file));
  }
  for (const expected of ['compose/docker-compose.yml', 'kubernetes/pilot-daemonset.yaml', 'grafana/dashboards/container-metrics.json', 'kibana/data-views.ndjson']) {
    assert.ok(checked.includes(expected), `${expected} is missing or was not checked`);
  }
});

test('the Shipwatch services of the stack and the manifests use only variables their program knows, with values it accepts', () => {
  const runs: Array<{ where: string; program: Program; env: Record<string, string> }> = [];
  for (const [name, service] of shipwatchServices(compose())) {
    runs.push({ where: `compose service ${name}`, program: programOf(service.command), env: envOfCompose(service) });
  }
  for (const { workload, container, program } of shipwatchContainers(k8sObjects())) {
    const env: Record<string, string> = {};
    for (const e of container.env ?? []) env[e.name] = e.value ?? (e.valueFrom?.fieldRef ? 'node-1' : 'from-a-secret');
    runs.push({ where: `${workload.kind} ${workload.metadata.name}`, program, env });
  }
  assert.deepEqual(new Set(runs.map((r) => r.program)), new Set(['pilot', 'collector', 'query']), 'every program is deployed');
  for (const { where, program, env } of runs) {
    const known = knownVariables(program);
    assert.deepEqual(Object.keys(env).filter((k) => !known.has(k)), [], `${where}: variables ${program} does not read`);
    const values = Object.fromEntries(Object.entries({ ...imageEnv(), ...env }).map(([k, v]) => [k, substituted(v)]));
    assert.doesNotThrow(() => loadConfig(values, program), `${where}: the configuration does not load`);
  }
});

test('the Kafka profile (compose/kafka.yml): pilots and collectors write to its Kafka, ingesters read what they write into the stack\'s Elasticsearch, with variables their programs know', () => {
  const base = compose();
  const profile = yamlDocuments(join(DEPLOY, 'compose', 'kafka.yml'))[0];
  const envOf = (name: string): Record<string, string> => ({ ...(base.services[name] ? envOfCompose(base.services[name]) : {}), ...envOfCompose(profile.services[name]) });
  const services: Record<string, { program: Program; env: Record<string, string> }> = {};
  for (const name of Object.keys(profile.services as Record<string, Json>)) {
    const service = { ...base.services[name], ...profile.services[name] };
    if (!/(^|\/)shipwatch[:@]|SHIPWATCH_IMAGE/.test(String(service.image))) continue;
    services[name] = { program: programOf(service.command), env: envOf(name) };
  }
  assert.deepEqual(Object.values(services).map((s) => s.program).sort(), ['collector', 'ingester', 'ingester', 'pilot']);
  for (const [name, { program, env }] of Object.entries(services)) {
    const known = knownVariables(program);
    assert.deepEqual(Object.keys(env).filter((k) => !known.has(k)), [], `${name}: variables ${program} does not read`);
    const values = Object.fromEntries(Object.entries({ ...imageEnv(), ...env }).map(([k, v]) => [k, substituted(v)]));
    assert.doesNotThrow(() => loadConfig(values, program), `${name}: the configuration does not load`);
  }
  // One broker every side names, advertised under the name they use.
  const kafka = profile.services.kafka;
  assert.match(String(kafka.image), /kafka/);
  const advertised = String(kafka.environment.KAFKA_ADVERTISED_LISTENERS).replace(/^PLAINTEXT:\/\//, '');
  const byName = (name: string): Record<string, string> => services[name]!.env;
  assert.equal(byName('pilot').LOGGING_OUTPUT, 'kafka');
  assert.equal(byName('pilot').KAFKA_BROKERS, advertised);
  assert.equal(byName('collector').SPAN_STORAGE_TYPE, 'kafka');
  assert.equal(byName('collector').KAFKA_PRODUCER_BROKERS, advertised);
  for (const ingester of ['ingester-spans', 'ingester-logs']) assert.equal(byName(ingester).KAFKA_CONSUMER_BROKERS, advertised);
  // The spans ingester reads the collectors' topic in their encoding; the logs ingester every pilot target's topic.
  assert.equal(byName('ingester-spans').KAFKA_CONSUMER_TOPIC, byName('collector').KAFKA_PRODUCER_TOPIC);
  assert.equal(byName('ingester-spans').KAFKA_CONSUMER_ENCODING, byName('collector').KAFKA_PRODUCER_ENCODING);
  const pattern = /^\/(.*)\/$/.exec(byName('ingester-logs').INGESTER_LOG_TOPICS!)![1]!;
  const readsTopic = (topic: string): boolean => new RegExp(pattern).test(topic);
  for (const target of ['catalina', 'access', 'syslog', 'otlp']) assert.ok(readsTopic(target), `reads ${target}`);
  for (const other of ['jaeger-spans', 'jaeger-spans-dlq', 'shipwatch-logs-dlq', '__consumer_offsets']) assert.ok(!readsTopic(other), `leaves ${other}`);
  // Both write to the stack's Elasticsearch.
  for (const url of [byName('ingester-spans').ES_SERVER_URLS!, byName('ingester-logs').ELASTICSEARCH_HOSTS!]) {
    assert.ok(base.services[new URL(url).hostname]?.image?.includes('elasticsearch'), url);
  }
});

test('the pilot runs on every node with the engine socket, the host root at PILOT_HOST_ROOT, a data folder and the elasticsearch output', () => {
  const mounts = readmeMounts();
  const socket = mounts.find(([s]) => s.endsWith('docker.sock'));
  const root = mounts.find(([s]) => s === '/');
  assert.ok(socket && root, `the README names the pilot's mounts (-v ...docker.sock, -v /:...), found ${JSON.stringify(mounts)}`);

  const c = compose();
  const pilots = shipwatchServices(c).filter(([, s]) => programOf(s.command) === 'pilot');
  assert.equal(pilots.length, 1);
  const [, pilot] = pilots[0]!;
  assert.equal(pilot.deploy?.mode, 'global');
  const env = envOfCompose(pilot);
  assert.equal(env.PILOT_HOST_ROOT, root[1]);
  assert.deepEqual(env.LOGGING_OUTPUT?.split(','), ['elasticsearch']);
  const esUrl = new URL(env.ELASTICSEARCH_HOSTS!);
  assert.ok(c.services[esUrl.hostname]?.image?.includes('elasticsearch'), `ELASTICSEARCH_HOSTS names the stack's Elasticsearch: ${esUrl.href}`);
  assert.equal(esUrl.port, '9200');
  const volumes = (pilot.volumes as string[]).map((v) => v.split(':'));
  assert.ok(volumes.some(([s, t]) => s === socket[0] && t === socket[1]), 'the engine socket is mounted');
  const hostRoot = volumes.find(([s, t]) => s === root[0] && t === root[1]);
  assert.ok(hostRoot, 'the host root is mounted');
  assert.ok(hostRoot[2]?.split(',').includes('ro'), 'the host root is read-only');
  const dataDir = env.SHIPWATCH_DATA_DIR ?? imageEnv().SHIPWATCH_DATA_DIR;
  const data = volumes.find(([, t]) => t === dataDir);
  assert.ok(data && c.volumes && data[0]! in c.volumes, `SHIPWATCH_DATA_DIR (${dataDir}) is a named volume`);

  const [daemonSet, ...others] = shipwatchContainers(k8sObjects()).filter((x) => x.program === 'pilot');
  assert.equal(others.length, 0);
  assert.ok(daemonSet);
  assert.equal(daemonSet.workload.kind, 'DaemonSet');
  const kEnv = k8sEnv(daemonSet.container);
  assert.equal(kEnv.PILOT_HOST_ROOT?.value, root[1]);
  assert.equal(kEnv.LOGGING_OUTPUT?.value, 'elasticsearch');
  assert.ok(kEnv.ELASTICSEARCH_HOSTS?.value);
  assert.deepEqual(kEnv.NODE_NAME?.valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } });
  const hostPaths = new Map<string, string>(
    (daemonSet.workload.spec.template.spec.volumes as Json[]).filter((v) => v.hostPath).map((v) => [v.name, v.hostPath.path]),
  );
  const mountOf = (hostPath: string): Json =>
    (daemonSet.container.volumeMounts as Json[]).find((m) => hostPaths.get(m.name) === hostPath);
  assert.equal(mountOf(socket[0])?.mountPath, socket[1]);
  assert.equal(mountOf(root[0])?.mountPath, root[1]);
  assert.equal(mountOf(root[0])?.readOnly, true);
  const kDataDir = kEnv.SHIPWATCH_DATA_DIR?.value ?? imageEnv().SHIPWATCH_DATA_DIR;
  const dataMount = (daemonSet.container.volumeMounts as Json[]).find((m) => m.mountPath === kDataDir);
  assert.ok(dataMount && hostPaths.has(dataMount.name), 'SHIPWATCH_DATA_DIR is a host folder');
});

test('published ports, container ports, probes and health checks are the programs\' defaults and the README\'s', () => {
  // The README's port table: | 6831/udp | collector | ... |
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const documented = [...readme.matchAll(/^\| (\d+)(\/udp)? \| (pilot|collector|query) \|/gm)].map((m) => `${m[3]} ${m[1]}/${m[2] ? 'udp' : 'tcp'}`);
  const configPorts = (['pilot', 'collector', 'query'] as const).flatMap((p) => listenPorts(p).map((l) => `${p} ${l.port}/${l.protocol}`));
  assert.deepEqual(new Set(configPorts), new Set(documented), 'the configuration defaults are the README\'s ports');

  const exposed = new Set([...readFileSync(join(ROOT, 'Dockerfile'), 'utf8').matchAll(/^EXPOSE (.+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/)));
  for (const port of configPorts) {
    const [, p] = port.split(' ');
    assert.ok(exposed.has(p!.replace('/tcp', '')), `the Dockerfile exposes ${p}`);
  }

  const c = compose();
  for (const [name, service] of shipwatchServices(c)) {
    const program = programOf(service.command) as Exclude<Program, 'all'>;
    const published = new Set(((service.ports ?? []) as string[]).map((p) => {
      const [hostPort, rest] = p.split(/:(.*)/) as [string, string];
      assert.equal(hostPort, rest.replace('/udp', ''), `${name}: ${p} publishes the same port number`);
      return rest.includes('/') ? rest : `${rest}/tcp`;
    }));
    const served = listenPorts(program).filter((l) => !l.variable.endsWith('_ADMIN_LISTEN') || program === 'collector');
    if (program !== 'pilot') {
      for (const l of served) assert.ok(published.has(`${l.port}/${l.protocol}`), `${name} publishes ${l.port}/${l.protocol} (${l.variable})`);
    }
    for (const p of published) assert.ok(listenPorts(program).some((l) => `${l.port}/${l.protocol}` === p), `${name} publishes ${p}, which it does not serve`);
    const check = (service.healthcheck?.test as string[]).join(' ');
    assert.match(check, new RegExp(`127\\.0\\.0\\.1:${adminPort(program)}/health`), `${name}'s health check asks its admin port`);
  }

  const objects = k8sObjects();
  for (const { workload, container, program } of shipwatchContainers(objects)) {
    const ports = new Map<string, Json>((container.ports as Json[]).map((p) => [p.name, p]));
    const declared = new Set([...ports.values()].map((p) => `${p.containerPort}/${(p.protocol ?? 'TCP').toLowerCase()}`));
    assert.deepEqual(declared, new Set(listenPorts(program).map((l) => `${l.port}/${l.protocol}`)), `${workload.metadata.name}: container ports`);
    assert.equal(ports.get(container.readinessProbe.httpGet.port)?.containerPort, adminPort(program as Exclude<Program, 'all'>));
    assert.equal(container.readinessProbe.httpGet.path, '/health');
    const labels = workload.spec.template.metadata.labels;
    assert.deepEqual(workload.spec.selector.matchLabels, Object.fromEntries(Object.keys(workload.spec.selector.matchLabels).map((k) => [k, labels[k]])));
    for (const service of objects.filter((o) => o.kind === 'Service' && Object.entries(o.spec.selector).every(([k, v]) => labels[k] === v))) {
      for (const sp of service.spec.ports as Json[]) {
        const target = ports.get(sp.targetPort);
        assert.ok(target, `Service ${service.metadata.name}: targetPort ${sp.targetPort} is a port of ${workload.metadata.name}`);
        assert.equal(sp.port, target.containerPort);
        assert.equal(sp.protocol ?? 'TCP', target.protocol ?? 'TCP');
      }
    }
  }
  const namespaces = new Set(objects.filter((o) => o.kind !== 'Namespace').map((o) => o.metadata.namespace));
  assert.deepEqual([...namespaces], [objects.find((o) => o.kind === 'Namespace')?.metadata.name]);
  const kustomization = yamlDocuments(join(K8S_DIR, 'kustomization.yaml'))[0];
  for (const file of kustomization.resources as string[]) assert.ok(existsSync(join(K8S_DIR, file)), `kustomization names ${file}`);
});

/** `pattern` (an Elasticsearch index list: comma separated, `*` wildcards, `-` exclusions) names `index`. */
function indexListCovers(patterns: readonly string[], index: string): boolean {
  const glob = (p: string): RegExp => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  let covered = false;
  for (const p of patterns) {
    if (p.startsWith('-')) {
      if (glob(p.slice(1)).test(index)) covered = false;
    } else if (glob(p).test(index)) covered = true;
  }
  return covered;
}

test('query reads where the stack writes: spans and logs from the Elasticsearch of the pilots and collectors, metrics from the collectors\' InfluxDB', () => {
  const runs: Array<{ where: string; env: (name: string) => unknown; program: Program }> = [];
  for (const [name, service] of shipwatchServices(compose())) {
    const env = envOfCompose(service);
    runs.push({ where: `compose service ${name}`, program: programOf(service.command), env: (n) => (env[n] === undefined ? undefined : substituted(env[n]!)) });
  }
  for (const { workload, container, program } of shipwatchContainers(k8sObjects())) {
    const env = k8sEnv(container);
    runs.push({ where: `${workload.kind} ${workload.metadata.name}`, program, env: (n) => (env[n] === undefined ? undefined : env[n].value ?? env[n].valueFrom) });
  }
  const groups = [runs.filter((r) => r.where.startsWith('compose')), runs.filter((r) => !r.where.startsWith('compose'))];
  for (const group of groups) {
    const of = (program: Program) => {
      const found = group.find((r) => r.program === program);
      assert.ok(found, `${program} is deployed`);
      return found;
    };
    const query = of('query');
    const collector = of('collector');
    const pilot = of('pilot');
    const where = query.where;
    assert.equal(query.env('SPAN_STORAGE_TYPE'), 'elasticsearch', where);
    assert.equal(query.env('LOG_STORAGE_TYPE'), 'elasticsearch', where);
    assert.equal(query.env('METRIC_STORAGE_TYPE'), 'influxdb', where);
    assert.equal(collector.env('SPAN_STORAGE_TYPE'), 'elasticsearch', collector.where);
    assert.equal(pilot.env('LOGGING_OUTPUT'), 'elasticsearch', pilot.where);
    assert.equal(query.env('ES_SERVER_URLS'), collector.env('ES_SERVER_URLS'), `${where}: the collector's Elasticsearch`);
    assert.equal(query.env('ES_SERVER_URLS'), pilot.env('ELASTICSEARCH_HOSTS'), `${where}: the pilot's Elasticsearch`);
    for (const name of ['INFLUXDB_URL', 'INFLUXDB_BUCKET', 'INFLUXDB_TOKEN']) {
      assert.ok(query.env(name) !== undefined, `${where} sets ${name}`);
      assert.deepEqual(query.env(name), collector.env(name), `${where}: ${name} as the collector's`);
    }
    // The log API's indices cover what the pilot writes (its default daily rotation), not Jaeger's.
    const env: Record<string, string> = {};
    for (const name of ['SPAN_STORAGE_TYPE', 'LOG_STORAGE_TYPE', 'METRIC_STORAGE_TYPE', 'ES_SERVER_URLS', 'INFLUXDB_URL', 'INFLUXDB_BUCKET', 'QUERY_LOG_INDICES']) {
      const v = query.env(name);
      if (typeof v === 'string') env[name] = v;
    }
    const config = loadConfig({ ...imageEnv(), ...env }, 'query');
    const rotation = typeof pilot.env('ELASTICSEARCH_INDEX_ROTATION') === 'string' ? pilot.env('ELASTICSEARCH_INDEX_ROTATION') as 'daily' : 'daily';
    const pilotIndex = new BulkEncoder(rotation).indexName('web', Date.now());
    assert.ok(indexListCovers(config.query.logIndices, pilotIndex), `${where}: QUERY_LOG_INDICES covers the pilot's ${pilotIndex}`);
    assert.ok(!indexListCovers(config.query.logIndices, `${jaegerIndexNames('').spanPrefix}${indexDate(Date.now() * 1000)}`), `${where}: leaves spans out`);
  }
});

test('the stack provisions Grafana\'s data sources and dashboard, and Kibana\'s data views, from files that exist', () => {
  const c = compose();
  const composeDir = dirname(COMPOSE_FILE);
  for (const [name, config] of Object.entries(c.configs as Record<string, Json>)) {
    assert.ok(existsSync(resolve(composeDir, config.file)), `config ${name}: ${config.file} exists`);
  }
  const configFile = (service: string, target: RegExp): string => {
    const ref = (c.services[service].configs as Json[]).find((x) => target.test(x.target));
    assert.ok(ref, `${service} mounts a config at ${target}`);
    return resolve(composeDir, c.configs[ref.source].file);
  };
  const datasources = yamlDocuments(configFile('grafana', /^\/etc\/grafana\/provisioning\/datasources\//))[0].datasources as Json[];
  const jaeger = datasources.find((d) => d.type === 'jaeger');
  const influx = datasources.find((d) => d.type === 'influxdb');
  const queryService = shipwatchServices(c).find(([, s]) => programOf(s.command) === 'query')![0];
  assert.equal(jaeger?.url, `http://${queryService}:${Number(defaultOf('QUERY_LISTEN').split(':').pop())}`);
  const collector = shipwatchServices(c).find(([, s]) => programOf(s.command) === 'collector')![1];
  const collectorEnv = envOfCompose(collector);
  assert.equal(influx?.url, collectorEnv.INFLUXDB_URL);
  assert.equal(influx?.jsonData?.dbName, collectorEnv.INFLUXDB_BUCKET ?? defaultOf('INFLUXDB_BUCKET'));
  assert.equal(c.services.influxdb.environment.DOCKER_INFLUXDB_INIT_BUCKET, influx?.jsonData?.dbName);
  assert.equal(substituted(c.services.influxdb.environment.DOCKER_INFLUXDB_INIT_ADMIN_TOKEN), substituted(collectorEnv.INFLUXDB_TOKEN!));
  assert.equal(c.services.influxdb.environment.DOCKER_INFLUXDB_INIT_ORG, collectorEnv.INFLUXDB_ORG);

  // Logs and traces together: the log data source reads the indices query's log API reads, on the same cluster; a
  // record's trace_id links to the Jaeger data source, and a trace's logs are asked of the log data source by trace_id.
  const logs = datasources.find((d) => d.type === 'elasticsearch');
  const queryEnv = envOfCompose(shipwatchServices(c).find(([, s]) => programOf(s.command) === 'query')![1]);
  assert.equal(logs?.url, queryEnv.ES_SERVER_URLS);
  assert.equal(logs?.jsonData?.timeField, '@timestamp');
  assert.ok(!/jaeger/.test(logs?.jsonData?.index) && /-20\*/.test(logs?.jsonData?.index), logs?.jsonData?.index);
  assert.deepEqual(logs?.jsonData?.dataLinks, [{ field: 'trace_id', url: '$${__value.raw}', datasourceUid: jaeger?.uid }]);
  const toLogs = jaeger?.jsonData?.tracesToLogsV2;
  assert.equal(toLogs?.datasourceUid, logs?.uid);
  assert.match(toLogs?.query, /^trace_id:"\$\$\{__trace\.traceId\}"/, 'escaped from Grafana\'s environment substitution');

  const provider = yamlDocuments(configFile('grafana', /^\/etc\/grafana\/provisioning\/dashboards\//))[0].providers[0];
  const dashboardTarget = (c.services.grafana.configs as Json[]).find((x) => x.target.endsWith('.json')).target as string;
  assert.equal(dirname(dashboardTarget), provider.options.path);
  const dashboard = JSON.parse(readFileSync(configFile('grafana', /\.json$/), 'utf8')) as Json;
  for (const panel of dashboard.panels as Json[]) {
    assert.deepEqual(panel.datasource, { type: 'influxdb', uid: influx.uid }, `panel ${panel.title} uses the provisioned InfluxDB`);
  }

  const setup = c.services['kibana-setup'];
  const script = (setup.command as string[]).join(' ');
  const ndjsonTarget = (setup.configs as Json[])[0].target as string;
  assert.match(script, new RegExp(`/api/saved_objects/_import.*file=@${ndjsonTarget.replace(/[.]/g, '\\.')}`, 's'));
  assert.match(script, /kbn-xsrf: true/);
  assert.match(script, /http:\/\/kibana:5601/);
  assert.ok(c.services.kibana.image.includes('kibana'));
});

/** Measurements, fields and tags a dashboard query names. */
function queryNames(query: string): { measurement: string; fields: string[]; tags: Array<{ key: string; value?: string }> } {
  const measurement = /\bFROM "([^"]+)"/.exec(query)?.[1] ?? '';
  const fields = [...query.matchAll(/\b(?:mean|max|min|last|sum)\("([^"]+)"\)/g)].map((m) => m[1]!);
  const tags = [
    ...[...query.matchAll(/"([a-z_]+)" =~ \//g)].map((m) => ({ key: m[1]! })),
    ...[...query.matchAll(/"([a-z_]+)" = '([^']*)'/g)].map((m) => ({ key: m[1]!, value: m[2]! })),
    ...[...query.matchAll(/WITH KEY = "([a-z_]+)"/g)].map((m) => ({ key: m[1]! })),
    ...[...(/GROUP BY (.*?)(?: fill\(|$)/.exec(query)?.[1] ?? '').matchAll(/"([a-z_]+)"/g)].map((m) => ({ key: m[1]! })),
  ];
  return { measurement, fields, tags };
}

test('the Grafana dashboard queries measurements, fields and tags the collector writes on a real statistics reading', { timeout: 60_000 }, async (t) => {
  const h = await startMonitoring({ containerStats: true });
  t.after(() => h.close());
  // Some block I/O (synced writes) and network use, so every statistics list has entries.
  const c = await runContainer(t, { name: 'sw-dashboard-stats', cmd: ['sh', '-c', 'exec sleep 3600'] });
  await execIn(c.id, ['sh', '-c', 'dd if=/dev/zero of=/var/tmp/blk bs=64k count=64 conv=fsync 2>/dev/null; sync; cat /var/tmp/blk >/dev/null']);
  await waitFor(() => h.monitoring.scheduler.has(`${c.id}/stats`), { what: 'the stats task' });
  await h.monitoring.scheduler.runAllOnce();
  const points = await h.waitForPoints(c.id, (p) => p.length > 0, 'statistics points');

  const written = new Map<string, { fields: Set<string>; tags: Map<string, Set<string>> }>();
  for (const p of points as MetricPoint[]) {
    const entry = written.get(p.measurement) ?? { fields: new Set<string>(), tags: new Map<string, Set<string>>() };
    for (const [k] of fieldPairs(p)) entry.fields.add(k);
    for (const [k, v] of tagPairs(p)) entry.tags.set(k, (entry.tags.get(k) ?? new Set()).add(v));
    written.set(p.measurement, entry);
  }

  const blkio = written.get('docker_container_blkio');
  if (blkio && ![...blkio.fields].some((f) => f.startsWith('io_service_bytes_recursive_'))) {
    // This engine reported no block I/O (empty blkio lists, as on machines without blkio accounting): the field
    // names then come from the same conversion fed the engine's documented entry shape ({major, minor, op, value}).
    const entries = ['Read', 'Write', 'Sync', 'Async', 'Discard', 'Total'].map((op) => ({ major: 8, minor: 0, op, value: 4096 }));
    const engineShaped = { read: new Date().toISOString(), blkio_stats: { io_service_bytes_recursive: entries, io_serviced_recursive: entries } } as unknown as EngineStats;
    for (const p of statsToPoints(engineShaped, c.id, {}, 0n).filter((x) => x.measurement === 'docker_container_blkio')) {
      for (const [k] of fieldPairs(p)) blkio.fields.add(k);
    }
    t.diagnostic('the engine reported no block I/O; blkio field names taken from statsToPoints on engine-shaped entries');
  }

  const dashboard = JSON.parse(readFileSync(join(DEPLOY, 'grafana', 'dashboards', 'container-metrics.json'), 'utf8')) as Json;
  const queries = [
    ...(dashboard.panels as Json[]).flatMap((p) => (p.targets as Json[]).map((x) => ({ where: `panel "${p.title}"`, query: x.query as string }))),
    ...(dashboard.templating.list as Json[]).map((v) => ({ where: `variable $${v.name}`, query: v.query as string })),
  ];
  const measurementsUsed = new Set<string>();
  let httpJsonQueries = 0;
  for (const { where, query } of queries) {
    const names = queryNames(query);
    if (names.measurement === '$httpjson' || /MEASUREMENT =~ \/\^httpjson_\//.test(query)) {
      httpJsonQueries += 1;
      continue;
    }
    const w = written.get(names.measurement);
    assert.ok(w, `${where}: the collector writes no measurement "${names.measurement}" (it writes ${[...written.keys()].join(', ')})`);
    measurementsUsed.add(names.measurement);
    for (const f of names.fields) assert.ok(w.fields.has(f), `${where}: ${names.measurement} has no field "${f}"`);
    for (const tag of names.tags) {
      assert.ok(w.tags.has(tag.key), `${where}: ${names.measurement} has no tag "${tag.key}"`);
      if (tag.value !== undefined) assert.ok(w.tags.get(tag.key)!.has(tag.value), `${where}: ${names.measurement} never has ${tag.key}=${tag.value}`);
    }
  }
  assert.deepEqual([...measurementsUsed].sort(), ['docker_container_blkio', 'docker_container_cpu', 'docker_container_mem', 'docker_container_net']);
  // httpjson_<container>: the variable lists measurements by the prefix the HTTP monitor gives them.
  assert.ok(httpJsonQueries >= 2, 'an httpjson variable and panel');
  const prefix = /MEASUREMENT =~ \/\^([a-z_]+)\//.exec(queries.find((q) => q.query.includes('SHOW MEASUREMENTS'))!.query)![1]!;
  assert.ok(httpJsonMeasurement(c.name).startsWith(prefix), `${httpJsonMeasurement(c.name)} starts with ${prefix}`);
  for (const { query } of queries.filter((q) => q.query.includes('"$httpjson"'))) assert.match(query, /"host" =~/);
  assert.ok([...written.values()].every((w) => w.tags.has('host')), 'host is a tag of every point');
});

test('the Kibana data views resolve to the pilot\'s log indices and data streams and to Jaeger\'s span indices on a real Elasticsearch', async (t) => {
  const views = readFileSync(join(DEPLOY, 'kibana', 'data-views.ndjson'), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Json);
  assert.ok(views.every((v) => v.type === 'index-pattern'));
  // Ids and titles unique, each with a name and a time field: an import that overwrites finds each by its id.
  assert.equal(new Set(views.map((v) => v.id)).size, views.length);
  assert.equal(new Set(views.map((v) => v.attributes.title)).size, views.length);
  for (const v of views) assert.ok(v.attributes.name && v.attributes.timeFieldName, `${v.id} has a name and a time field`);
  const logs = views.find((v) => v.attributes.timeFieldName === '@timestamp' && !v.attributes.title.startsWith('logs-'));
  const streams = views.find((v) => v.attributes.title === 'logs-*-*');
  const spans = views.find((v) => v.attributes.title.includes('jaeger-span-'));
  assert.ok(logs && streams && spans);
  assert.equal(streams.attributes.timeFieldName, '@timestamp');
  assert.equal(views.length, 3);
  const spanTemplate = jaegerIndexTemplates({ prefix: '', shards: 1, replicas: 0 }).find((x) => x.name.includes('span'));
  const mapping = JSON.stringify(spanTemplate?.body);
  assert.match(mapping, new RegExp(`"${spans.attributes.timeFieldName}":\\{"type":"date"`), 'the spans\' time field is a date in Jaeger\'s mapping');

  const es = await esTestUrl();
  const target = `sw-dataview-${process.pid}`;
  const now = Date.now();
  const indices = [
    new BulkEncoder('daily').indexName(target, now),
    new BulkEncoder('monthly').indexName(target, now),
    `${jaegerIndexNames('').spanPrefix}${indexDate(now * 1000)}`,
  ];
  const jaegerIndex = indices[2]!;
  const jaegerExisted = (await fetch(`${es}/${jaegerIndex}`, { method: 'HEAD' })).status === 200;
  for (const index of indices) {
    if (index === jaegerIndex && jaegerExisted) continue;
    const r = await fetch(`${es}/${index}/_doc?refresh=true`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ '@timestamp': new Date(now).toISOString(), startTimeMillis: now }),
    });
    assert.ok(r.ok, `could not write to ${index}: ${r.status} ${await r.text()}`);
    t.after(() => fetch(`${es}/${index}`, { method: 'DELETE' }));
  }
  // A data stream, named as the pilot names it with ELASTICSEARCH_INDEX_ROTATION=datastream.
  const stream = new BulkEncoder('datastream').indexName(target, now);
  const created = await fetch(`${es}/${stream}/_doc?refresh=true`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ '@timestamp': new Date(now).toISOString(), message: 'x' }),
  });
  assert.ok(created.ok, `could not write to ${stream}: ${created.status} ${await created.text()}`);
  t.after(() => fetch(`${es}/_data_stream/${stream}`, { method: 'DELETE' }));
  const resolveNames = async (pattern: string): Promise<Set<string>> => {
    const r = await fetch(`${es}/_resolve/index/${encodeURIComponent(pattern)}`);
    assert.ok(r.ok, `_resolve/index/${pattern}: ${r.status}`);
    const body = (await r.json()) as { indices: Array<{ name: string }>; data_streams?: Array<{ name: string }> };
    return new Set([...body.indices, ...(body.data_streams ?? [])].map((i) => i.name));
  };
  const streamNames = await resolveNames(streams.attributes.title);
  assert.ok(streamNames.has(stream), `${streams.attributes.title} covers the data stream ${stream}`);
  assert.ok(!streamNames.has(indices[0]!) && !streamNames.has(jaegerIndex), `${streams.attributes.title} holds streams only`);
  const logIndices = await resolveNames(logs.attributes.title);
  assert.ok(logIndices.has(indices[0]!), `${logs.attributes.title} covers the daily index ${indices[0]}`);
  assert.ok(logIndices.has(indices[1]!), `${logs.attributes.title} covers the monthly index ${indices[1]}`);
  assert.ok(!logIndices.has(jaegerIndex), `${logs.attributes.title} leaves Jaeger's ${jaegerIndex} out`);
  const spanIndices = await resolveNames(spans.attributes.title);
  assert.ok(spanIndices.has(jaegerIndex));
  assert.ok(!spanIndices.has(indices[0]!));
});
