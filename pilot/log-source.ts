/**
 * A declaration's `<source>`: `stdout`, or an absolute path inside the container whose last element may hold
 * wildcards (`*`, `?`, `[abc]`, `[!abc]`, as in filebeat's Go globs; `*` also matches names starting with `.`).
 * Pure: says nothing about whether the path exists — mapping it onto the host, and refusing what leaves the
 * container's mounts and layers, is the runtime's job; a path refused here never gets that far.
 */

export type LogSource =
  | { kind: 'stdout' }
  | {
    kind: 'file';
    /** The normalised path (`/var//log/./app.log` → `/var/log/app.log`). */
    path: string;
    /** Its directory, without wildcards. */
    dir: string;
    /** The last element, may hold wildcards. */
    fileGlob: string;
    /** Matches a file name (not a path) against `fileGlob`. */
    fileName: RegExp;
    hasWildcards: boolean;
  };

const WILDCARD = /[*?[]/;

/** Glob of one path element → an anchored RegExp; the reason when a `[` class is not closed. */
export function globToRegExp(glob: string): RegExp | string {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) return `"${glob}" has a "[" without its "]"`;
      let body = glob.slice(i + 1, close);
      const negate = body[0] === '!' || body[0] === '^';
      if (negate) body = body.slice(1);
      re += (negate ? '[^' : '[') + body.replace(/[\\\]^]/g, '\\$&') + ']';
      i = close;
    } else if (c === '\\' && i + 1 < glob.length) {
      re += '\\' + glob[++i];
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  try {
    return new RegExp(re + '$', 'u');
  } catch (err) {
    // Mapped to the declaration's warning.
    return `"${glob}" is not a valid pattern: ${(err as Error).message}`;
  }
}

/** Parses a source; returns the reason it is refused. */
export function parseLogSource(raw: string): LogSource | string {
  const value = raw.trim();
  if (value === '') return 'the source is empty (write stdout or an absolute file path)';
  if (value === 'stdout') return { kind: 'stdout' };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return `"${value}" holds control characters`;
  if (value[0] !== '/') {
    const hint = value.toLowerCase() === 'stdout' ? ' (write stdout in lower case)' : '';
    return `"${value}" is neither stdout nor an absolute path${hint}`;
  }
  const parts = value.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return `"${value}" holds a ".." element`;
  if (value.endsWith('/') || value.endsWith('/.') || parts.length === 0) {
    return `"${value}" is a directory; name its files (e.g. ${value.replace(/\/\.?$/, '')}/*.log)`;
  }
  const dirParts = parts.slice(0, -1);
  if (dirParts.some((p) => WILDCARD.test(p))) return `"${value}": only the last element may hold wildcards`;
  const fileGlob = parts[parts.length - 1]!;
  const fileName = globToRegExp(fileGlob);
  if (typeof fileName === 'string') return fileName;
  return {
    kind: 'file',
    path: '/' + parts.join('/'),
    dir: '/' + dirParts.join('/'),
    fileGlob,
    fileName,
    hasWildcards: WILDCARD.test(fileGlob),
  };
}
