/**
 * Which indices a retention run deletes (./retention.ts runs it): the rules of Jaeger's `es-index-cleaner`, so
 * Jaeger users keep their habits, applied to the span indices the collector writes and to the log indices the pilot
 * writes. Pure.
 *
 * As Jaeger 2.x (its `jaeger.es.index.relativeTimeIndexDeletion` gate, on by default since v2.5):
 * - An index is old when it was **created** before the cutoff, `now − days × 24 h`; the date in its name only
 *   selects it. (Jaeger 1.x's cutoff was the next UTC midnight − days; an index created now, named for a day long
 *   past, is kept `days` from now either way.)
 * - Only names of the exact shape are taken: `[prefix-]jaeger-(span|service|dependencies|sampling)-YYYY-MM-DD`
 *   (the prefix as `ES_INDEX_PREFIX` applies it). An index that is the write index of an alias (a rollover set-up)
 *   is never deleted.
 *
 * Where Shipwatch is stricter than Jaeger, on purpose:
 * - Names are matched to their end and the date must be a real one: `jaeger-span-2026-1-1`, `jaeger-span-2026`
 *   or `jaeger-span-2026-01-01-restored` are left alone (Jaeger's pattern, open at the end, would take the year
 *   alone of the first).
 * - A monthly log index (`<target>-YYYY.MM`) is deleted only once the month it holds ended before the cutoff, so
 *   the index of the running month is never deleted, however long ago it was created.
 * - Log indices: `<target>-YYYY.MM.DD` and `<target>-YYYY.MM` of the named targets only; an index without a date
 *   (rotation `none`) is never deleted.
 */

export const DAY_MS = 86_400_000;

/** An index as the cleaner sees it (`GET <pattern>?flat_settings`: its creation date and aliases). */
export interface IndexFacts {
  name: string;
  creationMs: number;
  /** The index holds a write alias (Jaeger's `…-write`, or one marked `is_write_index`): rollover writes to it, it stays. */
  writeIndex: boolean;
}

/** A name shape the cleaner takes, with the end of the period the name holds (undefined: judged by creation only). */
export interface IndexShape {
  match: RegExp;
  /** From the match: the first instant after the period the index holds; undefined when the date is not real. */
  periodEndMs?: (m: RegExpExecArray) => number | undefined;
  /** The date must be real for the name to count (always given). */
  realDate: (m: RegExpExecArray) => boolean;
}

/** The deletion cutoff of `days` at `nowMs` (Jaeger 2.x: relative to now). */
export function retentionCutoffMs(nowMs: number, days: number): number {
  return nowMs - days * DAY_MS;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isRealDate(y: number, m: number, d: number): boolean {
  const t = new Date(Date.UTC(y, m - 1, d));
  return m >= 1 && m <= 12 && t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

const n = (s: string | undefined): number => Number(s);

/** Jaeger's daily indices under a prefix as `ES_INDEX_PREFIX` gives it (`''`, `prod` or `prod-`). */
export function jaegerDailyShape(prefix: string): IndexShape {
  const p = prefix === '' || prefix.endsWith('-') ? prefix : `${prefix}-`;
  return {
    match: new RegExp(`^${escapeRegExp(p)}jaeger-(?:span|service|dependencies|sampling)-(\\d{4})-(\\d{2})-(\\d{2})$`),
    realDate: (m) => isRealDate(n(m[1]), n(m[2]), n(m[3])),
  };
}

/** The index pattern listing the candidates of `jaegerDailyShape(prefix)`. */
export function jaegerIndexPattern(prefix: string): string {
  const p = prefix === '' || prefix.endsWith('-') ? prefix : `${prefix}-`;
  return `${p}jaeger-*`;
}

/** A target's daily indices, `<target>-YYYY.MM.DD` (log-pilot's naming, ./bulk-encoder.ts). */
export function dailyLogShape(target: string): IndexShape {
  return {
    match: new RegExp(`^${escapeRegExp(target)}-(\\d{4})\\.(\\d{2})\\.(\\d{2})$`),
    realDate: (m) => isRealDate(n(m[1]), n(m[2]), n(m[3])),
  };
}

/** A target's monthly indices, `<target>-YYYY.MM`: held until the month's end is older than the cutoff. */
export function monthlyLogShape(target: string): IndexShape {
  return {
    match: new RegExp(`^${escapeRegExp(target)}-(\\d{4})\\.(\\d{2})$`),
    realDate: (m) => isRealDate(n(m[1]), n(m[2]), 1),
    periodEndMs: (m) => Date.UTC(n(m[1]), n(m[2]), 1),
  };
}

/** The index patterns listing a target's dated indices (the same as its template's, ./log-index-templates.ts). */
export function logIndexPatterns(target: string): string[] {
  const out: string[] = [];
  for (let d = 1; d <= 9; d++) out.push(`${target}-${d}*`);
  return out;
}

/** The indices of `indices` the cleaner deletes at `cutoffMs`, sorted by name. */
export function expiredIndices(indices: readonly IndexFacts[], shapes: readonly IndexShape[], cutoffMs: number): string[] {
  const out: string[] = [];
  for (const index of indices) {
    if (index.writeIndex || !(index.creationMs < cutoffMs)) continue;
    for (const shape of shapes) {
      const m = shape.match.exec(index.name);
      if (m === null || !shape.realDate(m)) continue;
      const end = shape.periodEndMs?.(m);
      if (end !== undefined && end > cutoffMs) continue;
      out.push(index.name);
      break;
    }
  }
  return out.sort();
}

/**
 * The backing indices of a data stream that a run without ILM deletes: every one but the write index (the last)
 * whose successor was created before the cutoff — the successor's creation is when the index stopped taking
 * documents, so its newest document is older than the limit. `backing` in the stream's order, oldest first.
 */
export function expiredBackingIndices(backing: ReadonlyArray<{ name: string; creationMs: number }>, cutoffMs: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < backing.length; i++) if (backing[i + 1]!.creationMs < cutoffMs) out.push(backing[i]!.name);
  return out;
}

/** `GET <pattern>?flat_settings=true` answer → the facts the cleaner needs (indices without a creation date skipped). */
export function indexFacts(answer: Record<string, { aliases?: Record<string, { is_write_index?: boolean }>; settings?: Record<string, unknown> }>): IndexFacts[] {
  const out: IndexFacts[] = [];
  for (const [name, body] of Object.entries(answer)) {
    const creationMs = Number(body.settings?.['index.creation_date']);
    if (!Number.isFinite(creationMs)) continue;
    // Jaeger's rollover set-up names its write aliases `…-write`; an alias may also say so itself.
    const writeIndex = Object.entries(body.aliases ?? {}).some(([alias, a]) => alias.endsWith('-write') || a.is_write_index === true);
    out.push({ name, creationMs, writeIndex });
  }
  return out;
}
