/**
 * The compiled command (`bin/shipwatch.js`, built by the test runner): version, help listing every variable, and a
 * bad configuration refused with exit 2 naming every bad variable.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { describeVariables } from '../../platform/config/load-config.js';

const BIN = fileURLToPath(new URL('../../bin/shipwatch.js', import.meta.url));
const COMPILED = fileURLToPath(new URL('../../dist/cli/shipwatch.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the command with only PATH and `env` in its environment, so the caller's variables do not leak in. */
function shipwatch(args: string[], env: Record<string, string> = {}): Promise<Run> {
  assert.ok(existsSync(COMPILED), `${COMPILED} is missing: run the tests through npm test, which builds it`);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

test('--version prints the version of the package', async () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.deepEqual(await shipwatch(['--version']), { code: 0, stdout: `shipwatch ${pkg.version}\n`, stderr: '' });
});

test('--help lists every variable with its aliases, and every command', async () => {
  const r = await shipwatch(['--help']);
  assert.equal(r.code, 0);
  const listed = new Set([...r.stdout.matchAll(/^ {2}([A-Z][A-Z0-9_]+)/gm)].map((m) => m[1]));
  const names = describeVariables().map((row) => row.name);
  assert.ok(names.length > 10, 'the configuration has variables');
  assert.deepEqual([...listed].sort(), [...new Set(names)].sort());
  for (const row of describeVariables()) for (const alias of row.aliases) assert.ok(r.stdout.includes(alias), `alias ${alias}`);
  for (const command of ['pilot', 'collector', 'query', 'all']) assert.match(r.stdout, new RegExp(`^ {2}${command} `, 'm'));
});

test('a bad configuration exits 2 and names every bad variable', async () => {
  const bad = { PILOT_ADMIN_LISTEN: 'nowhere', LOGGING_OUTPUT: 'splunk', SHIPWATCH_RETENTION: 'forever' };
  const r = await shipwatch(['pilot'], bad);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`${Object.keys(bad).length} problems`));
  const named = r.stderr.split('\n').filter((l) => l.startsWith('  ')).map((l) => l.trim().split(':')[0]);
  assert.deepEqual(named.sort(), Object.keys(bad).sort());
});

test('an unknown command exits 2 and says which commands exist', async () => {
  const r = await shipwatch(['deploy']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command "deploy".*pilot, collector, query, all.* or demo/);
});
