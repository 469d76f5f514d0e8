/**
 * What the trace receivers do to a raw request body before decoding it: read its media type and undo its
 * Content-Encoding (gzip, deflate, identity) without letting a small compressed body inflate past the limit.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);

/** The media type of a Content-Type header, lowercased, without parameters; '' when absent. */
export function mediaType(header: string | undefined): string {
  if (header === undefined) return '';
  const semi = header.indexOf(';');
  return (semi < 0 ? header : header.slice(0, semi)).trim().toLowerCase();
}

export type BodyResult = { ok: true; body: Buffer } | { ok: false; status: 400 | 413 | 415; message: string };

/**
 * Undoes `Content-Encoding`; the decoded body may be at most `maxBytes`. A body that is not what its encoding
 * says is a 400, an unknown encoding a 415, an over-long result a 413.
 */
export async function decodeContentEncoding(body: Buffer, encoding: string | string[] | undefined, maxBytes: number): Promise<BodyResult> {
  const name = (Array.isArray(encoding) ? encoding.join(',') : encoding ?? '').trim().toLowerCase();
  if (name === '' || name === 'identity') return { ok: true, body };
  const decode = name === 'gzip' || name === 'x-gzip' ? gunzip : name === 'deflate' ? inflate : undefined;
  if (decode === undefined) return { ok: false, status: 415, message: `unsupported Content-Encoding "${name.slice(0, 50)}" (gzip, deflate or identity)` };
  try {
    return { ok: true, body: await decode(body, { maxOutputLength: maxBytes }) };
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      return { ok: false, status: 413, message: `body inflates past ${maxBytes} bytes` };
    }
    return { ok: false, status: 400, message: `body is not valid ${name}: ${(err as Error).message}` };
  }
}
