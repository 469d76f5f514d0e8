/**
 * The syslog receiver on real loopback sockets (UDP, TCP, TLS with a certificate openssl makes here), into the real
 * log pipeline; the output is a sink that keeps what it is given and can be held shut, to watch back-pressure.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import tls from 'node:tls';
import { loadConfig } from '../../../platform/config/load-config.js';
import { ShipwatchError } from '../../../platform/errors.js';
import { silentLogger } from '../../../platform/log.js';
import { createRegistry, type Registry } from '../../../platform/self-metrics.js';
import type { LogEvent, LogSink } from '../../../model/log-record.js';
import { LogPipeline } from '../../../pilot/log-pipeline.js';
import { SyslogRecordEncoder } from '../../../pilot/syslog/syslog-record.js';
import { startSyslogReceiver, type SyslogReceiver } from '../../../pilot/syslog/syslog-receiver.js';
import { syslogTls } from '../../../pilot/syslog/syslog-input.js';
import { waitFor } from '../../helpers/wait.js';

type Rec = Record<string, unknown>;

/** An output that keeps every record; while `held`, it takes nothing (its writes wait). */
class KeepingSink implements LogSink {
  readonly name = 'keeping';
  readonly records: Rec[] = [];
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => {};

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open();
  }

  async write(events: LogEvent[]): Promise<void> {
    await this.gate;
    for (const e of events) this.records.push(JSON.parse(e.json) as Rec);
  }

  async close(): Promise<void> {}
}

interface Rig {
  receiver: SyslogReceiver;
  sink: KeepingSink;
  registry: Registry;
  metric(name: string, labels?: string): Promise<number>;
}

async function rig(t: TestContext, options: { maxFrameBytes?: number; maxInFlightBytes?: number; tls?: { cert: Buffer; key: Buffer }; udpSocketBufferBytes?: number } = {}): Promise<Rig> {
  const sink = new KeepingSink();
  const registry = createRegistry('pilot', false);
  const pipeline = new LogPipeline({ sinks: [sink], maxInFlightBytes: options.maxInFlightBytes ?? 16 << 20, maxLineBytes: 1 << 20, registry, log: silentLogger });
  const receiver = await startSyslogReceiver({
    listen: { host: '127.0.0.1', port: 0 }, maxFrameBytes: options.maxFrameBytes ?? 1 << 20, udpSocketBufferBytes: options.udpSocketBufferBytes ?? 4 << 20,
    ...(options.tls ? { tls: options.tls } : {}),
    pipeline, encoder: new SyslogRecordEncoder({ target: 'syslog', hostName: 'node-1' }), registry, log: silentLogger,
  });
  t.after(() => {
    sink.release();
    return receiver.close();
  });
  const metric = async (name: string, labels = ''): Promise<number> => {
    const text = await registry.metrics();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };
  return { receiver, sink, registry, metric };
}

function tcpSend(port: number, data: Buffer | string, how: 'end' | 'reset' = 'end'): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(data, () => {
        if (how === 'end') s.end();
        else s.resetAndDestroy();
      });
    });
    s.on('error', reject);
    s.on('close', () => resolve());
  });
}

function udpSend(port: number, messages: Array<string | Buffer>): Promise<void> {
  const s = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    let left = messages.length;
    for (const m of messages) {
      s.send(m, port, '127.0.0.1', (err) => {
        if (err) reject(err);
        if (--left === 0) s.close(() => resolve());
      });
    }
  });
}

const without = (r: Rec, ...keys: string[]): Rec => Object.fromEntries(Object.entries(r).filter(([k]) => !keys.includes(k)));

test('UDP and TCP on one port: every sender field kept, in the record beside the pilot\'s own', async (t) => {
  const { receiver, sink } = await rig(t);
  assert.equal(receiver.udp, true);
  await udpSend(receiver.port, ['<30>1 2026-12-07T15:40:24.123456Z node-9 shop/web 812 shop/web [origin ip="10.0.0.1" ip="10.0.0.2"][meta@1 seq="7"] \uFEFFGET / 200\n']);
  const msg3164 = '<27>Dec  7 15:40:24 web-7f3a[812]: boom';
  await tcpSend(receiver.port, `${msg3164}\n`);
  await waitFor(() => sink.records.length === 2, { what: 'two records' });
  const udp = sink.records.find((r) => r.syslog_transport === 'udp')!;
  assert.deepEqual(without(udp, 'syslog_peer'), {
    '@timestamp': '2026-12-07T15:40:24.123Z', message: 'GET / 200', source: 'syslog', target: 'syslog', host: 'node-1',
    syslog_format: 'rfc5424', syslog_priority: 30, syslog_facility: 'daemon', syslog_severity: 'info',
    syslog_timestamp: '2026-12-07T15:40:24.123456Z', syslog_hostname: 'node-9', syslog_app_name: 'shop/web', syslog_procid: '812',
    syslog_msgid: 'shop/web', syslog_structured_data: { origin: { ip: ['10.0.0.1', '10.0.0.2'] }, 'meta@1': { seq: '7' } }, syslog_transport: 'udp',
  });
  assert.equal(udp.syslog_peer, '127.0.0.1');
  const tcp = sink.records.find((r) => r.syslog_transport === 'tcp')!;
  assert.deepEqual(without(tcp, '@timestamp', 'syslog_peer'), {
    message: 'boom', source: 'syslog', target: 'syslog', host: 'node-1', syslog_format: 'rfc3164', syslog_priority: 27,
    syslog_facility: 'daemon', syslog_severity: 'err', syslog_timestamp: 'Dec  7 15:40:24', syslog_app_name: 'web-7f3a', syslog_procid: '812', syslog_transport: 'tcp',
  });
  const at = new Date(tcp['@timestamp'] as string);
  assert.deepEqual([at.getMonth(), at.getDate(), at.getHours(), at.getMinutes(), at.getSeconds()], [11, 7, 15, 40, 24]);
});

test('malformed messages are kept whole in message with parse_error, and counted by what was wrong', async (t) => {
  const { receiver, sink, metric } = await rig(t);
  await udpSend(receiver.port, ['no pri at all', '<999>bad pri', Buffer.concat([Buffer.from('<13>1 - - - - - - caf'), Buffer.from([0xe9]), Buffer.from('!')])]);
  await tcpSend(receiver.port, '<34>2 2003-10-11T22:14:15Z h a - - - version 2\n<34>1 2003-10-11T22:14:15Z h a - ID [x@1 a="cut\n');
  await waitFor(() => sink.records.length === 5, { what: 'five records' });
  const by = (m: string): Rec => sink.records.find((r) => String(r.message).includes(m))!;
  assert.deepEqual([by('no pri').parse_error, by('no pri').syslog_priority], ['no PRI: a syslog message starts with <facility*8+severity>', undefined]);
  assert.equal(by('<999>').message, '<999>bad pri');
  assert.match(String(by('<999>').parse_error), /^bad PRI/);
  assert.deepEqual([by('version 2').parse_error, by('version 2').syslog_severity], ['RFC 5424 version 2 is not supported (only 1)', 'crit']);
  assert.match(String(by('cut').parse_error), /ends inside the value of a in \[x@1/);
  assert.deepEqual([by('caf').message, by('caf').parse_error, by('caf').syslog_format], ['caf\uFFFD!', 'bytes that are not UTF-8 were replaced by U+FFFD', 'rfc5424']);
  for (const code of ['no_pri', 'bad_pri', 'bad_version', 'bad_structured_data', 'not_utf8']) assert.equal(await metric('shipwatch_pilot_syslog_parse_errors_total', `code="${code}"`), 1, code);
});

test('a TCP client sending garbage, a half frame, or resetting does not stop the receiver; what it sent is kept', async (t) => {
  const { receiver, sink, metric } = await rig(t);
  const garbage = Buffer.alloc(5000);
  for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919) & 0xff;
  await tcpSend(receiver.port, garbage);
  await tcpSend(receiver.port, '120 <13>1 - - - - - - only part of it');
  await tcpSend(receiver.port, '<13>Dec  7 15:40:24 h app: then reset\n<13>Dec  7 15:40:24 h app: half', 'reset').catch(() => {});
  const half = await waitFor(() => sink.records.find((r) => r.message === 'only part of it'), { what: 'the half frame' });
  assert.match(String(half.parse_error), /closed after 33 of the 120 bytes/);
  assert.ok(sink.records.some((r) => r.parse_error !== undefined && r.syslog_transport === 'tcp' && r.message !== 'only part of it'), 'the garbage is kept, marked');
  assert.equal(await metric('shipwatch_pilot_syslog_parse_errors_total', 'code="half_frame"'), 1);
  // Still serving, on both transports.
  await tcpSend(receiver.port, '<13>Dec  7 15:40:24 h app: after\n');
  await udpSend(receiver.port, ['<13>Dec  7 15:40:24 h app: udp after']);
  await waitFor(() => sink.records.some((r) => r.message === 'after') && sink.records.some((r) => r.message === 'udp after'), { what: 'later messages' });
});

test('a frame past the limit is cut there, marked truncated and counted; the next one is whole', async (t) => {
  const { receiver, sink, metric } = await rig(t, { maxFrameBytes: 1024 });
  const long = '<13>1 - - - - - - ' + 'x'.repeat(5000);
  await tcpSend(receiver.port, `${long}\n<13>1 - - - - - - next\n`);
  await tcpSend(receiver.port, `${long.length} ${long}7 <13>1 -`);
  await udpSend(receiver.port, [long]);
  await waitFor(() => sink.records.length === 5, { what: 'five records' });
  const cut = sink.records.filter((r) => r.truncated === true);
  assert.equal(cut.length, 3);
  for (const r of cut) assert.equal(r.message, 'x'.repeat(1024 - 18));
  assert.ok(sink.records.some((r) => r.message === 'next' && r.truncated === undefined));
  assert.equal(await metric('shipwatch_pilot_syslog_truncated_total', 'transport="tcp"'), 2);
  assert.equal(await metric('shipwatch_pilot_syslog_truncated_total', 'transport="udp"'), 1);
});

test('TCP back-pressure: while the outputs take nothing, the receiver stops reading; nothing is lost once they do', async (t) => {
  const { receiver, sink, metric } = await rig(t, { maxInFlightBytes: 64 * 1024 });
  sink.hold();
  const n = 20_000;
  let payload = '';
  for (let i = 1; i <= n; i++) payload += `<13>Dec  7 15:40:24 h app: line ${i} ${'p'.repeat(80)}\n`;
  const socket = net.connect(receiver.port, '127.0.0.1');
  socket.write(payload);
  await new Promise((r) => setTimeout(r, 1000));
  // ~2.3 MB sent: what was read is one batch past the 64 KiB the pipeline holds, the rest waits in the sockets.
  const read = await metric('shipwatch_pilot_syslog_messages_total', 'transport="tcp"');
  assert.equal(sink.records.length, 0);
  assert.ok(read > 0 && read < 2000, `read ${read} of ${n} while the output took nothing`);
  sink.release();
  await waitFor(() => sink.records.length === n, { what: `${n} records`, timeoutMs: 20_000 });
  socket.end();
  const numbers = sink.records.map((r) => Number(/line (\d+)/.exec(String(r.message))![1]));
  assert.deepEqual(numbers, Array.from({ length: n }, (_, i) => i + 1), 'every line once, in order');
});

test('UDP while the pipeline is full: datagrams are dropped and counted, never waited for', async (t) => {
  const { receiver, sink, metric } = await rig(t, { maxInFlightBytes: 64 * 1024 });
  sink.hold();
  const line = (i: number): string => `<13>Dec  7 15:40:24 h app: line ${i} ${'p'.repeat(200)}`;
  for (let i = 0; i < 1000; i += 100) await udpSend(receiver.port, Array.from({ length: 100 }, (_, k) => line(i + k)));
  await waitFor(async () => (await metric('shipwatch_pilot_syslog_messages_total', 'transport="udp"')) === 1000, { what: 'every datagram read' });
  const dropped = await metric('shipwatch_pilot_syslog_dropped_total', 'reason="busy"');
  assert.ok(dropped > 500, `dropped ${dropped}`);
  sink.release();
  await waitFor(() => sink.records.length === 1000 - dropped, { what: 'the ones taken' });
});

const noOpenssl = spawnSync('openssl', ['version']).status === 0 ? false : 'openssl is not installed (it makes the test certificate): apt-get install openssl';

/** A self-signed certificate for 127.0.0.1, made by openssl. */
function selfSigned(t: TestContext): { dir: string; cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sw-syslog-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { dir, cert, key };
}

test('TLS (RFC 5425): octet-counted frames over a verified connection; no UDP; a plain-text client is refused and counted', { skip: noOpenssl }, async (t) => {
  const files = selfSigned(t);
  const material = syslogTls(loadConfig({ PILOT_SYSLOG_LISTEN: ':0', PILOT_SYSLOG_TLS_CERT: files.cert, PILOT_SYSLOG_TLS_KEY: files.key }, 'pilot').pilot)!;
  const { receiver, sink, metric } = await rig(t, { tls: material });
  assert.equal(receiver.udp, false);
  const frames = ['<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3"] over tls', '<13>1 - - - - - - second'];
  const body = frames.map((f) => `${Buffer.byteLength(f)} ${f}`).join('');
  await new Promise<void>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: receiver.port, ca: material.cert }, () => s.end(body));
    s.on('error', reject);
    s.on('close', () => resolve());
  });
  await waitFor(() => sink.records.length === 2, { what: 'two records over TLS' });
  assert.deepEqual(sink.records.map((r) => [r.message, r.syslog_transport, r.syslog_msgid ?? null]), [['over tls', 'tls', 'ID47'], ['second', 'tls', null]]);
  await tcpSend(receiver.port, '<13>1 - - - - - - plain text\n').catch(() => {});
  await waitFor(async () => (await metric('shipwatch_pilot_syslog_connection_errors_total', 'kind="tls"')) === 1, { what: 'the handshake failure counted' });
  assert.equal(sink.records.length, 2);
});

test('TLS settings: the certificate and key go together, and must read', { skip: noOpenssl }, (t) => {
  const files = selfSigned(t);
  const pilot = (env: Record<string, string>) => loadConfig({ PILOT_SYSLOG_LISTEN: ':5514', ...env }, 'pilot').pilot;
  assert.equal(syslogTls(pilot({})), undefined);
  const refused = (env: Record<string, string>, pattern: RegExp): void => {
    assert.throws(() => syslogTls(pilot(env)), (err: unknown) => err instanceof ShipwatchError && err.code === 'SW_CONFIG_INVALID' && pattern.test(err.message));
  };
  refused({ PILOT_SYSLOG_TLS_CERT: files.cert }, /PILOT_SYSLOG_TLS_KEY: PILOT_SYSLOG_TLS_CERT and PILOT_SYSLOG_TLS_KEY go together/);
  refused({ PILOT_SYSLOG_TLS_KEY: files.key }, /PILOT_SYSLOG_TLS_CERT: .* go together/);
  refused({ PILOT_SYSLOG_TLS_CERT: join(files.dir, 'absent.pem'), PILOT_SYSLOG_TLS_KEY: files.key }, /PILOT_SYSLOG_TLS_CERT: cannot read/);
  writeFileSync(join(files.dir, 'not-a-key.pem'), 'hello');
  refused({ PILOT_SYSLOG_TLS_CERT: files.cert, PILOT_SYSLOG_TLS_KEY: join(files.dir, 'not-a-key.pem') }, /PILOT_SYSLOG_TLS_CERT, PILOT_SYSLOG_TLS_KEY: /);
});
