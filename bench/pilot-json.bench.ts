/**
 * The pilot's hot path on a json log: 1,000,000 JSON lines (~170 bytes, ~170 MB) declared `format=json`, read with
 * fs streams → line splitter → json format → record encoder, then
 *   (a) console output: the NDJSON records written to a file stream (/dev/null),
 *   (b) Elasticsearch bulk bodies, encoded only,
 * and, for reference, (0) a bare loop: read + split + JSON.parse + write the line.
 *
 * Each case runs in its own process so its peak RSS is its own. Prints lines/s, MiB/s (of input), CPU-seconds,
 * lines per CPU-second and peak RSS. Targets: ≥ 350k lines per CPU-second, ≤ 150 MiB peak RSS.
 *
 *   node --import tsx bench/pilot-json.bench.ts [--lines 1000000] [--chunk 262144] [--keep]
 *
 * (Under tsx a process starts at ~75 MiB RSS, ~35 MiB more than compiled code.)
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BulkEncoder } from '../core/es/bulk-encoder.js';
import type { LogEvent } from '../core/model/log-record.js';
import { parseDeclarations } from '../pilot/declarations.js';
import { LineSplitter } from '../pilot/line-splitter.js';
import { createRecordEncoder } from '../pilot/record-encoder.js';

const args = process.argv.slice(2);
const arg = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def;
};
const LINES = Number(arg('lines', '1000000'));
const CASE = arg('case', '');
const FILE = arg('file', join(tmpdir(), `shipwatch-bench-json-v2-${LINES}.log`));
/**
 * 256 KiB reads: measured ~490k lines/CPU-s and 126–137 MiB peak RSS for (a); 64 KiB reads (the fs default) gave
 * ~415k and 117–127 MiB; 1 MiB reads ~440k and up to 155 MiB (bigger output strings per write).
 */
const READ_CHUNK_BYTES = Number(arg('chunk', String(256 * 1024)));

const LEVELS = ['info', 'info', 'info', 'warn', 'error', 'debug'];
const LOGGERS = ['com.shop.api.OrderController', 'com.shop.api.CartService', 'com.shop.db.Pool'];

function line(i: number): string {
  const t = new Date(Date.UTC(2026, 2, 1) + i * 7).toISOString();
  return `{"time":"${t}","level":"${LEVELS[i % 6]}","logger":"${LOGGERS[i % 3]}","msg":"order ${100000 + (i % 900000)} created",` +
    `"trace_id":"${(i * 2654435761 >>> 0).toString(16).padStart(8, '0')}a3ce929d0e0e4736","duration_ms":${i % 997}}\n`;
}

async function generate(): Promise<void> {
  if (existsSync(FILE) && statSync(FILE).size > 0) return;
  mkdirSync(tmpdir(), { recursive: true });
  const out = createWriteStream(FILE);
  let buf = '';
  for (let i = 0; i < LINES; i++) {
    buf += line(i);
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
      buf = '';
    }
  }
  out.end(buf);
  await new Promise<void>((r) => out.once('close', () => r()));
}

const meta = {
  id: '3f2a9c1e5b7d4a6f8e0c2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a', name: 'shop-api-1',
  labels: { 'aliyun.logs.api': '/var/log/app/*.log', 'aliyun.logs.api.format': 'json', 'aliyun.logs.api.tags': 'env=prod' },
  env: {}, app: 'shop', service: 'api', k8sPod: '', k8sNamespace: '', k8sContainer: '',
};

/** Reads the file through the splitter; `onChunkLines` gets the lines of each read. */
async function readLines(perLine: (text: string, end: number, truncated: boolean) => void, afterChunk: () => Promise<void> | void): Promise<void> {
  const splitter = new LineSplitter();
  for await (const chunk of createReadStream(FILE, { highWaterMark: READ_CHUNK_BYTES })) {
    splitter.push(chunk as Buffer, perLine);
    await afterChunk();
  }
  splitter.end(perLine);
}

function writer(): { write(s: string): Promise<void> | void; close(): Promise<void> } {
  const out = createWriteStream('/dev/null');
  return {
    write(s: string) {
      if (!out.write(s)) return new Promise<void>((r) => out.once('drain', () => r()));
    },
    close: () => new Promise<void>((r) => out.end(() => r())),
  };
}

async function runCase(name: string): Promise<number> {
  let count = 0;
  if (name === 'bare') {
    const out = writer();
    let buf = '';
    await readLines((text) => {
      const v = JSON.parse(text) as Record<string, unknown>;
      if (v['level'] !== undefined) count++;
      buf += text + '\n';
    }, () => { const w = out.write(buf); buf = ''; return w; });
    await out.close();
    return count;
  }
  const { declarations } = parseDeclarations(meta, { prefixes: ['aliyun'] });
  const encoder = createRecordEncoder(meta, declarations[0]!, { hostName: 'bench-host', nodeName: '' }).forFile('/var/log/app/app.log', '2049:77:0');
  const readTimeMs = Date.now();
  if (name === 'console') {
    const out = writer();
    // One write per read (1 MiB of input): per-record writes cost ~3x more in stream bookkeeping.
    let buf = '';
    await readLines((text, end, truncated) => {
      buf += encoder.encode(text, end, truncated, null, NaN, readTimeMs).json + '\n';
      count++;
    }, () => { const w = out.write(buf); buf = ''; return w; });
    await out.close();
    return count;
  }
  if (name === 'bulk') {
    const bulk = new BulkEncoder('daily');
    let batch: LogEvent[] = [];
    let bodyBytes = 0;
    await readLines((text, end, truncated) => {
      batch.push(encoder.encode(text, end, truncated, null, NaN, readTimeMs));
      if (batch.length === 1000) {
        bodyBytes += bulk.encode(batch).length;
        count += batch.length;
        batch = [];
      }
    }, () => {});
    bodyBytes += bulk.encode(batch).length;
    count += batch.length;
    if (bodyBytes === 0) throw new Error('no body');
    return count;
  }
  throw new Error(`unknown case ${name}`);
}

async function child(name: string): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const lines = await runCase(name);
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const bytes = statSync(FILE).size;
  process.stdout.write(JSON.stringify({
    name, lines, wallS, cpuS, linesPerS: lines / wallS, mibPerS: bytes / 1048576 / wallS, linesPerCpuS: lines / cpuS,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  }) + '\n');
}

async function main(): Promise<void> {
  if (CASE) return child(CASE);
  await generate();
  const size = statSync(FILE).size;
  console.log(`input: ${FILE}, ${LINES} lines, ${(size / 1048576).toFixed(1)} MiB, ${(size / LINES).toFixed(0)} bytes/line`);
  const self = fileURLToPath(import.meta.url);
  const labels: Record<string, string> = {
    bare: '(0) bare read + JSON.parse + write', console: '(a) pilot → console NDJSON', bulk: '(b) pilot → ES bulk bodies',
  };
  for (const name of ['bare', 'console', 'bulk']) {
    const r = spawnSync(process.execPath, [...process.execArgv, self, '--case', name, '--lines', String(LINES), '--file', FILE], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`case ${name} failed: ${r.stderr}`);
    const f = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
    console.log(`${labels[name]!.padEnd(40)} ${Math.round(f['linesPerS']!).toLocaleString('en')} lines/s, ${f['mibPerS']!.toFixed(1)} MiB/s, ` +
      `${f['cpuS']!.toFixed(2)} CPU-s, ${Math.round(f['linesPerCpuS']!).toLocaleString('en')} lines/CPU-s, peak RSS ${f['peakRssMiB']!.toFixed(0)} MiB`);
  }
  if (!args.includes('--keep')) rmSync(FILE, { force: true });
}

await main();
