/**
 * The Elasticsearch log buffer's previous on-disk format (`<seq>.ndjson`, one JSON array of records per line, with
 * `read-position.json`), read once for its migration into the durable queue's frames.
 */
import { readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { readPosition } from '../../delivery/segment-files.js';
import { swError } from '../../platform/errors.js';
import { encodeFrame } from './buffer-frame.js';
import type { BulkItems } from './bulk-items.js';

const LEGACY_SEGMENT_RE = /^(\d{12})\.ndjson$/;
const LEGACY_POSITION_FILE = 'read-position.json';

/** The previous format's segment files, oldest first. */
export async function listLegacySegments(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => LEGACY_SEGMENT_RE.test(n)).sort();
}

/**
 * One previous-format segment as frames, from its saved read position when it is the segment that position names.
 * A line `migrate` cannot read (a torn last line: it was never acknowledged to a source) is counted and left out.
 */
export async function readLegacySegment(
  dir: string, name: string, migrate: (line: string) => BulkItems | undefined,
): Promise<{ frames: Buffer[]; records: number; unreadableLines: number }> {
  const pos = await readPosition(path.join(dir, LEGACY_POSITION_FILE));
  const from = pos !== undefined && Number(LEGACY_SEGMENT_RE.exec(name)![1]) === pos.seq ? pos.offset : 0;
  const raw = await readFile(path.join(dir, name));
  const frames: Buffer[] = [];
  let records = 0;
  let unreadableLines = 0;
  for (const line of raw.subarray(from).toString('utf8').split('\n')) {
    if (line === '') continue;
    const items = migrate(line);
    if (items === undefined) unreadableLines++;
    else if (items.ends.length > 0) {
      frames.push(...encodeFrame(items));
      records += items.ends.length;
    }
  }
  return { frames, records, unreadableLines };
}

/** Deletes the migrated segments and their read position. */
export async function removeLegacySegments(dir: string, names: readonly string[]): Promise<void> {
  for (const n of names) await unlink(path.join(dir, n));
  await unlink(path.join(dir, LEGACY_POSITION_FILE)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw swError('SW_OUTPUT_FAILED', `cannot remove ${LEGACY_POSITION_FILE} in ${dir}`, err);
  });
}
