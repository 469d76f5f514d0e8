/**
 * Where documents Elasticsearch refused for their content go (a mapping conflict, a malformed field): one NDJSON
 * file per output and UTC day under `SHIPWATCH_DATA_DIR/dead-letter/`, each line naming the index, id, status and
 * reason beside the record exactly as it was sent, so it can be fixed and replayed by hand.
 */
import { mkdir, appendFile } from 'node:fs/promises';
import path from 'node:path';
import type { Counter } from 'prom-client';
import { swError } from '../platform/errors.js';
import { counter, type Registry } from '../platform/self-metrics.js';

export interface DeadLetter {
  index: string;
  status: number;
  reason: string;
  /** The document's `_id`. */
  id: string;
  /** The record as it was sent (its source line). */
  record: string;
}

export class DeadLetterFile {
  private readonly dir: string;
  private readonly written: Counter<'output'>;
  private madeDir = false;
  /** Appends are chained so lines of concurrent batches never interleave. */
  private chain: Promise<void> = Promise.resolve();

  constructor(dataDir: string, private readonly output: string, registry: Registry) {
    this.dir = path.join(dataDir, 'dead-letter');
    this.written = counter(registry, {
      name: 'shipwatch_dead_letters_total', help: 'Records an output refused for their content, written to the dead-letter file.', labelNames: ['output'] as const,
    });
  }

  /** The file of a UTC day. */
  fileFor(timeMs: number): string {
    return path.join(this.dir, `${this.output}-${new Date(timeMs).toISOString().slice(0, 10)}.ndjson`);
  }

  /** Resolves once the lines are written; rejects (SW_OUTPUT_FAILED with cause) when the disk refuses. */
  write(letters: DeadLetter[], nowMs: number = Date.now()): Promise<void> {
    if (letters.length === 0) return Promise.resolve();
    const time = new Date(nowMs).toISOString();
    let text = '';
    for (const l of letters) {
      // The record is embedded as parsed JSON when it parses, so the file stays one object per line.
      text += `{"time":"${time}","output":${JSON.stringify(this.output)},"index":${JSON.stringify(l.index)},"id":${JSON.stringify(l.id)},` +
        `"status":${l.status},"reason":${JSON.stringify(l.reason)},"record":${isJsonObject(l.record) ? l.record : JSON.stringify(l.record)}}\n`;
    }
    const file = this.fileFor(nowMs);
    const next = this.chain.then(async () => {
      if (!this.madeDir) {
        await mkdir(this.dir, { recursive: true });
        this.madeDir = true;
      }
      await appendFile(file, text);
      this.written.inc({ output: this.output }, letters.length);
    });
    this.chain = next.catch(() => undefined);
    return next.catch((err: unknown) => {
      throw swError('SW_OUTPUT_FAILED', `cannot write dead letters to ${file}`, err);
    });
  }
}

function isJsonObject(text: string): boolean {
  if (!text.startsWith('{')) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
