/**
 * `csv`: columns named by `.format.keys`. Fields follow RFC 4180: separated by `,`, a field may be quoted with `"`
 * and a quote inside is doubled (`""`); spaces are part of a field. A line is one record (a quoted field cannot
 * span lines). A line with another number of columns than keys is a failure.
 */
import type { FormatOutcome, LineFormat } from './format.js';

/** Splits one line into fields; returns the reason when its quoting is broken. */
export function splitCsvLine(line: string): string[] | string {
  if (line.indexOf('"') < 0) return line.split(',');
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    if (line.charCodeAt(i) === 34 /* " */) {
      let value = '';
      let from = i + 1;
      for (;;) {
        const q = line.indexOf('"', from);
        if (q < 0) return `unterminated quoted field in column ${out.length + 1}`;
        value += line.slice(from, q);
        if (line.charCodeAt(q + 1) === 34) { value += '"'; from = q + 2; continue; }
        i = q + 1;
        break;
      }
      out.push(value);
      if (i === n) return out;
      if (line.charCodeAt(i) !== 44 /* , */) return `unexpected character after the closing quote of column ${out.length}`;
      i++;
    } else {
      const comma = line.indexOf(',', i);
      if (comma < 0) { out.push(line.slice(i)); return out; }
      out.push(line.slice(i, comma));
      i = comma + 1;
    }
  }
}

export function createCsvFormat(keys: readonly string[]): LineFormat {
  const k = [...keys];
  return {
    name: 'csv',
    keepsMessage: true,
    fieldNames: k,
    parse(line: string): FormatOutcome {
      const values = splitCsvLine(line);
      if (typeof values === 'string') return { ok: false, reason: values };
      if (values.length !== k.length) return { ok: false, reason: `expected ${k.length} columns, found ${values.length}` };
      const fields = Object.create(null) as Record<string, unknown>; // a "__proto__" key stays a field
      for (let i = 0; i < k.length; i++) fields[k[i]!] = values[i];
      return { ok: true, fields, rawJson: null };
    },
  };
}
