/**
 * The contract of a line format (`.format`): a pure, synchronous function from one line to its fields, or to the
 * reason it does not fit. It never throws: the record encoder ships a failed line raw, with the reason in
 * `parse_error`, so no line is ever dropped for its shape.
 */

export const FORMAT_NAMES = ['none', 'json', 'csv', 'regexp'] as const;
export type FormatName = (typeof FORMAT_NAMES)[number];

export interface FormatFields {
  ok: true;
  /** The line's own fields (null for `none`). */
  fields: Record<string, unknown> | null;
  /** `json` only: the line itself, a JSON object, so the encoder can splice its text instead of re-serialising. */
  rawJson: string | null;
  /** `json` only: the line's keys at every depth (the encoder's check for a key written twice needs them). */
  keys?: number;
}

export interface FormatFailure {
  ok: false;
  reason: string;
  /** Set when the line passed a configured limit (json: `keys`, `depth`) rather than failing its format. */
  limit?: 'keys' | 'depth';
}

export type FormatOutcome = FormatFields | FormatFailure;

export interface LineFormat {
  readonly name: FormatName;
  /** Whether the record keeps the line as `message` (all but `json`, whose own fields stand for it). */
  readonly keepsMessage: boolean;
  /** Field names every success may hold, when known in advance (csv keys, regexp groups), else null. */
  readonly fieldNames: readonly string[] | null;
  parse(line: string): FormatOutcome;
}

/** Cuts a reason to a length fit for a field and a log line. */
export function shortReason(reason: string, maxChars = 200): string {
  return reason.length <= maxChars ? reason : reason.slice(0, maxChars - 1) + '…';
}
