// Timers exist in every runtime the client runs in (browsers, Node, Deno, Bun), but lib.es2022 has
// none and the client builds without the DOM library and without Node's types (so it cannot use
// either by accident). Only the package's own build sees this file; it is not published as types.
declare function setTimeout(handler: () => void, ms?: number): unknown;
declare function clearTimeout(handle: unknown): void;
