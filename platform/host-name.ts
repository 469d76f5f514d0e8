/**
 * The host's name as records and points carry it. Inside the pilot's container the system host name is the
 * container's id, so the host's own /etc/hostname (under the mounted host root) is preferred.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export function resolveHostName(options: { configured: string; nodeName: string; hostRoot: string }): string {
  if (options.configured !== '') return options.configured;
  if (options.nodeName !== '') return options.nodeName;
  if (options.hostRoot !== '' && options.hostRoot !== '/') {
    try {
      const name = readFileSync(join(options.hostRoot, 'etc/hostname'), 'utf8').trim();
      if (name !== '') return name;
    } catch {
      // no readable host hostname: the system's name is the best left
    }
  }
  return hostname();
}
