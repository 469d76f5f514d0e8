/**
 * `npm run bench [-- <name>...]`: runs every benchmark (or those whose file name contains one of the names), one
 * after the other, each in its own process so its CPU time and peak RSS are its own. Benchmarks that need the
 * Docker engine or Elasticsearch (collection-round, es-bulk) expect them running: `npm test` starts them, or run
 * the scripts in test/services/.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)))
  .sort();
if (files.length === 0) {
  process.stderr.write(`no benchmark matches ${wanted.join(', ')}\n`);
  process.exit(2);
}
let failed = 0;
for (const file of files) {
  process.stdout.write(`\n=== ${file}\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(file, import.meta.url))], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`=== ${file} failed (${r.status ?? r.signal})\n`);
  }
}
process.exit(failed === 0 ? 0 : 1);
