/**
 * The pilot beside Fluent Bit in one run, on the same job: tail a file of `--lines` JSON lines (~171 bytes each,
 * bench/support/json-lines.ts) from its start, parse each line as JSON, write each record as a JSON line to a file,
 * and keep the read position on disk. Shipwatch: the pilot's real tail, pipeline and `file` output with positions
 * saved (the `file+pos` case of bench/pilot-pipeline.bench.ts, compiled, in a process of its own, which ends when the
 * position of the last line is saved behind the output's acknowledgement). Fluent Bit: `tail` (with its position
 * database) → the `json` parser → the `file` output (plain JSON lines); its run ends when the output file holds
 * every line. Both figures count from the process's start (start-up included) to the last line: lines per
 * CPU-second (every thread) and peak RSS. Runs alternate (Shipwatch, Fluent Bit, Shipwatch, ...).
 *
 * Fluent Bit is the binary `SHIPWATCH_BENCH_FLUENT_BIT_BIN` names: a release build from its public source
 * (bench/peers/build-fluent-bit.sh); without it the pilot runs alone and the table says so.
 *
 * `node --import tsx bench/peer-pilot.bench.ts [--lines 1000000] [--rounds 5] [--keep]`
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateLines, jsonLine } from './support/json-lines.js';
import { median, pollUntil, spread, startPeer } from './support/peer-process.js';
import { benchArgs } from './support/args.js';

const options = benchArgs();
const arg = options.value;
const LINES = Number(arg('lines', '1000000'));
const ROUNDS = Number(arg('rounds', '5'));
const FLUENT_BIT_BIN = process.env['SHIPWATCH_BENCH_FLUENT_BIT_BIN'] ?? '';
/** The input folder of bench/pilot-pipeline.bench.ts, whose child runs the pilot's side. */
const INPUT_DIR = join(tmpdir(), `shipwatch-bench-pipeline-${LINES}`);
const APP_LOG = join(INPUT_DIR, 'app', 'app.log');
const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Result { linesPerCpuS: number; linesPerS: number; cpuS: number; peakRssMiB: number }

/** The pilot's side: the compiled pipeline bench's child when dist/ is built, else the TypeScript under tsx. */
async function runPilot(): Promise<Result> {
  const compiled = join(ROOT, 'dist', 'bench', 'pilot-pipeline.bench.js');
  const argv = existsSync(compiled)
    ? [compiled]
    : ['--import', 'tsx', join(ROOT, 'bench', 'pilot-pipeline.bench.ts')];
  const child = spawn(process.execPath, [...argv, '--case', 'file+pos', '--from-start', '--lines', String(LINES), '--dir', INPUT_DIR], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const line = err.split('\n').find((l) => l.startsWith('RESULT '));
  if (code !== 0 || !line) throw new Error(`the pilot's run failed (${code}): ${err.slice(-2000)}`);
  const r = JSON.parse(line.slice(7)) as { linesPerCpuS: number; linesPerS: number; cpuS: number; peakRssMiB: number };
  return { linesPerCpuS: r.linesPerCpuS, linesPerS: r.linesPerS, cpuS: r.cpuS, peakRssMiB: r.peakRssMiB };
}

/** Counts the lines of a growing file, reading only what was added since the last call. */
function lineCounter(file: string): () => number {
  let offset = 0;
  let lines = 0;
  const buf = Buffer.allocUnsafe(1 << 20);
  return () => {
    if (!existsSync(file)) return 0;
    const fd = openSync(file, 'r');
    try {
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, offset);
        if (n === 0) break;
        offset += n;
        for (let i = buf.indexOf(10); i !== -1 && i < n; i = buf.indexOf(10, i + 1)) lines++;
      }
    } finally {
      closeSync(fd);
    }
    return lines;
  };
}

async function runFluentBit(): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-peer-fluent-bit-'));
  mkdirSync(join(dir, 'out'));
  writeFileSync(join(dir, 'parsers.conf'), `[PARSER]
    Name        json
    Format      json
    Time_Key    time
    Time_Format %Y-%m-%dT%H:%M:%S.%LZ
    Time_Keep   On
`);
  writeFileSync(join(dir, 'fluent-bit.conf'), `[SERVICE]
    Flush        1
    Log_Level    warn
    Parsers_File ${join(dir, 'parsers.conf')}

[INPUT]
    Name              tail
    Path              ${APP_LOG}
    Parser            json
    DB                ${join(dir, 'positions.db')}
    Read_from_Head    On
    Buffer_Chunk_Size 256k
    Buffer_Max_Size   1M

[OUTPUT]
    Name   file
    Match  *
    Path   ${join(dir, 'out')}
    File   out.log
    Format plain
`);
  const t0 = performance.now();
  const proc = startPeer('fluent-bit', FLUENT_BIT_BIN, ['-c', join(dir, 'fluent-bit.conf')], { PATH: process.env['PATH'] }, join(dir, 'program.log'));
  const count = lineCounter(join(dir, 'out', 'out.log'));
  try {
    await pollUntil(`Fluent Bit to write ${LINES} lines`, async () => {
      if (!proc.alive()) throw new Error('Fluent Bit exited');
      return count() >= LINES;
    }, 600_000, 20);
    const wallS = (performance.now() - t0) / 1000;
    const cpuS = proc.cpuSeconds();
    const written = count();
    if (written !== LINES) throw new Error(`Fluent Bit wrote ${written} lines of ${LINES}`);
    return { linesPerCpuS: LINES / cpuS, linesPerS: LINES / wallS, cpuS, peakRssMiB: proc.peakRssMiB() };
  } finally {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  mkdirSync(join(INPUT_DIR, 'rootfs', 'var', 'log', 'app'), { recursive: true });
  await generateLines(APP_LOG, LINES, jsonLine);
  const size = statSync(APP_LOG).size;
  console.log(`input: ${LINES} JSON lines, ${(size / 1048576).toFixed(1)} MiB; ${ROUNDS} rounds` +
    (FLUENT_BIT_BIN ? '' : ' — SHIPWATCH_BENCH_FLUENT_BIT_BIN is not set: the pilot alone'));
  const pilot: Result[] = [];
  const flb: Result[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const p = await runPilot();
    pilot.push(p);
    process.stderr.write(`round ${round + 1} pilot: ${Math.round(p.linesPerCpuS)} lines/CPU-s, ${p.cpuS.toFixed(2)} CPU-s, ${p.peakRssMiB.toFixed(0)} MiB\n`);
    if (FLUENT_BIT_BIN) {
      const f = await runFluentBit();
      flb.push(f);
      process.stderr.write(`round ${round + 1} fluent-bit: ${Math.round(f.linesPerCpuS)} lines/CPU-s, ${f.cpuS.toFixed(2)} CPU-s, ${f.peakRssMiB.toFixed(0)} MiB\n`);
    }
  }
  const k = (n: number): string => `${Math.round(n / 1000)}k`;
  const mib = (n: number): string => n.toFixed(0);
  const ratio = flb.length > 0 ? `${(median(pilot.map((r) => r.linesPerCpuS)) / median(flb.map((r) => r.linesPerCpuS))).toFixed(2)}×` : '–';
  console.log('\n| job | pilot lines/CPU-s | Fluent Bit lines/CPU-s | ratio | pilot peak MiB | Fluent Bit peak MiB | lines/s (pilot, Fluent Bit) |');
  console.log('|---|---|---|---|---|---|---|');
  console.log(`| tail → json → file, positions kept | ${spread(pilot.map((r) => r.linesPerCpuS), k)} | ${spread(flb.map((r) => r.linesPerCpuS), k)} | ${ratio} | ` +
    `${spread(pilot.map((r) => r.peakRssMiB), mib)} | ${spread(flb.map((r) => r.peakRssMiB), mib)} | ` +
    `${k(median(pilot.map((r) => r.linesPerS)))}, ${flb.length > 0 ? k(median(flb.map((r) => r.linesPerS))) : '–'} |`);
  if (!options.has('keep')) rmSync(INPUT_DIR, { recursive: true, force: true });
}

await main();
