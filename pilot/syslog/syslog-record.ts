/**
 * A received syslog frame → the pilot's record (the README's "Syslog"), serialised once as the container records
 * are (record-encoder.ts): the fields constant for the receiver (`source`, `target`, `host`) are one JSON fragment
 * built at start, each record adds its own.
 *
 *   {"@timestamp":"…","message":"…",<constant fragment>,"syslog_format":"rfc5424","syslog_facility":"daemon",…}
 *
 * `@timestamp` is the sender's TIMESTAMP when it has one, else the receive time. A frame that does not parse keeps
 * its whole text in `message` with `parse_error` (and the facility and severity when its PRI read); bytes that are
 * not UTF-8 read as U+FFFD and are named in `parse_error` too; `truncated` marks a frame cut at the limit.
 *
 * Record ids are a random prefix drawn at start and a sequence: syslog has no position to derive them from, and
 * nothing received is ever read twice.
 */
import { randomBytes } from 'node:crypto';
import type { LogEvent } from '../../model/log-record.js';
import type { SyslogFrame } from './syslog-framing.js';
import { decodeFrame, facilityOf, parseSyslogText, severityOf, type SyslogErrorCode, type SyslogMessage } from './syslog-message.js';

export type SyslogTransport = 'udp' | 'tcp' | 'tls';

export interface SyslogRecordOptions {
  target: string;
  hostName: string;
}

/** Earliest and latest times written (as record-encoder.ts: Elasticsearch dates need a four-digit year). */
const MAX_TIME_MS = 253402300799999;

/** What a frame became: the record, and the codes of what went wrong with it (for the counters). */
export interface EncodedFrame {
  event: LogEvent;
  errors: SyslogErrorCode[];
}

const str = (s: string): string => JSON.stringify(s);

export class SyslogRecordEncoder {
  private readonly fragment: string;
  private readonly idPrefix = randomBytes(16).toString('base64url') + '-';
  private sequence = 0;

  constructor(private readonly opts: SyslogRecordOptions) {
    this.fragment = `,"source":"syslog","target":${str(opts.target)},"host":${str(opts.hostName)}`;
  }

  encode(frame: SyslogFrame, transport: SyslogTransport, peer: string, nowMs: number): EncodedFrame {
    const { text, invalidUtf8 } = decodeFrame(frame.bytes);
    const errors: SyslogErrorCode[] = [];
    const reasons: string[] = [];
    if (frame.error) {
      errors.push(frame.error.code);
      reasons.push(frame.error.reason);
    }
    const parsed = parseSyslogText(text, nowMs);
    let fields = '';
    let message = text;
    let timeMs = nowMs;
    if (parsed.ok) {
      const m = parsed.message;
      fields = messageFields(m);
      message = m.message;
      if (m.timeMs >= 0 && m.timeMs <= MAX_TIME_MS) timeMs = m.timeMs;
    } else {
      // A framing error explains the parse failure that follows from it; both are said only when they differ.
      if (!frame.error || frame.error.code !== 'half_frame') {
        errors.push(parsed.code);
        reasons.push(parsed.reason);
      }
      if (parsed.priority >= 0) fields = priorityFields(parsed.priority);
    }
    if (invalidUtf8) {
      errors.push('not_utf8');
      reasons.push('bytes that are not UTF-8 were replaced by U+FFFD');
    }

    const before = `{"@timestamp":"${new Date(timeMs).toISOString()}","message":${str(message)}`;
    let after = fields + `,"syslog_transport":"${transport}"`;
    if (peer !== '') after += `,"syslog_peer":${str(peer)}`;
    if (reasons.length > 0) after += `,"parse_error":${str(reasons.join('; '))}`;
    if (frame.truncated) after += ',"truncated":true';
    after += '}';
    const appName = parsed.ok ? parsed.message.appName ?? '' : '';
    return {
      errors,
      event: {
        json: before + this.fragment + after,
        target: this.opts.target,
        timestampMs: timeMs,
        id: this.idPrefix + (++this.sequence),
        containerId: '',
        // The embedded store's log API finds a Docker container's syslog lines by its tag (`container=`).
        containerName: appName,
        app: '',
        service: '',
        text: message,
        beforeShared: before,
        shared: this.fragment,
        afterShared: after,
      },
    };
  }
}

function priorityFields(priority: number): string {
  return `,"syslog_priority":${priority},"syslog_facility":"${facilityOf(priority)}","syslog_severity":"${severityOf(priority)}"`;
}

function messageFields(m: SyslogMessage): string {
  let out = `,"syslog_format":"${m.format}"` + priorityFields(m.priority);
  if (m.timestamp !== null) out += `,"syslog_timestamp":${str(m.timestamp)}`;
  if (m.hostname !== null) out += `,"syslog_hostname":${str(m.hostname)}`;
  if (m.appName !== null) out += `,"syslog_app_name":${str(m.appName)}`;
  if (m.procId !== null) out += `,"syslog_procid":${str(m.procId)}`;
  if (m.msgId !== null) out += `,"syslog_msgid":${str(m.msgId)}`;
  if (m.structuredData !== null) out += `,"syslog_structured_data":${JSON.stringify(m.structuredData)}`;
  return out;
}
