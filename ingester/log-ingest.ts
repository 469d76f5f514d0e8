/**
 * The ingester's log handler (./kafka-ingest-source.ts): the pilot's kafka output (storage/kafka/kafka-output.ts)
 * writes each record as its JSON document on the topic of its target, keyed by its container's id, with the
 * record's deterministic id in the `shipwatch-id` header. Each is written to Elasticsearch as the pilot's
 * Elasticsearch output would write it (storage/elasticsearch/acknowledged-log-writer.ts): same index for its target
 * and day, same document, and that id as `_id`, so a message read again (a replay of the pilot, a crash or a
 * rebalance of the ingester) overwrites itself instead of adding a copy.
 *
 * A message without the header, or whose value is not a JSON object with a readable `@timestamp`, is not a record:
 * the reason goes with it to the dead-letter topic.
 */
import type { KafkaMessage } from 'kafkajs';
import type { LogEvent } from '../model/log-record.js';
import type { DecodedItems, IngestHandler } from './kafka-ingest-source.js';

/** The header the pilot's kafka output carries each record's id in (storage/kafka/kafka-sink.ts). */
export const RECORD_ID_HEADER = 'shipwatch-id';
/** The longest id taken: the pilot's are ~40 characters; Elasticsearch refuses an `_id` past 512 bytes. */
const MAX_ID_BYTES = 512;

function headerText(m: KafkaMessage, name: string): string | undefined {
  const h = m.headers?.[name];
  const first = Array.isArray(h) ? h[0] : h;
  return first === undefined ? undefined : first.toString();
}

/** One message → its record, or why it is not one. Pure, never throws. */
export function decodeLogMessage(m: KafkaMessage, topic: string): DecodedItems<LogEvent> {
  const id = headerText(m, RECORD_ID_HEADER);
  if (id === undefined || id === '') return { ok: false, reason: `no ${RECORD_ID_HEADER} header: not a record of the pilot's kafka output` };
  if (Buffer.byteLength(id) > MAX_ID_BYTES) return { ok: false, reason: `${RECORD_ID_HEADER} header longer than ${MAX_ID_BYTES} bytes` };
  if (m.value === null || m.value.length === 0) return { ok: false, reason: 'empty message: a JSON log record was expected' };
  const json = m.value.toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return { ok: false, reason: 'not a JSON object: a log record was expected' };
  const fields = doc as Record<string, unknown>;
  const stamp = fields['@timestamp'];
  const timestampMs = typeof stamp === 'string' ? Date.parse(stamp) : NaN;
  if (!Number.isFinite(timestampMs)) return { ok: false, reason: 'no readable @timestamp: a log record was expected' };
  const target = typeof fields['target'] === 'string' && fields['target'] !== '' ? fields['target'] : topic;
  const str = (k: string): string => (typeof fields[k] === 'string' ? (fields[k] as string) : '');
  // The document goes as it came (its text, not a re-serialisation), unless a line break in it would cut the
  // bulk body's lines.
  const event: LogEvent = {
    json: json.includes('\n') || json.includes('\r') ? JSON.stringify(doc) : json, target, timestampMs, id,
    containerId: m.key?.toString() ?? '', containerName: str('docker_container'), app: str('app'), service: str('service'), text: str('message'),
  };
  return { ok: true, items: [event], rejected: 0 };
}

export interface LogStorage {
  write(events: readonly LogEvent[], signal: AbortSignal): Promise<void>;
  problem(): string | undefined;
}

export function logIngest(storage: LogStorage): IngestHandler<LogEvent> {
  return {
    unit: 'records',
    decode: decodeLogMessage,
    store: async (events, signal) => {
      await storage.write(events, signal);
      return 0;
    },
    problem: () => storage.problem(),
  };
}
