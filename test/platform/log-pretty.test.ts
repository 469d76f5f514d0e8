import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../platform/config/load-config.js';
import { chooseColour, chooseLogFormat, createLogger } from '../../platform/log.js';
import { bannerFields, bannerText, buildStartBanner } from '../../platform/start-banner.js';

function capture(options: Parameters<typeof createLogger>[0]): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, log: createLogger({ ...options, sink: { write: (l: string) => lines.push(l) } }) };
}

test('a pretty line reads time, level, component, message, then key=value fields, without the program binding', () => {
  const { lines, log } = capture({ format: 'pretty', bindings: { program: 'all' } });
  log.child({ component: 'store' }).info('store ready: 3 migrations applied', { path: 'data/shipwatch.db', schemas: 'logs v0→v3, spans v0→v7', count: 3, ok: true });
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^\d\d:\d\d:\d\d\.\d{3} INFO  \[store\] store ready: 3 migrations applied path=data\/shipwatch\.db schemas="logs v0→v3, spans v0→v7" count=3 ok=true\n$/);
  assert.doesNotMatch(lines[0]!, /program=/);
});

test('a pretty line escapes control characters, so a logged value cannot move the cursor or break the line', () => {
  const { lines, log } = capture({ format: 'pretty' });
  log.warn('two\nlines \x1b[2J', { path: 'a\tb', empty: '', err: Object.assign(new Error('no socket'), { code: 'ENOENT' }), nested: { a: [1, 'x\ny'] } });
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.split('\n').length, 2, 'one line, ended by its newline');
  assert.doesNotMatch(lines[0]!, /\x1b/);
  assert.match(lines[0]!, / WARN  two\\nlines \\u001b\[2J path="a\\tb" empty="" err="ENOENT: no socket" nested=\{"a":\[1,"x\\ny"\]\}\n$/);
});

test('colour is added only when asked, and the level is coloured', () => {
  const plain = capture({ format: 'pretty', colour: false });
  const coloured = capture({ format: 'pretty', colour: true });
  plain.log.error('boom');
  coloured.log.error('boom');
  assert.doesNotMatch(plain.lines[0]!, /\x1b/);
  assert.match(coloured.lines[0]!, /\x1b\[1;31mERROR\x1b\[0m/);
});

test('the JSON format is unchanged by the pretty one: same fields, levels below the threshold write nothing', () => {
  const { lines, log } = capture({ level: 'info', bindings: { program: 'pilot' } });
  log.debug('hidden');
  log.info('hello', { n: 1 });
  assert.equal(lines.length, 1);
  const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.deepEqual({ ...entry, time: 0 }, { level: 'info', time: 0, program: 'pilot', msg: 'hello', n: 1 });
  const pretty = capture({ level: 'info', format: 'pretty' });
  pretty.log.debug('hidden');
  assert.equal(pretty.lines.length, 0);
});

test('LOG_FORMAT=auto is pretty at a terminal only; FORCE_COLOR wins over NO_COLOR and the terminal', () => {
  assert.equal(chooseLogFormat('auto', true), 'pretty');
  assert.equal(chooseLogFormat('auto', false), 'json');
  assert.equal(chooseLogFormat('json', true), 'json');
  assert.equal(chooseLogFormat('pretty', false), 'pretty');
  assert.equal(chooseColour({ noColor: false, forceColor: undefined }, true), true);
  assert.equal(chooseColour({ noColor: true, forceColor: undefined }, true), false);
  assert.equal(chooseColour({ noColor: false, forceColor: undefined }, false), false);
  assert.equal(chooseColour({ noColor: true, forceColor: true }, false), true);
  assert.equal(chooseColour({ noColor: false, forceColor: false }, true), false);
  const config = loadConfig({ LOG_FORMAT: 'pretty', NO_COLOR: '1', FORCE_COLOR: '0' }, 'pilot');
  assert.deepEqual([config.common.logFormat, config.common.noColor, config.common.forceColor], ['pretty', true, false]);
  assert.throws(() => loadConfig({ LOG_FORMAT: 'yaml' }, 'pilot'), /LOG_FORMAT: "yaml"/);
});

test('the banner names the ports of the configuration it is given, and only the running programs\' ones', () => {
  const all = buildStartBanner(loadConfig({ COLLECTOR_OTLP_HTTP_LISTEN: ':21318', QUERY_LISTEN: '10.0.0.5:8080', COLLECTOR_ZIPKIN_LISTEN: '[::1]:9412' }, 'all'), '1.2.3');
  const fields = bannerFields(all);
  assert.equal(fields.otlpHttp, 'http://localhost:21318/v1/traces');
  assert.equal(fields.ui, 'http://10.0.0.5:8080/');
  assert.equal(fields.zipkin, 'http://[::1]:9412/api/v2/spans');
  assert.equal(fields.jaegerCompactUdp, 'localhost:6831/udp');
  assert.equal(fields.engine, 'unix:///var/run/docker.sock');
  assert.match(bannerText(all, false), /^Shipwatch 1\.2\.3 · all: pilot, collector and query\n {2}Open http:\/\/10\.0\.0\.5:8080\//);

  assert.equal(fields.syslog, undefined, 'the syslog receiver is off unless PILOT_SYSLOG_LISTEN is set');
  const withSyslog = buildStartBanner(loadConfig({ PILOT_SYSLOG_LISTEN: ':5514' }, 'pilot'), '1.2.3');
  assert.equal(bannerFields(withSyslog).syslog, 'localhost:5514');
  assert.match(bannerText(withSyslog, false), /Send logs\n +syslog \(UDP and TCP\) +localhost:5514/);

  // A pilot on a CRI node names the pods folder it reads, not an engine it does not use.
  const cri = buildStartBanner(loadConfig({ PILOT_RUNTIME: 'cri' }, 'pilot'), '1.2.3');
  assert.equal(bannerFields(cri).engine, undefined);
  assert.equal(bannerFields(cri).podLogs, '/var/log/pods');
  assert.match(bannerText(cri, false), /data in \S+, pod logs \/var\/log\/pods\n$/);

  const query = bannerFields(buildStartBanner(loadConfig({}, 'query'), '1.2.3'));
  assert.deepEqual(Object.keys(query).sort(), ['dataDir', 'programs', 'queryAdmin', 'ui', 'version']);
  const collector = buildStartBanner(loadConfig({ COLLECTOR_OTLP_GRPC_LISTEN: '127.0.0.1:0' }, 'collector'), '1.2.3');
  assert.equal(collector.endpoints.find((e) => e.key === 'ui'), undefined);
  const grpc = collector.endpoints.find((e) => e.key === 'otlpGrpc')!;
  assert.equal(grpc.chosenAtStart, true);
  assert.match(bannerText(collector, false), /OTLP\/gRPC +127\.0\.0\.1:0 +\(port 0: chosen at start, listed once started\)/);
});
