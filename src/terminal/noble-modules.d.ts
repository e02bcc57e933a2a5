/**
 * The two files of @stoprocent/noble that posbridge loads (lazily, with `import()`): the `Noble` class
 * alone, which takes any bindings object (the fake bindings of the simulator, in tests), and the
 * function that builds it with the platform's default bindings (HCI socket on Linux, CoreBluetooth
 * on macOS, WinRT on Windows). Importing the package root would build the default bindings at once.
 * Typed loosely here; src/terminal/ble-central.ts narrows them to what it uses.
 */
declare module '@stoprocent/noble/lib/noble.js' {
  const Noble: new (bindings: unknown) => unknown;
  export default Noble;
}

declare module '@stoprocent/noble/lib/resolve-bindings.js' {
  const withBindings: (bindingType?: string, options?: Record<string, unknown>) => unknown;
  export default withBindings;
}
