/**
 * One container run's standard output on a CRI node: kubelet's `<restart>.log` in the container's folder, and the
 * names kubelet's rotation renames it to, `<restart>.log.<YYYYMMDD-HHMMSS>` (compressed to `….gz` at the next
 * rotation, by then read to its end: a reader keeps its file open, so a rename or removal does not cut it short;
 * after a restart, a position whose file was compressed meanwhile is read on from its uncompressed content).
 * The files' paths come from the pods folder, not from a container, so nothing here can be pointed elsewhere.
 */
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { basename, dirname, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { CandidateFile, TailTargets } from './file-tail.js';
import { isCompressedLogName, isRotatedLogName } from './cri-log.js';

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

let unpacked = 0;

/**
 * A compressed rotation opened as its content: uncompressed into `scratchDir`, opened, and unlinked at once (the
 * handle reads on; nothing is left behind, whatever happens next). Only looked at after a restart, for a position
 * whose file was compressed while the pilot was away.
 */
function compressedFile(hostPath: string, scratchDir: string): CandidateFile {
  return {
    hostPath,
    containerPath: 'stdout',
    open: async () => {
      const tmp = posix.join(scratchDir, `${process.pid}-${++unpacked}.log`);
      try {
        await fsp.mkdir(scratchDir, { recursive: true });
        await pipeline(createReadStream(hostPath), createGunzip(), createWriteStream(tmp));
        return await fsp.open(tmp, 'r');
      } catch (err) {
        return { ok: false, refused: false, reason: `${hostPath}: ${(err as { code?: string }).code ?? String(err)}` };
      } finally {
        await fsp.rm(tmp, { force: true });
      }
    },
  };
}

/**
 * `hostPath`: the `<restart>.log` file as the pilot sees it (under the host root); `scratchDir`: where a compressed
 * rotation is uncompressed to be read on after a restart.
 */
export function criTargets(hostPath: string, scratchDir: string): TailTargets {
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
    async compressed() {
      const names = await fsp.readdir(dir).catch(() => [] as string[]);
      return names.filter((n) => isCompressedLogName(n, current)).sort().map((n) => compressedFile(posix.join(dir, n), scratchDir));
    },
  };
}
