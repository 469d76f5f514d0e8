/**
 * The CRI log format kubelet's runtimes (containerd, CRI-O) write a container's stdout and stderr in, one entry
 * per line: `<time> <stream> <tags> <text>`, e.g. `2026-03-01T12:00:00.123456789Z stdout F hello`.
 *
 * - time: RFC 3339 with nanoseconds; containerd writes the node's local offset (`+01:00`) as readily as `Z`.
 * - stream: `stdout` or `stderr`.
 * - tags: `:`-separated, the first `P` (partial: the runtime cut the line, more follows) or `F` (full: the line
 *   ends here). containerd cuts at its max_container_log_line_size, 16 KiB by default.
 *
 * The entries map onto the engine's json-file entries (docker-json-log.ts), so the same assembler joins the `P`
 * pieces back per stream, bounded by PILOT_MAX_LINE_BYTES. Pure: a line that is not an entry returns the reason,
 * and the caller ships it raw with that reason as its parse_error.
 */
import { engineTimeMs, type DockerLogEntry } from './docker-json-log.js';

/**
 * The physical line limit to give the splitter reading a CRI log: an entry holds at most the runtime's cut (16 KiB
 * by default) plus its header; a runtime set to cut later (or not at all) writes longer ones, which are then cut
 * here and marked truncated. The user's PILOT_MAX_LINE_BYTES bounds the joined line.
 */
export function criFileLineLimit(maxLineBytes: number): number {
  return Math.max(maxLineBytes, 256 * 1024);
}

/** RFC 3339 time with any fraction and a `Z` or `±hh:mm` offset → ms; NaN when it is not that shape. */
export function criTimeMs(text: string): number {
  if (text.endsWith('Z')) return engineTimeMs(text);
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([+-]\d{2}:\d{2})$/.exec(text);
  if (!m) return NaN;
  const ms = Date.parse(`${m[1]}.${((m[2] ?? '') + '000').slice(0, 3)}${m[3]}`);
  return Number.isFinite(ms) ? ms : NaN;
}

/** One CRI log line → its entry, or the reason it is not one. Never throws. */
export function decodeCriLine(raw: string): DockerLogEntry | string {
  const s1 = raw.indexOf(' ');
  if (s1 < 0) return 'not a CRI log entry: no "<time> <stream> <tag> " header';
  const timeMs = criTimeMs(raw.slice(0, s1));
  if (Number.isNaN(timeMs)) return `not a CRI log entry: ${JSON.stringify(raw.slice(0, Math.min(s1, 40)))} is not an RFC 3339 time`;
  const s2 = raw.indexOf(' ', s1 + 1);
  const stream = raw.slice(s1 + 1, s2 < 0 ? raw.length : s2);
  if (stream !== 'stdout' && stream !== 'stderr') return `not a CRI log entry: stream ${JSON.stringify(stream.slice(0, 40))} is neither stdout nor stderr`;
  if (s2 < 0) return 'not a CRI log entry: no P or F tag after the stream';
  let s3 = raw.indexOf(' ', s2 + 1);
  if (s3 < 0) s3 = raw.length; // `… stdout F` with the space of an empty text lost
  const tags = raw.slice(s2 + 1, s3);
  const first = tags.split(':', 1)[0];
  if (first !== 'P' && first !== 'F') return `not a CRI log entry: tag ${JSON.stringify(tags.slice(0, 40))} is neither P nor F`;
  return { text: raw.slice(s3 + 1), stream, timeMs, partial: first === 'P' };
}

/**
 * Where a file under kubelet's pods folder belongs: `<namespace>_<pod>_<uid>/<container>/<restart>.log`.
 * Namespace and pod names cannot hold `_` (DNS labels and subdomains), so the split is exact.
 */
export interface CriLogPath {
  namespace: string;
  pod: string;
  podUid: string;
  container: string;
  restart: number;
}

export function parsePodDirName(name: string): Pick<CriLogPath, 'namespace' | 'pod' | 'podUid'> | undefined {
  const parts = name.split('_');
  if (parts.length !== 3 || parts.some((p) => p === '')) return undefined;
  return { namespace: parts[0]!, pod: parts[1]!, podUid: parts[2]! };
}

/** `<n>.log` → n; the rotated `<n>.log.<YYYYMMDD-HHMMSS>` and compressed names are not a current log. */
export function restartOfLogName(name: string): number | undefined {
  const m = /^(\d{1,9})\.log$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Kubelet's rotated name of `<n>.log`: `<n>.log.<YYYYMMDD-HHMMSS>` (not yet compressed). */
export function isRotatedLogName(name: string, current: string): boolean {
  return name.startsWith(current + '.') && /^\d{8}-\d{6}$/.test(name.slice(current.length + 1));
}

/** Kubelet's compressed rotation of `<n>.log`: `<n>.log.<YYYYMMDD-HHMMSS>.gz`. */
export function isCompressedLogName(name: string, current: string): boolean {
  return name.endsWith('.gz') && isRotatedLogName(name.slice(0, -3), current);
}
