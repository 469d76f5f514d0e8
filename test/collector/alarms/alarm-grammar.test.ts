import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alarmLabels, parseAlarmLabel, parseRulesFile } from '../../../collector/alarms/alarm-grammar.js';

test('a container label becomes a rule watching that container only', () => {
  const parsed = parseAlarmLabel('web-1', 'cpu-high', 'docker_container_cpu.usage_percent:avg:5m:>:80:1m', { contact: 'ops@example.com', summary: 'web is busy' });
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value, {
    id: 'web-1/cpu-high', name: 'cpu-high', measurement: 'docker_container_cpu', field: 'usage_percent', tags: { container_name: 'web-1' },
    statistic: 'avg', windowMs: 300_000, comparison: '>', threshold: 80, forMs: 60_000, labels: { contact: 'ops@example.com' },
    annotations: { summary: 'web is busy' }, source: 'label', container: 'web-1',
  });
});

test('a label rule takes tag matchers, every statistic and comparison, and no for-duration', () => {
  const parsed = parseAlarmLabel('db', 'rx', 'docker_container_net.rx_bytes{network=eth0}:max:30s:<=:0');
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value.tags, { network: 'eth0', container_name: 'db' });
  assert.equal(parsed.value.statistic, 'max');
  assert.equal(parsed.value.comparison, '<=');
  assert.equal(parsed.value.threshold, 0);
  assert.equal(parsed.value.forMs, 0);
  for (const stat of ['avg', 'max', 'min', 'sum', 'count', 'last']) assert.ok(parseAlarmLabel('c', 'n', `m.f:${stat}:1m:>=:1`).ok, stat);
  // The field is what follows the last dot: a measurement may hold dots.
  const dotted = parseAlarmLabel('c', 'n', 'app.requests.errors:sum:1m:>:5');
  assert.ok(dotted.ok);
  assert.equal(dotted.value.measurement, 'app.requests');
  assert.equal(dotted.value.field, 'errors');
});

test('a bad label value is refused with the reason naming the part that is wrong', () => {
  const cases: Array<[string, RegExp]> = [
    ['docker_container_cpu.usage_percent:avg:5m:>', /must be <measurement>\.<field>:<statistic>:<window>:<comparison>:<threshold>\[:<for>\]/],
    ['docker_container_cpu:avg:5m:>:80', /metric "docker_container_cpu" must be <measurement>\.<field>/],
    ['m.f:median:5m:>:80', /statistic "median" is not one of avg, min, max, sum, count, last/],
    ['m.f:avg:5 minutes:>:80', /window "5 minutes" is not a duration/],
    ['m.f:avg:500ms:>:80', /window "500ms" must be between 1s and 1d/],
    ['m.f:avg:5m:=>:80', /comparison "=>" is not one of > >= < <=/],
    ['m.f:avg:5m:>:eighty', /threshold "eighty" is not a number/],
    ['m.f:avg:5m:>:80:soon', /for "soon" is not a duration/],
    ['m.f{network}:avg:5m:>:80', /tag matcher "network" must be tag=value/],
  ];
  for (const [value, reason] of cases) {
    const parsed = parseAlarmLabel('c', 'n', value);
    assert.equal(parsed.ok, false, value);
    if (!parsed.ok) assert.match(parsed.reason, reason, value);
  }
  const badName = parseAlarmLabel('c', 'no/slash', 'm.f:avg:5m:>:1');
  assert.ok(!badName.ok && /alarm name "no\/slash"/.test(badName.reason));
});

test('a container\'s alarm labels: good rules kept, each bad label reported by name, the others stand', () => {
  const found = alarmLabels('web', {
    'aliyun.monitoring.alarm.cpu': 'docker_container_cpu.usage_percent:avg:1m:>:90',
    'aliyun.monitoring.alarm.cpu.contact': 'ops',
    'aliyun.monitoring.alarm.mem': 'docker_container_mem.usage_percent:avg:1m:>>:90',
    'aliyun.monitoring.alarm.orphan.summary': 'nothing to describe',
    'aliyun.monitoring.alarm.cpu.colour': 'red',
    'aliyun.logs.app': 'stdout',
  }, 'aliyun');
  assert.deepEqual(found.rules.map((r) => [r.id, r.labels]), [['web/cpu', { contact: 'ops' }]]);
  assert.equal(found.problems.length, 3);
  assert.match(found.problems.join('\n'), /label aliyun\.monitoring\.alarm\.mem: comparison ">>"/);
  assert.match(found.problems.join('\n'), /label aliyun\.monitoring\.alarm\.orphan\.summary: no alarm aliyun\.monitoring\.alarm\.orphan beside it/);
  assert.match(found.problems.join('\n'), /label aliyun\.monitoring\.alarm\.cpu\.colour: unknown alarm label/);
});

test('the rules file gives every rule with its defaults', () => {
  const parsed = parseRulesFile(JSON.stringify({
    rules: [
      { name: 'HighCpu', measurement: 'docker_container_cpu', field: 'usage_percent', tags: { docker_service: 'web' }, statistic: 'max', window: '5m',
        comparison: '>', threshold: 80, for: '2m', labels: { severity: 'page', contact: 'ops' }, annotations: { summary: 'CPU high' } },
      { name: 'NoTraffic', measurement: 'docker_container_net', field: 'rx_bytes', window: 60, comparison: '<=', threshold: '0' },
    ],
  }));
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.rules[0], {
    id: 'HighCpu', name: 'HighCpu', measurement: 'docker_container_cpu', field: 'usage_percent', tags: { docker_service: 'web' }, statistic: 'max',
    windowMs: 300_000, comparison: '>', threshold: 80, forMs: 120_000, labels: { severity: 'page', contact: 'ops' }, annotations: { summary: 'CPU high' }, source: 'file',
  });
  assert.equal(parsed.rules[1]!.statistic, 'avg', 'avg unless said');
  assert.equal(parsed.rules[1]!.windowMs, 60_000, 'a bare number is seconds');
  assert.equal(parsed.rules[1]!.forMs, 0);
});

test('a bad rules file is refused with every problem at once, each naming its rule', () => {
  const parsed = parseRulesFile(JSON.stringify({
    rules: [
      { name: 'a', measurement: 'm', field: 'f', window: '5m', comparison: '>', threshold: 1 },
      { name: 'a', measurement: 'm', field: 'f', window: '5m', comparison: '>', threshold: 1 },
      { name: 'b', measurement: '', field: 'f', window: 'later', comparison: '≥', threshold: 'x', statistic: 'p99', colour: 'red' },
      'not a rule',
    ],
  }));
  assert.equal(parsed.ok, false);
  if (parsed.ok) return;
  const text = parsed.problems.join('\n');
  assert.match(text, /rule "a": the name is used twice/);
  assert.match(text, /rule "b": unknown key "colour"/);
  assert.match(text, /rule "b": "measurement" must be a non-empty string/);
  assert.match(text, /rule "b": "statistic" "p99" is not one of/);
  assert.match(text, /rule "b": window "later" is not a duration/);
  assert.match(text, /rule "b": "comparison" "≥" is not one of/);
  assert.match(text, /rule "b": "threshold" "x" is not a number/);
  assert.match(text, /rule #4: must be an object/);
  const notJson = parseRulesFile('{"rules": [');
  assert.ok(!notJson.ok && /^not JSON: /.test(notJson.problems[0]!));
  const noList = parseRulesFile('{"alarms": []}');
  assert.ok(!noList.ok && /an object with a "rules" array/.test(noList.problems[0]!));
});
