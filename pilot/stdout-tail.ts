/**
 * Standard output of a container: the engine's json-file log (`LogPath` from inspect) and, for recovery after a
 * restart, its rotated siblings `<id>-json.log.1`, `.2`… (`--log-opt max-file`). The engine's own file is trusted:
 * its path comes from the engine, not from the container.
 */
import { promises as fsp } from 'node:fs';
import { basename, dirname, posix } from 'node:path';
import type { CandidateFile, TailTargets } from './file-tail.js';

function plainFile(hostPath: string): CandidateFile {
  return {
    hostPath,
    containerPath: 'stdout',
    open: async () => {
      try {
        return await fsp.open(hostPath, 'r');
      } catch (err) {
        return { ok: false, refused: false, reason: `${hostPath}: ${(err as { code?: string }).code ?? String(err)}` };
      }
    },
  };
}

export function stdoutTargets(logPath: string, hostRoot: string): TailTargets {
  const hostPath = hostRoot === '/' ? logPath : posix.join(hostRoot, logPath);
  const dir = dirname(hostPath);
  const prefix = basename(hostPath) + '.';
  return {
    readsMissedRotations: true,
    async current() {
      if (logPath === '') return { files: [], problems: [{ ok: false, refused: false, reason: 'the container has no json-file log (another log driver?)' }] };
      const exists = await fsp.stat(hostPath).then(() => true, () => false);
      return { files: exists ? [plainFile(hostPath)] : [], problems: [] };
    },
    async rotated() {
      const names = await fsp.readdir(dir).catch(() => [] as string[]);
      return names.filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length))).map((n) => plainFile(posix.join(dir, n)));
    },
  };
}
