/**
 * The typed client lives in its own package, `@posbridge/client` (packages/client). This module and its
 * neighbours re-export it so `src/api/client/*.js` imports keep working; new code imports
 * '@posbridge/client'.
 */
export * from '@posbridge/client';
