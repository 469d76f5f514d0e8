/**
 * The JSON application log of the pilot benches (pilot-pipeline, peer-pilot): line `i` of ~171 bytes, the same on
 * every run, and the file of the first `lines` of them, written once and kept while its size says it is whole.
 */
import { createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

const LEVELS = ['info', 'info', 'info', 'warn', 'error', 'debug'];
const LOGGERS = ['com.shop.api.OrderController', 'com.shop.api.CartService', 'com.shop.db.Pool'];

export function jsonLine(i: number): string {
  const t = new Date(Date.UTC(2026, 2, 1) + i * 7).toISOString();
  return `{"time":"${t}","level":"${LEVELS[i % 6]}","logger":"${LOGGERS[i % 3]}","msg":"order ${100000 + (i % 900000)} created",` +
    `"trace_id":"${(i * 2654435761 >>> 0).toString(16).padStart(8, '0')}a3ce929d0e0e4736","duration_ms":${i % 997}}`;
}

/** Writes `make(0)` … `make(lines - 1)`, a line each, to `file` unless it is there already. */
export async function generateLines(file: string, lines: number, make: (i: number) => string): Promise<void> {
  if (existsSync(file) && statSync(file).size > 0) return;
  mkdirSync(dirname(file), { recursive: true });
  const out = createWriteStream(file);
  let buf = '';
  for (let i = 0; i < lines; i++) {
    buf += make(i) + '\n';
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
      buf = '';
    }
  }
  out.end(buf);
  await new Promise<void>((r) => out.once('close', () => r()));
}
