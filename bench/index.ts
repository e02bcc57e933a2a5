/**
 * `npm run bench` runs every section; `npm run bench -- codec` runs one. A section is a file
 * bench/<name>.bench.ts exporting `run(): Promise<void>`. Benchmarks print, they never gate tests.
 * `npm run bench` compiles with tsc and runs the JavaScript that ships, not a transpiling loader.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const ext = import.meta.url.endsWith('.ts') ? '.bench.ts' : '.bench.js';
const all = readdirSync(here)
  .filter((f) => f.endsWith(ext))
  .map((f) => f.slice(0, -ext.length))
  .sort();
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length) {
  console.error(`unknown bench section(s): ${unknown.join(', ')}; available: ${all.join(', ')}`);
  process.exit(2);
}
for (const name of wanted.length ? wanted : all) {
  console.log(`\n== ${name} ==`);
  const mod = (await import(pathToFileURL(join(here, `${name}${ext}`)).href)) as { run: () => Promise<void> };
  await mod.run();
}
