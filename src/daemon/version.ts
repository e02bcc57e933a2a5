/** posbridge's version, from package.json (found from the source tree or from dist/). */
import { readFileSync } from 'node:fs';

function read(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'posbridge' && pkg.version) return pkg.version;
    } catch {
      // try the next place
    }
  }
  return '0.0.0';
}

export const POSBRIDGE_VERSION = read();
