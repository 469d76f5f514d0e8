/**
 * Maps a path inside a container to the host file that holds it (the README's "Declaring logs"), and keeps a
 * declaration inside the container: through the container's mounts (bind and volume sources; the longest mount
 * destination wins), else through its writable layer (the merged root view while it runs, the upper layer after it
 * stopped).
 *
 * Symlinks are followed here, one element at a time, in the container's own root view (an absolute target means the
 * container's `/`, never the host's), so a link cannot reach the host's or another container's files. The file found
 * must lie in the same mount or layer the declared path starts in; anything else is refused (SW_PATH_REFUSED).
 * After opening, the descriptor's real path is checked again, which defeats a link swapped in between.
 */
import { constants, promises as fsp, existsSync } from 'node:fs';
import { posix } from 'node:path';
import type { MountInfo } from '../platform/engine/container-info.js';

/** What of a container the mapper needs (a structural subset of ContainerInfo). */
export interface ContainerFilesView {
  readonly name: string;
  readonly mounts: readonly MountInfo[];
  readonly mergedDir: string;
  readonly upperDir: string;
}

export interface MappedFile {
  ok: true;
  /** The file on the host (as this process sees it, under the host root). */
  hostPath: string;
  /** The mount source or layer folder that confines it. */
  rootHostPath: string;
  /** The file's path in the container after following links. */
  containerPath: string;
}

export interface MappingFailure {
  ok: false;
  /** True: refused for leaving the container (report it); false: simply not there (yet). */
  refused: boolean;
  reason: string;
}

export type Mapping = MappedFile | MappingFailure;

const MAX_LINK_HOPS = 40;

interface Anchor {
  /** Host folder the container path below `destination` lives in. */
  hostDir: string;
  destination: string;
  what: string;
}

export function defaultHostRoot(configured: string): string {
  if (configured !== '') return configured;
  return existsSync('/host') ? '/host' : '/';
}

export class PathMapper {
  constructor(readonly hostRoot: string) {}

  private onHost(hostPath: string): string {
    return this.hostRoot === '/' ? hostPath : posix.join(this.hostRoot, hostPath);
  }

  /** The mount (longest destination) or layer a normalised container path belongs to. */
  anchorOf(view: ContainerFilesView, containerPath: string): Anchor | undefined {
    let best: MountInfo | undefined;
    for (const m of view.mounts) {
      if (m.source === '' || (m.type !== 'bind' && m.type !== 'volume')) continue;
      const d = m.destination.replace(/\/+$/, '') || '/';
      const inside = d === '/' || containerPath === d || containerPath.startsWith(d + '/');
      if (inside && (!best || d.length > best.destination.replace(/\/+$/, '').length)) best = m;
    }
    if (best) {
      const destination = best.destination.replace(/\/+$/, '') || '/';
      return { hostDir: this.onHost(best.source), destination, what: `mount ${destination}` };
    }
    const layer = view.mergedDir !== '' && existsSync(this.onHost(view.mergedDir)) ? view.mergedDir : view.upperDir;
    if (layer === '') return undefined;
    return { hostDir: this.onHost(layer), destination: '/', what: 'writable layer' };
  }

  private hostPathOf(anchor: Anchor, containerPath: string): string {
    const rest = anchor.destination === '/' ? containerPath : containerPath.slice(anchor.destination.length);
    return posix.join(anchor.hostDir, rest === '' ? '/' : rest);
  }

  /**
   * Resolves `containerPath` (absolute, normalised, no `..`) to a host file inside the mount or layer it starts in.
   * `expect` says what the final element must be.
   */
  async resolve(view: ContainerFilesView, containerPath: string, expect: 'file' | 'directory' = 'file'): Promise<Mapping> {
    if (!containerPath.startsWith('/') || containerPath.split('/').includes('..')) {
      return { ok: false, refused: true, reason: `"${containerPath}" is not an absolute path without ".."` };
    }
    const start = this.anchorOf(view, posix.normalize(containerPath));
    if (!start) return { ok: false, refused: false, reason: `container ${view.name} has no writable layer or mount for "${containerPath}"` };
    let pending = containerPath.split('/').filter((p) => p !== '' && p !== '.');
    let resolved = '/';
    let hops = 0;
    while (pending.length > 0) {
      const element = pending.shift()!;
      if (element === '..') {
        resolved = posix.dirname(resolved); // `..` at `/` stays at `/`, as in the container
        continue;
      }
      const candidate = posix.join(resolved, element);
      const anchor = this.anchorOf(view, candidate)!;
      const hostPath = this.hostPathOf(anchor, candidate);
      let st;
      try {
        st = await fsp.lstat(hostPath);
      } catch (err) {
        const code = (err as { code?: string }).code;
        return { ok: false, refused: false, reason: `${candidate} in container ${view.name}: ${code === 'ENOENT' ? 'does not exist' : code ?? String(err)}` };
      }
      if (st.isSymbolicLink()) {
        if (++hops > MAX_LINK_HOPS) return { ok: false, refused: true, reason: `${containerPath} in container ${view.name}: too many symbolic links` };
        const target = await fsp.readlink(hostPath);
        // Absolute: from the container's root; relative: from the link's folder. Both stay in the container's view.
        pending = [...target.split('/').filter((p) => p !== '' && p !== '.'), ...pending];
        if (target.startsWith('/')) resolved = '/';
        continue;
      }
      if (pending.length > 0 && !st.isDirectory()) {
        return { ok: false, refused: false, reason: `${candidate} in container ${view.name} is not a folder` };
      }
      resolved = candidate;
    }
    const end = this.anchorOf(view, resolved)!;
    if (end.hostDir !== start.hostDir || end.destination !== start.destination) {
      return {
        ok: false, refused: true,
        reason: `${containerPath} in container ${view.name} leads to ${resolved}, outside its ${start.what}`,
      };
    }
    const hostPath = this.hostPathOf(end, resolved);
    const st = await fsp.stat(hostPath).catch(() => undefined);
    if (!st) return { ok: false, refused: false, reason: `${resolved} in container ${view.name} does not exist` };
    if (expect === 'file' && !st.isFile()) return { ok: false, refused: true, reason: `${resolved} in container ${view.name} is not a regular file` };
    if (expect === 'directory' && !st.isDirectory()) return { ok: false, refused: false, reason: `${resolved} in container ${view.name} is not a folder` };
    return { ok: true, hostPath, rootHostPath: end.hostDir, containerPath: resolved };
  }
}

/**
 * Opens a mapped file without following a final link, then checks where the descriptor really points: a link or a
 * folder swapped in since `resolve` cannot carry the read outside the confining folder.
 */
export async function openConfined(file: MappedFile): Promise<fsp.FileHandle | MappingFailure> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file.hostPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ELOOP') return { ok: false, refused: true, reason: `${file.containerPath} became a symbolic link` };
    return { ok: false, refused: false, reason: `${file.containerPath}: ${code ?? String(err)}` };
  }
  try {
    const [real, root] = await Promise.all([fsp.readlink(`/proc/self/fd/${handle.fd}`), fsp.realpath(file.rootHostPath)]);
    const st = await handle.stat();
    if (!st.isFile()) throw new Refusal(`${file.containerPath} is not a regular file`);
    if (!(real === root || real.startsWith(root.endsWith('/') ? root : root + '/'))) throw new Refusal(`${file.containerPath} resolves outside its mount or layer`);
    return handle;
  } catch (err) {
    await handle.close();
    if (err instanceof Refusal) return { ok: false, refused: true, reason: err.message };
    return { ok: false, refused: false, reason: `${file.containerPath}: ${(err as { code?: string }).code ?? String(err)}` };
  }
}

class Refusal extends Error {}
