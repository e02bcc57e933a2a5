import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // The client package's sources (as tsconfig.json's paths), not its built dist/.
    alias: [
      {
        find: /^@posbridge\/client$/,
        replacement: fileURLToPath(new URL('./packages/client/src/index.ts', import.meta.url)),
      },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
    env: {
      // Daemons the tests start (and the CLIs they spawn) keep their key-encrypting key in a file outside
      // every state directory: CI machines have no OS credential store. One per run.
      POSBRIDGE_KEY_FILE: join(tmpdir(), `posbridge-test-kek-${process.pid}`, 'kek'),
    },
  },
});
