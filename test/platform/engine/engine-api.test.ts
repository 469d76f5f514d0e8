/**
 * The Engine API client (platform/engine/engine-api.ts) against the test engine: what the engine says when a
 * container or exec is gone reaches the caller as a 404 with the engine's message, and an exec's multiplexed output
 * is split into its two streams whatever the chunks it arrives in.
 */
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { test } from 'node:test';
import { createEngineClient, isNoSuchContainer } from '../../../platform/engine/docker-client.js';
import { demuxStream, EngineApiError } from '../../../platform/engine/engine-api.js';
import { execInContainer } from '../../../platform/engine/exec.js';
import { docker } from '../../helpers/docker.js';

const SOCKET = process.env.SHIPWATCH_TEST_DOCKER_SOCKET;
const SKIP = SOCKET ? false : 'SHIPWATCH_TEST_DOCKER_SOCKET not set: run through the test runner (test/run.ts starts test/services/docker.sh)';
const IMAGE = process.env.SHIPWATCH_TEST_IMAGE ?? 'shipwatch-test/busybox:latest';

test('a container that does not exist is a 404 carrying the engine\'s message', { skip: SKIP }, async () => {
  const client = createEngineClient(`unix://${SOCKET}`);
  const err = await client.api.inspectContainer('shipwatch-no-such-container').then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof EngineApiError, String(err));
  assert.equal(err.statusCode, 404);
  assert.match(err.message, /no such container/i);
  assert.ok(isNoSuchContainer(err));
  const execErr = await client.api.inspectExec('0'.repeat(64)).then(() => undefined, (e: unknown) => e);
  assert.equal((execErr as EngineApiError).statusCode, 404);
});

test('an exec\'s standard output and error come apart, binary-safe, with its exit code', { skip: SKIP }, async (t) => {
  const client = createEngineClient(`unix://${SOCKET}`);
  const c = await docker().createContainer({ Image: IMAGE, Cmd: ['sleep', '60'], Labels: { 'shipwatch.test': 'engine-api' } });
  t.after(() => c.remove({ force: true }).catch(() => {}));
  await c.start();
  // 200,000 bytes on standard output arrive as many frames over many chunks; the error stream interleaves.
  const r = await execInContainer(client, c.id, ['sh', '-c', 'head -c 200000 /dev/zero | tr "\\0" x; echo oops >&2; printf "é\\n"; exit 7'], { timeoutMs: 20_000 });
  assert.equal(r.exitCode, 7);
  assert.equal(r.stdout, 'x'.repeat(200_000) + 'é\n');
  assert.equal(r.stderr, 'oops\n');
});

test('frames split anywhere, even inside their headers, are put back together', () => {
  const frame = (stream: number, text: string): Buffer => {
    const payload = Buffer.from(text);
    const header = Buffer.alloc(8);
    header[0] = stream;
    header.writeUInt32BE(payload.length, 4);
    return Buffer.concat([header, payload]);
  };
  const bytes = Buffer.concat([frame(1, 'hello '), frame(2, 'warn\n'), frame(1, 'world'), frame(1, '')]);
  for (let cut = 1; cut < bytes.length; cut++) {
    const input = new PassThrough();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const sink = (into: Buffer[]): Writable => new Writable({ write(chunk: Buffer, _e, done) { into.push(chunk); done(); } });
    demuxStream(input, sink(out), sink(err));
    input.write(bytes.subarray(0, cut));
    input.write(bytes.subarray(cut));
    assert.equal(Buffer.concat(out).toString(), 'hello world', `cut at ${cut}`);
    assert.equal(Buffer.concat(err).toString(), 'warn\n', `cut at ${cut}`);
  }
});

test('DOCKER_CERT_PATH without its three files is refused with one clear error; a socket endpoint does not read it', () => {
  const create = createEngineClient;
  assert.throws(() => create('https://engine.example:2376', '/nonexistent/certs'), (err: unknown) => {
    assert.equal((err as { code?: string }).code, 'SW_ENGINE_UNAVAILABLE');
    assert.match((err as Error).message, /DOCKER_CERT_PATH: .*ca\.pem, cert\.pem and key\.pem are needed/);
    return true;
  });
  assert.equal(create('unix:///var/run/docker.sock', '/nonexistent/certs').where, 'unix:///var/run/docker.sock');
  assert.equal(create('tcp://engine.example:2375', '/nonexistent/certs').where, 'http://engine.example:2375');
});
