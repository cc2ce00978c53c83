/**
 * Names of user-managed servers: derived from the title, lower-case ASCII letters, digits and
 * `-`, so they are safe in URLs, stream ids and redirect URIs, and satisfy the configured-name
 * rule of `src/config.ts` as well.
 */
export const USER_SERVER_NAME = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

/** Room left for a `-<n>` collision suffix. */
const BASE_MAX = 48;

/**
 * First path segments of other `/api/mcp` routes: a server with one of these names would make
 * `/api/mcp/<name>/...` ambiguous, so the slug gets a suffix instead.
 */
const RESERVED = new Set(['servers', 'oauth', 'connection', 'flows', 'tools', 'api', 'mcp']);

/**
 * The slug of a title: accents folded (NFKD, marks dropped), everything outside `[a-z0-9]`
 * collapsed to `-`. Titles with nothing left (only CJK, only emoji) slug to `server`.
 */
export function slugOf(title: string): string {
  const ascii = title.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
  const slug = ascii.replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, BASE_MAX).replace(/-+$/, '');
  return slug || 'server';
}

/**
 * Candidate names for a title, in the order they are tried: the slug, then `slug-2`,
 * `slug-3`… Names taken by configured servers (compared case-insensitively, since people
 * read them as the same) or reserved are skipped; claimed ones are found when the claim fails.
 */
export function* candidateNames(title: string, configured: readonly string[], randomSuffix: () => string): Generator<string> {
  const base = slugOf(title);
  const taken = new Set(configured.map((n) => n.toLowerCase()));
  const free = (n: string) => !taken.has(n) && !RESERVED.has(n);
  if (free(base)) yield base;
  for (let i = 2; i <= 50; i++) {
    const n = `${base}-${i}`;
    if (free(n)) yield n;
  }
  // A crowd of same-titled servers: stop counting and take random suffixes.
  for (let i = 0; i < 8; i++) yield `${base}-${randomSuffix()}`;
}
