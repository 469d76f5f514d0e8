import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCredential, pilotEsConnection } from '../../../storage/elasticsearch/es-client.js';
import { loadConfig } from '../../../platform/config/load-config.js';

const noFile = (p: string): string => {
  throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
};

test('a credential file holds user:password, and a password may itself contain a colon', () => {
  assert.deepEqual(parseCredential('elastic:s3:cr3t\n'), { username: 'elastic', password: 's3:cr3t' });
  assert.ok('problem' in parseCredential('no-colon'));
  assert.ok('problem' in parseCredential(':only-password'));
});

test('ELASTICSEARCH_HOSTS wins over HOST and PORT, and hosts without a scheme take ELASTICSEARCH_SCHEME', () => {
  const config = loadConfig({ ELASTICSEARCH_HOSTS: 'es1:9200, https://es2:9243/', ELASTICSEARCH_HOST: 'ignored', ELASTICSEARCH_SCHEME: 'https' }, 'pilot');
  assert.deepEqual(pilotEsConnection(config.pilot, noFile).nodes, ['https://es1:9200', 'https://es2:9243']);
});

test('HOST and PORT make one node, with the user and password from the environment', () => {
  const config = loadConfig({ ELASTICSEARCH_HOST: 'es', ELASTICSEARCH_PORT: '9201', ELASTICSEARCH_USER: 'u', ELASTICSEARCH_PASSWORD: 'p' }, 'pilot');
  assert.deepEqual(pilotEsConnection(config.pilot, noFile), { nodes: ['http://es:9201'], username: 'u', password: 'p' });
});

test('the secret file /run/secrets/es_credential replaces the user and password, as in log-pilot', () => {
  const config = loadConfig({ ELASTICSEARCH_HOST: 'es', ELASTICSEARCH_USER: 'u', ELASTICSEARCH_PASSWORD: 'p' }, 'pilot');
  const conn = pilotEsConnection(config.pilot, (p) => {
    assert.equal(p, '/run/secrets/es_credential');
    return 'elastic:from-secret\n';
  });
  assert.deepEqual(conn, { nodes: ['http://es:9200'], username: 'elastic', password: 'from-secret' });
});

test('no host at all is a configuration error naming the variables', () => {
  const config = loadConfig({}, 'pilot');
  assert.throws(() => pilotEsConnection(config.pilot, noFile), /ELASTICSEARCH_HOSTS or ELASTICSEARCH_HOST/);
});

test('a malformed hosts list is reported at load time', () => {
  assert.throws(() => loadConfig({ ELASTICSEARCH_HOSTS: 'ftp://x' }, 'pilot'), /ELASTICSEARCH_HOSTS/);
});
