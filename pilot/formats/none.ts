/** `none` (log-pilot's default): the line is the record's `message`, nothing else is parsed. */
import type { FormatOutcome, LineFormat } from './format.js';

const NOTHING: FormatOutcome = Object.freeze({ ok: true, fields: null, rawJson: null });

export function createNoneFormat(): LineFormat {
  return { name: 'none', keepsMessage: true, fieldNames: [], parse: () => NOTHING };
}
