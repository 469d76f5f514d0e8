import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../platform/config/load-config.js';
import { silentLogger } from '../../platform/log.js';
import { SharedResources } from '../../platform/runtime.js';
import { openStoreLogStorage } from '../../storage/sqlite/log-store.js';
import { openStoreSpanStorage } from '../../storage/span-storage-factory.js';
import { start } from '../../query/query-program.js';
import { dependencyTrace } from '../helpers/query-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'shipwatch-query-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function portOf(summary: string[], index: number): number {
  return Number(/:(\d+)/.exec(summary[index]!.split(' on ')[1]!)![1]);
}

test('query serves what the shared store holds on its ports, with health and metrics, and closes cleanly', async () => {
  const config = loadConfig({ SHIPWATCH_DATA_DIR: dir, QUERY_LISTEN: '127.0.0.1:0', QUERY_ADMIN_LISTEN: '127.0.0.1:0', QUERY_AUTH_TOKEN: 'tok' }, 'query');
  const runtime = { config, log: silentLogger, shared: new SharedResources() };
  // A collector and a pilot in the same process write through the same shared storages.
  await openStoreSpanStorage(runtime).writeSpans(dependencyTrace());
  await openStoreLogStorage(runtime).write([{
    json: '{"message":"hello from the pilot"}', target: 't', timestampMs: Date.now(), id: 'x', containerId: 'c', containerName: 'web-1', app: 'a', service: 's', text: 'hello from the pilot',
  }]);
  const program = await start(runtime);
  try {
    const api = `http://127.0.0.1:${portOf(program.summary, 0)}`;
    const admin = `http://127.0.0.1:${portOf(program.summary, 1)}`;
    const auth = { authorization: 'Bearer tok' };
    const services = await (await fetch(`${api}/api/services`, { headers: auth })).json() as { data: string[] };
    assert.deepEqual(services.data, ['backend', 'db', 'frontend']);
    const logs = await (await fetch(`${api}/api/logs?q=pilot`, { headers: auth })).json() as { total: number };
    assert.equal(logs.total, 1);
    assert.equal((await fetch(`${api}/api/services`)).status, 401);
    const health = await fetch(`${admin}/health`);
    assert.equal(health.status, 200);
    assert.match(await (await fetch(`${admin}/metrics`)).text(), /shipwatch_/);
  } finally {
    await program.close();
    await program.close();
    await runtime.shared.closeAll();
  }
});
