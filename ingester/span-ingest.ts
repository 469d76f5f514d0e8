/**
 * The ingester's span handler (./kafka-ingest-source.ts): a message is spans in KAFKA_CONSUMER_ENCODING
 * (./span-message-decoder.ts), written to every span storage until each holds them (./idempotent-span-write.ts).
 */
import type { Config } from '../platform/config/load-config.js';
import type { Logger } from '../platform/log.js';
import type { Span } from '../model/span.js';
import type { IngestHandler } from './kafka-ingest-source.js';
import { decodeSpanMessage } from './span-message-decoder.js';
import { writeIdempotently, type StorageTarget } from './idempotent-span-write.js';

export function spanIngest(c: Config['ingester'], storages: StorageTarget[], log: Logger): IngestHandler<Span> {
  return {
    unit: 'spans',
    decode: (m) => {
      const d = decodeSpanMessage(m.value, c.kafkaConsumerEncoding, c.maxSpansPerMessage);
      return d.ok ? { ok: true, items: d.spans, rejected: d.rejected, ...(d.firstError === undefined ? {} : { firstError: d.firstError }) } : d;
    },
    store: async (spans, signal, counters) => {
      const failed = await Promise.all(storages.map((t) => writeIdempotently(t, spans, signal, counters, log)));
      return Math.max(0, ...failed);
    },
  };
}
