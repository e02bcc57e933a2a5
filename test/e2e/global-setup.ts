/**
 * The page loads the typed client the demo serves from packages/client/dist/esm/ (@posbridge/client's
 * ESM build, compiled JavaScript, as a CRM page would get it). Build the package before the suite, so
 * the page never runs a stale client. The package imports nothing outside itself, so this takes a few
 * seconds and does not depend on the rest of the build.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  execFileSync(process.execPath, [join(root, 'packages', 'client', 'scripts', 'build.mjs')], {
    cwd: root,
    stdio: 'inherit',
  });
}
