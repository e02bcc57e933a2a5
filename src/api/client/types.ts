/**
 * The CRM protocol's TypeScript types: one source, in `@posbridge/client` (packages/client/src/types.ts).
 * The JSON Schemas in `../schemas.ts` must keep matching them (test/api/docs.test.ts and the API tests).
 */
export * from '@posbridge/client';
