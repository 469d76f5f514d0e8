/**
 * The redis output's configuration: log-pilot's variables with filebeat's defaults, REDIS_URL, and a clear error at
 * start for each bad value (a port, a URL, a data type that cannot be acknowledged, no Redis named at all).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig, type ConfigProblem, type Env } from '../../../platform/config/load-config.js';
import { ShipwatchError } from '../../../platform/errors.js';
import { pilotRedisUrl, redisWhere } from '../../../storage/redis/redis-output.js';

function problemsOf(env: Env): ConfigProblem[] {
  try {
    loadConfig(env, 'pilot');
  } catch (err) {
    assert.ok(err instanceof ShipwatchError);
    assert.equal(err.code, 'SW_CONFIG_INVALID');
    return (err as ShipwatchError & { problems: ConfigProblem[] }).problems;
  }
  assert.fail('the configuration was accepted');
}

test('log-pilot\'s redis variables are read with filebeat\'s defaults', () => {
  const p = loadConfig({ LOGGING_OUTPUT: 'redis', REDIS_HOST: 'redis.internal' }, 'pilot').pilot;
  assert.deepEqual(p.outputs, ['redis']);
  assert.equal(p.redisPort, 6379);
  assert.equal(p.redisDataType, 'list');
  assert.equal(p.redisTimeoutMs, 5000);
  assert.equal(p.redisConcurrency, 1);
  assert.equal(p.redisBatchMaxEvents, 2048);
  assert.equal(pilotRedisUrl(p), 'redis://redis.internal:6379');
  const q = loadConfig({ FILEBEAT_OUTPUT: 'redis', REDIS_HOST: '10.0.0.7', REDIS_PORT: '6380', REDIS_PASSWORD: 's3cret', REDIS_TIMEOUT: '2', REDIS_WORKER: '2', REDIS_BULK_MAX_SIZE: '500' }, 'pilot').pilot;
  assert.deepEqual([q.redisPort, q.redisPassword, q.redisTimeoutMs, q.redisConcurrency, q.redisBatchMaxEvents], [6380, 's3cret', 2000, 2, 500]);
  assert.equal(pilotRedisUrl(q), 'redis://10.0.0.7:6380');
});

test('REDIS_URL wins over REDIS_HOST and REDIS_PORT, and messages never show its password', () => {
  const p = loadConfig({ LOGGING_OUTPUT: 'redis', REDIS_URL: 'rediss://:pw@cache.example:6390/2', REDIS_HOST: 'other', REDIS_PORT: '1' }, 'pilot').pilot;
  assert.equal(pilotRedisUrl(p), 'rediss://:pw@cache.example:6390/2');
  assert.equal(redisWhere(pilotRedisUrl(p)), 'rediss://cache.example:6390/2');
  assert.equal(pilotRedisUrl(loadConfig({ REDIS_HOST: '::1', REDIS_PORT: '6390' }, 'pilot').pilot), 'redis://[::1]:6390');
});

test('a bad port, a bad URL, a bad timeout and the channel data type are each reported, naming the variable', () => {
  const problems = problemsOf({
    LOGGING_OUTPUT: 'redis', REDIS_PORT: '70000', REDIS_URL: 'http://cache:6379', REDIS_TIMEOUT: 'soon', REDIS_DATATYPE: 'channel', REDIS_WORKER: '0',
  });
  const byName = Object.fromEntries(problems.map((p) => [p.variable, p.reason]));
  assert.deepEqual(Object.keys(byName).sort(), ['REDIS_DATATYPE', 'REDIS_PORT', 'REDIS_TIMEOUT', 'REDIS_URL', 'REDIS_WORKER']);
  assert.match(byName['REDIS_PORT']!, /"70000" is not a whole number from 1 to 65535/);
  assert.match(byName['REDIS_URL']!, /"http:\/\/cache:6379" is not a redis:\/\/ or rediss:\/\/ URL/);
  assert.match(byName['REDIS_DATATYPE']!, /channel is not supported.*use list/);
  for (const url of ['not a url', 'redis://', 'redis://cache:6379/db-one', 'redis://cache:0']) {
    const [p] = problemsOf({ REDIS_URL: url });
    assert.equal(p?.variable, 'REDIS_URL', url);
  }
  assert.equal(problemsOf({ REDIS_PORT: 'abc' })[0]?.variable, 'REDIS_PORT');
});

test('the redis output without REDIS_URL or REDIS_HOST is refused at start, saying what to set', () => {
  const p = loadConfig({ LOGGING_OUTPUT: 'redis' }, 'pilot').pilot;
  assert.throws(() => pilotRedisUrl(p), (err: Error) => err instanceof ShipwatchError && err.code === 'SW_CONFIG_INVALID' && /REDIS_URL or REDIS_HOST is needed/.test(err.message));
  assert.throws(() => pilotRedisUrl(loadConfig({ REDIS_HOST: 'a/b' }, 'pilot').pilot), /REDIS_HOST: "a\/b" is not a host/);
});
