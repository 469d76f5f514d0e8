/**
 * The pilot's tailing, delivery and file-output variables. Spread into the pilot section.
 */
import { Problem, parseDurationMs, parseSizeBytes, parseString, v } from './schema.js';

const between = (minMs: number, maxMs: number) => (raw: string): number | Problem => {
  const n = parseDurationMs(raw);
  return n instanceof Problem || (n >= minMs && n <= maxMs) ? n : new Problem(`must be from ${minMs}ms to ${maxMs / 1000}s`);
};

export const pilotRuntime = {
  fileOutputDir: v({
    name: 'FILE_OUTPUT_DIR', default: '', defaultDoc: '<SHIPWATCH_DATA_DIR>/logs',
    doc: 'Folder of the file output: newline-delimited JSON, one file per target and day (<target>-YYYY.MM.DD.ndjson).',
    parse: parseString,
  }),
  pollIntervalMs: v({
    name: 'PILOT_POLL_INTERVAL', default: '250ms', doc: 'How often a file at its end is checked for new lines.', parse: between(10, 10_000),
  }),
  scanIntervalMs: v({
    name: 'PILOT_SCAN_INTERVAL', default: '1s', doc: 'How often declared paths are listed again (new files, rotations).', parse: between(50, 60_000),
  }),
  rotatedGraceMs: v({
    name: 'PILOT_ROTATED_GRACE', default: '5s', doc: 'A file renamed away is read until it has not grown for this long.', parse: between(0, 600_000),
  }),
  maxInFlightBytes: v({
    name: 'PILOT_MAX_IN_FLIGHT', default: '16MiB',
    doc: 'Bytes read and not yet acknowledged by every output; past it, tailing pauses (back-pressure).',
    parse: (raw: string) => {
      const n = parseSizeBytes(raw);
      return n instanceof Problem || (n >= 64 * 1024 && n <= 1024 ** 3) ? n : new Problem('must be from 64KiB to 1GiB');
    },
  }),
  positionsFlushIntervalMs: v({
    name: 'PILOT_POSITIONS_FLUSH_INTERVAL', default: '1s', doc: 'How often saved positions are written (also on shutdown).', parse: between(50, 60_000),
  }),
};
