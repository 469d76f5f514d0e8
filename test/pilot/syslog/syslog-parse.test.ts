import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeFrame, facilityOf, parseSyslogText, severityOf, type SyslogMessage, type SyslogParse } from '../../../pilot/syslog/syslog-message.js';

/** A receive time in the pilot's zone: 12 October 2003, so RFC 3164's yearless examples land in 2003. */
const NOW = new Date(2003, 9, 12, 8, 0, 0).getTime();

function ok(text: string, now = NOW): SyslogMessage {
  const r = parseSyslogText(text, now);
  assert.ok(r.ok, `${text}: ${JSON.stringify(r)}`);
  return r.message;
}

function bad(text: string): Extract<SyslogParse, { ok: false }> {
  const r = parseSyslogText(text, NOW);
  assert.ok(!r.ok, `${text} parsed: ${JSON.stringify(r)}`);
  return r;
}

const local = (y: number, mo: number, d: number, h: number, mi: number, s: number): number => new Date(y, mo - 1, d, h, mi, s).getTime();

// ---- RFC 3164 ----

test('RFC 3164 §5.4 example 1: hostname, tag and message', () => {
  const m = ok("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8");
  assert.deepEqual(m, {
    format: 'rfc3164', priority: 34, timestamp: 'Oct 11 22:14:15', timeMs: local(2003, 10, 11, 22, 14, 15), hostname: 'mymachine',
    appName: 'su', procId: null, msgId: null, structuredData: null, message: "'su root' failed for lonvick on /dev/pts/8",
  });
  assert.equal(facilityOf(34), 'auth');
  assert.equal(severityOf(34), 'crit');
});

test('RFC 3164 §5.4 example 2: a word without ":" after the host is no tag, the whole rest is the message', () => {
  const m = ok('<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!', local(2004, 2, 1, 0, 0, 0));
  assert.equal(m.hostname, '10.0.0.99');
  assert.equal(m.appName, null);
  assert.equal(m.message, 'Use the BFG!');
  assert.equal(m.timeMs, local(2004, 2, 5, 17, 32, 18));
});

test('RFC 3164 §5.4 example 4: tag with its PID', () => {
  const m = ok('<0>Oct 22 10:52:12 scapegoat 1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That\'s All Folks!');
  assert.equal(m.hostname, 'scapegoat');
  assert.equal(m.appName, null);
  assert.equal(m.message, "1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!");
});

test("Docker's syslog driver, default (Unix) format: no hostname, the container's tag and dockerd's pid", () => {
  const m = ok('<30>Oct 11 22:14:15 web-7f3a[812]: GET / 200');
  assert.deepEqual([m.hostname, m.appName, m.procId, m.message, facilityOf(m.priority), severityOf(m.priority)], [null, 'web-7f3a', '812', 'GET / 200', 'daemon', 'info']);
  // rfc3164 format: with the hostname; a tag may hold "/", "." and ":" (an image name).
  const r = ok('<27>Oct  1 09:05:03 node-1 registry.example/shop:1.2[812]: boom');
  assert.deepEqual([m.format, r.hostname, r.appName, r.procId, r.message, severityOf(r.priority)], ['rfc3164', 'node-1', 'registry.example/shop:1.2', '812', 'boom', 'err']);
  assert.equal(r.timeMs, local(2003, 10, 1, 9, 5, 3));
});

test('RFC 3164: the yearless time takes the year nearest to the receive time (December read in January)', () => {
  const m = ok('<13>Dec 31 23:59:59 h t: x', local(2004, 1, 1, 0, 0, 5));
  assert.equal(m.timeMs, local(2003, 12, 31, 23, 59, 59));
  assert.equal(ok('<13>Feb 29 12:00:00 h t: x', local(2004, 3, 1, 0, 0, 0)).timeMs, local(2004, 2, 29, 12, 0, 0));
});

test('RFC 3164 with an RFC 3339 time in its place is read too', () => {
  const m = ok('<13>2003-10-11T22:14:15.003Z host app[3]: hi');
  assert.deepEqual([m.timeMs, m.hostname, m.appName, m.message], [Date.UTC(2003, 9, 11, 22, 14, 15, 3), 'host', 'app', 'hi']);
});

// ---- RFC 5424 ----

test('RFC 5424 §6.5 example 1: no structured data, BOM before the message', () => {
  const m = ok('<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \uFEFF\'su root\' failed for lonvick on /dev/pts/8');
  assert.deepEqual(m, {
    format: 'rfc5424', priority: 34, timestamp: '2003-10-11T22:14:15.003Z', timeMs: Date.UTC(2003, 9, 11, 22, 14, 15, 3),
    hostname: 'mymachine.example.com', appName: 'su', procId: null, msgId: 'ID47', structuredData: null,
    message: "'su root' failed for lonvick on /dev/pts/8",
  });
});

test('RFC 5424 §6.5 example 2: microseconds and a zone offset', () => {
  const m = ok('<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It\'s time to make the do-nuts.');
  assert.deepEqual([m.timeMs, m.hostname, m.appName, m.procId, m.msgId, m.message], [Date.UTC(2003, 7, 24, 12, 14, 15, 0), '192.0.2.1', 'myproc', '8710', null, "%% It's time to make the do-nuts."]);
  assert.deepEqual([facilityOf(165), severityOf(165)], ['local4', 'notice']);
});

test('RFC 5424 §6.5 examples 3 and 4: structured data, with and without a message', () => {
  const m = ok('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] \uFEFFAn application event log entry...');
  assert.deepEqual(JSON.parse(JSON.stringify(m.structuredData)), { 'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' } });
  assert.equal(m.message, 'An application event log entry...');
  const n = ok('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]');
  assert.deepEqual(JSON.parse(JSON.stringify(n.structuredData)), {
    'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' }, 'examplePriority@32473': { class: 'high' },
  });
  assert.equal(n.message, '');
});

test('RFC 5424 structured data: escapes, a repeated parameter, an empty value, a __proto__ name kept as a name', () => {
  const m = ok('<13>1 - - - - - [x@1 a="q\\"uote" b="back\\\\slash" c="br\\]acket" d="keep\\n" ip="1" ip="2" e=""][__proto__ polluted="yes"] m');
  assert.equal(JSON.stringify(m.structuredData), JSON.stringify({ 'x@1': { a: 'q"uote', b: 'back\\slash', c: 'br]acket', d: 'keep\\n', ip: ['1', '2'], e: '' } }).slice(0, -1) + ',"__proto__":{"polluted":"yes"}}');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(m.timestamp, null);
  assert.ok(Number.isNaN(m.timeMs));
});

test('structured data: up to 1000 SD-IDs and parameters are read; a message with more is refused at once, in time linear in its length', () => {
  // No backslash but in the last value: a search for the next escape from each value would run to the end each time.
  const sd = (n: number, name: (i: number) => string): string =>
    `[x@1${Array.from({ length: n }, (_, i) => ` ${name(i)}="v${i === n - 1 ? '\\]' : ''}${i}"`).join('')}]`;
  for (const name of [(i: number) => `p${i}`, () => 'same']) {
    const m = ok(`<13>1 - - - - - ${sd(999, name)} m`);
    const values = Object.values(m.structuredData!['x@1']!).flat();
    assert.deepEqual([values.length, values[0], values[998]], [999, 'v0', 'v]998']);
    assert.equal(bad(`<13>1 - - - - - ${sd(1000, name)} m`).reason, 'RFC 5424 STRUCTURED-DATA: more than 1000 SD-IDs and parameters');
    const huge = `<13>1 - - - - - ${sd(90_000, name)} m`;
    assert.ok(huge.length > 1_000_000, `${huge.length} characters`);
    const started = performance.now();
    assert.equal(bad(huge).code, 'bad_structured_data');
    assert.ok(performance.now() - started < 100, `${performance.now() - started} ms`);
  }
});

test("Docker's syslog driver, rfc5424 format: the tag is APP-NAME and MSGID", () => {
  const m = ok('<30>1 2026-12-07T15:40:24Z node-1 shop/web 812 shop/web - GET / 200');
  assert.deepEqual([m.hostname, m.appName, m.procId, m.msgId, m.structuredData, m.message], ['node-1', 'shop/web', '812', 'shop/web', null, 'GET / 200']);
});

// ---- malformations: each kept raw by the caller, with its reason ----

test('no PRI', () => {
  assert.deepEqual(bad('Oct 11 22:14:15 host app: hi'), { ok: false, code: 'no_pri', reason: 'no PRI: a syslog message starts with <facility*8+severity>', priority: -1 });
  assert.equal(bad('').code, 'no_pri');
});

test('bad PRI: past 191, not digits, empty, more than 3 digits, unclosed', () => {
  for (const text of ['<192>Oct 11 22:14:15 h a: x', '<ab>Oct 11 22:14:15 h a: x', '<>x', '<1234>x', '<13', '<13 Oct']) {
    const r = bad(text);
    assert.equal(r.code, 'bad_pri', text);
    assert.equal(r.priority, -1);
    assert.match(r.reason, /^bad PRI /);
  }
  assert.equal(ok('<0>Oct 11 22:14:15 h a: x').priority, 0);
  assert.equal(ok('<191>Oct 11 22:14:15 h a: x').priority, 191);
});

test('bad version: RFC 5424 versions other than 1', () => {
  const r = bad('<34>2 2003-10-11T22:14:15.003Z host app - - - hi');
  assert.deepEqual(r, { ok: false, code: 'bad_version', reason: 'RFC 5424 version 2 is not supported (only 1)', priority: 34 });
  assert.equal(bad('<34>10 - - - - - -').code, 'bad_version');
});

test('bad timestamp, in each format', () => {
  for (const text of [
    '<34>1 2003-13-11T22:14:15Z host app - - - hi', // month 13
    '<34>1 2003-02-30T22:14:15Z host app - - - hi', // 30 February
    '<34>1 2003-10-11 22:14:15Z host app - - - hi', // no T: the header then ends early or the time is wrong
    '<34>1 2003-10-11T22:14:15.1234567Z host app - - - hi', // 7 fraction digits
    '<34>1 2003-10-11T22:14:15 host app - - - hi', // no zone
    '<34>1 2003-10-11t22:14:15z host app - - - hi', // lower case
  ]) {
    const r = bad(text);
    assert.ok(r.code === 'bad_timestamp' || (r.code === 'bad_header' && text.includes('11 22')), `${text}: ${r.code}`);
    assert.equal(r.priority, 34);
  }
  for (const text of ['<13>Foo 11 22:14:15 host app: x', '<13>Oct 11 25:14:15 host app: x', '<13>Oct 32 22:14:15 h a: x', '<13>hello world', '<13>', '<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That\'s All Folks!']) {
    const r = bad(text);
    assert.equal(r.code, 'bad_timestamp', text);
    assert.match(r.reason, /^RFC 3164: no valid TIMESTAMP/);
  }
});

test('a header that ends early', () => {
  for (const text of ['<34>1 2003-10-11T22:14:15Z host app', '<34>1', '<34>1 - - - - -', '<34>1  - - - - -']) assert.equal(bad(text).code, 'bad_header', text);
});

test('truncated or malformed structured data', () => {
  const base = '<34>1 2003-10-11T22:14:15Z host app - ID47 ';
  for (const sd of [
    '[exampleSDID@32473 iut="3" eventSource="Appli', // cut inside a value
    '[exampleSDID@32473 iut="3"', // cut before the ]
    '[exampleSDID@32473 iut', // cut inside a name
    '[exampleSDID@32473 iut=3]', // value without quotes
    '[ iut="3"]', // no SD-ID
    '[x@1 a="1"]garbage', // no space before the message
    'nonsense', // neither - nor [
  ]) {
    const r = bad(base + sd);
    assert.equal(r.code, 'bad_structured_data', sd);
    assert.equal(r.priority, 34);
    assert.match(r.reason, /^RFC 5424/);
  }
});

test('non-UTF-8 bytes read as U+FFFD and are told apart from a U+FFFD that was sent', () => {
  const raw = Buffer.concat([Buffer.from('<13>1 - - - - - - caf'), Buffer.from([0xe9, 0xff]), Buffer.from('!')]);
  const d = decodeFrame(raw);
  assert.deepEqual(d, { text: '<13>1 - - - - - - caf\uFFFD\uFFFD!', invalidUtf8: true });
  assert.equal(ok(d.text).message, 'caf\uFFFD\uFFFD!');
  assert.deepEqual(decodeFrame(Buffer.from('<13>1 - - - - - - sent \uFFFD as such')).invalidUtf8, false);
  assert.deepEqual(decodeFrame(Buffer.from('<13>1 - - - - - - café')), { text: '<13>1 - - - - - - café', invalidUtf8: false });
});
