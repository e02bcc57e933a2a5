/** The client's error classes: in `@posbridge/client` (packages/client/src/errors.ts). */
export * from '@posbridge/client';
