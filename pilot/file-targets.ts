/**
 * The files a path declaration names inside a container (`/var/log/app/*.log`), found on the host through the
 * path mapper: the folder is resolved (confined), listed, each matching name resolved again (it may be a link)
 * and opened confined. Rotated neighbours are every regular file of the same folder.
 */
import { promises as fsp } from 'node:fs';
import { posix } from 'node:path';
import type { CandidateFile, TailTargets } from './file-tail.js';
import type { LogSource } from './log-source.js';
import { openConfined, type ContainerFilesView, type MappingFailure, type PathMapper } from './path-mapper.js';

type FileSource = Extract<LogSource, { kind: 'file' }>;

export function declaredFileTargets(mapper: PathMapper, view: () => ContainerFilesView, source: FileSource): TailTargets {
  const candidate = async (containerPath: string): Promise<CandidateFile | MappingFailure> => {
    const m = await mapper.resolve(view(), containerPath, 'file');
    if (!m.ok) return m;
    return { hostPath: m.hostPath, containerPath, open: () => openConfined(m) };
  };

  const list = async (match: (name: string) => boolean): Promise<{ files: CandidateFile[]; problems: MappingFailure[] }> => {
    const problems: MappingFailure[] = [];
    const files: CandidateFile[] = [];
    if (!source.hasWildcards) {
      if (!match(source.fileGlob)) return { files, problems };
      const c = await candidate(source.path);
      if ('ok' in c) {
        if (c.refused) problems.push(c);
      } else files.push(c);
      return { files, problems };
    }
    const dir = await mapper.resolve(view(), source.dir, 'directory');
    if (!dir.ok) {
      if (dir.refused) problems.push(dir);
      return { files, problems };
    }
    const names = await fsp.readdir(dir.hostPath).catch(() => [] as string[]);
    for (const name of names.sort()) {
      if (!match(name)) continue;
      const c = await candidate(posix.join(source.dir, name));
      if ('ok' in c) {
        if (c.refused) problems.push(c);
      } else files.push(c);
    }
    return { files, problems };
  };

  return {
    current: () => list((name) => source.fileName.test(name)),
    async rotated() {
      const dir = await mapper.resolve(view(), source.dir, 'directory');
      if (!dir.ok) return [];
      const names = await fsp.readdir(dir.hostPath).catch(() => [] as string[]);
      const out: CandidateFile[] = [];
      for (const name of names) {
        const c = await candidate(posix.join(source.dir, name));
        if (!('ok' in c)) out.push(c);
      }
      return out;
    },
  };
}
