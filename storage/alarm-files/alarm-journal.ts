/**
 * Where alarms are kept: `SHIPWATCH_DATA_DIR/alarms/state.json` (the last evaluation: each rule with its alerts'
 * states, replaced whole through a rename) and `alarms/history.ndjson` (one transition per line, appended). The
 * collector writes them; the query, and the collector after a restart, read them back.
 *
 * Files rather than tables of the embedded store: the collector evaluates alarms with its metrics in InfluxDB as well,
 * where it opens no store; the history is small and bounded (the last `maxHistory` transitions, kept in memory as a
 * ring, the file rewritten to them once it holds twice as many lines); and the query reads them without a schema of
 * their own. A torn last line (a crash mid-append) is skipped when read.
 */
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { AlarmHistoryEntry, AlarmSnapshot } from '../../model/alarm.js';

export function alarmsDir(dataDir: string): string {
  return path.join(dataDir, 'alarms');
}

function parseLines(text: string): AlarmHistoryEntry[] {
  const out: AlarmHistoryEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      out.push(JSON.parse(line) as AlarmHistoryEntry);
    } catch {
      // A line torn by a crash mid-append: the others are whole.
    }
  }
  return out;
}

export class AlarmJournal {
  private readonly dir: string;
  private readonly history: AlarmHistoryEntry[];
  private linesInFile: number;

  constructor(dataDir: string, private readonly maxHistory: number) {
    this.dir = alarmsDir(dataDir);
    mkdirSync(this.dir, { recursive: true });
    let text = '';
    try {
      text = readFileSync(this.historyFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const all = parseLines(text);
    this.linesInFile = all.length;
    this.history = all.slice(-maxHistory);
  }

  private get historyFile(): string {
    return path.join(this.dir, 'history.ndjson');
  }

  private get stateFile(): string {
    return path.join(this.dir, 'state.json');
  }

  /** The snapshot a previous run left, to carry its alerts on; undefined when there is none or it cannot be read. */
  lastSnapshot(): AlarmSnapshot | undefined {
    try {
      return JSON.parse(readFileSync(this.stateFile, 'utf8')) as AlarmSnapshot;
    } catch {
      return undefined;
    }
  }

  saveSnapshot(snapshot: AlarmSnapshot): void {
    const tmp = `${this.stateFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(snapshot));
    renameSync(tmp, this.stateFile);
  }

  record(entries: readonly AlarmHistoryEntry[]): void {
    if (entries.length === 0) return;
    this.history.push(...entries);
    if (this.history.length > this.maxHistory) this.history.splice(0, this.history.length - this.maxHistory);
    this.linesInFile += entries.length;
    if (this.linesInFile > 2 * this.maxHistory) {
      const tmp = `${this.historyFile}.tmp`;
      writeFileSync(tmp, this.history.map((e) => `${JSON.stringify(e)}\n`).join(''));
      renameSync(tmp, this.historyFile);
      this.linesInFile = this.history.length;
    } else {
      appendFileSync(this.historyFile, entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
    }
  }

  /** The newest transitions first. */
  recent(limit: number, ruleId?: string): AlarmHistoryEntry[] {
    const out: AlarmHistoryEntry[] = [];
    for (let i = this.history.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.history[i]!;
      if (ruleId === undefined || e.ruleId === ruleId) out.push(e);
    }
    return out;
  }
}

/** What the query reads: the collector's last snapshot and history in the data folder it shares. */
export async function readAlarmFiles(dataDir: string): Promise<{ snapshot: AlarmSnapshot | undefined; history: AlarmHistoryEntry[] }> {
  const dir = alarmsDir(dataDir);
  const [state, history] = await Promise.all([
    readFile(path.join(dir, 'state.json'), 'utf8').then((t) => JSON.parse(t) as AlarmSnapshot, () => undefined),
    readFile(path.join(dir, 'history.ndjson'), 'utf8').then(parseLines, () => [] as AlarmHistoryEntry[]),
  ]);
  return { snapshot: state, history };
}
