import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The browser suite (`npm run test:e2e`): the demo CRM page in Debian's chromium via playwright-core.
// Kept out of `npm test` (vitest.config.ts includes test/**/*.test.ts only), so that needs no browser.
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
    include: ['test/e2e/**/*.e2e.ts'],
    globalSetup: ['test/e2e/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One browser, one demo: the files run one after another.
    fileParallelism: false,
  },
});
