/**
 * `npm run bench [-- name ...]`: runs every bench module in this folder (each `bench/<name>.ts`
 * other than this file and `_*.ts` helpers exports `async function run(): Promise<void>`), or
 * only the named ones. Benchmarks print ratios against a baseline measured in the same process;
 * they are never part of `npm test`.
 */
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface BenchModule {
  run(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith('_') && f !== basename(fileURLToPath(import.meta.url)))
  .map((f) => f.slice(0, -'.ts'.length))
  .sort();

const asked = process.argv.slice(2).map((a) => a.replace(/\.ts$/, '').replace(/^bench\//, ''));
const unknown = asked.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  console.error(`Unknown bench ${unknown.join(', ')}; available: ${available.join(', ')}`);
  process.exit(2);
}

for (const name of asked.length > 0 ? asked : available) {
  const mod = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as Partial<BenchModule>;
  if (typeof mod.run !== 'function') {
    console.error(`bench/${name}.ts exports no run()`);
    process.exitCode = 1;
    continue;
  }
  console.log(`\n## bench/${name}\n`);
  await mod.run();
}
