// oidc-provider 9 ships no type declarations; the test peers use it through this minimal shim.
declare module 'oidc-provider' {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const Provider: any;
  export default Provider;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  export const errors: any;
}

declare module 'oidc-provider/lib/adapters/memory_adapter.js' {
  /** A factory over a fresh LRU store: a new one per provider (re)start. */
  export function createMemoryAdapter(clockTolerance?: number): (model: string) => unknown;
}
