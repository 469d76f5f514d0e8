/**
 * One container run's standard output on a CRI node: kubelet's `<restart>.log` in the container's folder, and the
 * names kubelet's rotation renames it to, `<restart>.log.<YYYYMMDD-HHMMSS>` (compressed to `….gz` at the next
 * rotation, by then read to its end: a reader keeps its file open, so a rename or removal does not cut it short).
 * The files' paths come from the pods folder, not from a container, so nothing here can be pointed elsewhere.
 */
import { promises as fsp } from 'node:fs';
import { basename, dirname, posix } from 'node:path';
import type { CandidateFile, TailTargets } from './file-tail.js';
import { isRotatedLogName } from './cri-log.js';

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

/** `hostPath`: the `<restart>.log` file as the pilot sees it (under the host root). */
export function criTargets(hostPath: string): TailTargets {
  const dir = dirname(hostPath);
  const current = basename(hostPath);
  return {
    readsMissedRotations: true,
    async current() {
      const exists = await fsp.stat(hostPath).then((st) => st.isFile(), () => false);
      return { files: exists ? [plainFile(hostPath)] : [], problems: [] };
    },
    async rotated() {
      const names = await fsp.readdir(dir).catch(() => [] as string[]);
      return names.filter((n) => isRotatedLogName(n, current)).sort().map((n) => plainFile(posix.join(dir, n)));
    },
  };
}
