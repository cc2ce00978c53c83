/**
 * oidc-provider prints development notices (in-memory adapter, dev keys, runtime version) with
 * `console.warn`/`console.info`. Tests start it many times; drop exactly those lines.
 */
let installed = false;

export function silenceOidcProviderNotices(): void {
  if (installed) return;
  installed = true;
  for (const level of ['warn', 'info'] as const) {
    const original = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      const first = args[0];
      if (typeof first === 'string' && first.replace(/\x1b\[[0-9;]*m/g, '').startsWith('oidc-provider ')) return;
      original(...args);
    };
  }
}
