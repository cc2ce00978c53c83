import { BlockList, isIP } from 'node:net';

/**
 * Address ranges an outbound OAuth request must never reach unless the operator allowed the
 * host explicitly: private, loopback, link-local, CGNAT, ULA, unspecified, multicast and
 * cloud-metadata addresses.
 *
 * @see https://modelcontextprotocol.io/docs/tutorials/security/security_best_practices (SSRF)
 * @see https://www.iana.org/assignments/iana-ipv4-special-registry
 * @see https://www.iana.org/assignments/iana-ipv6-special-registry
 */
const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network", incl. 0.0.0.0 which Linux routes to localhost
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT (also Alibaba's metadata 100.100.100.200)
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, incl. 169.254.169.254 metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4], // reserved + broadcast
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
// Azure's wire server is a public address that answers metadata requests.
blocked.addAddress('168.63.129.16', 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fe80::', 10],
  ['fec0::', 10], // deprecated site-local
  ['fc00::', 7], // ULA, incl. AWS's fd00:ec2::254 metadata
  ['ff00::', 8],
  ['64:ff9b::', 96], // NAT64 could reach any internal IPv4 address
  ['64:ff9b:1::', 48],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

/** Expands an IPv6 literal (possibly with an embedded dotted quad) into 8 hextets. */
function ipv6Hextets(ip: string): number[] | undefined {
  let text = ip.replace(/^\[|\]$/g, '').split('%')[0]!.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const o = dotted[1]!.split('.').map(Number);
    text = `${text.slice(0, -dotted[1]!.length)}${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  const all = [...h, ...Array<string>(fill).fill('0'), ...t];
  if (all.length !== 8) return undefined;
  return all.map((x) => parseInt(x, 16));
}

/**
 * The IPv4 address embedded in an IPv4-mapped (`::ffff:a.b.c.d`) or IPv4-compatible
 * (`::a.b.c.d`, deprecated) IPv6 address, so `[::ffff:127.0.0.1]` is judged as 127.0.0.1.
 */
function embeddedIpv4(ip: string): string | undefined {
  const h = ipv6Hextets(ip);
  if (!h) return undefined;
  const zeros = h.slice(0, 5).every((x) => x === 0);
  if (!zeros || (h[5] !== 0xffff && h[5] !== 0)) return undefined;
  if (h[5] === 0 && h[6] === 0) return undefined; // :: and ::1 are not v4-compatible
  return [h[6]! >> 8, h[6]! & 0xff, h[7]! >> 8, h[7]! & 0xff].join('.');
}

/** True when `ip` (an IPv4 or IPv6 literal) is in a range outbound requests must not reach. */
export function isBlockedAddress(ip: string): boolean {
  const bare = ip.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 4) return blocked.check(bare, 'ipv4');
  if (family !== 6) return true; // not an address at all: refuse rather than guess
  const v4 = embeddedIpv4(bare);
  if (v4 !== undefined) return blocked.check(v4, 'ipv4');
  return blocked.check(bare.split('%')[0]!, 'ipv6');
}

/** True for loopback addresses (127/8, ::1 and their IPv4-mapped forms). */
export function isLoopbackAddress(ip: string): boolean {
  const bare = ip.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 4) return bare.startsWith('127.');
  if (family !== 6) return false;
  const v4 = embeddedIpv4(bare);
  if (v4 !== undefined) return v4.startsWith('127.');
  const h = ipv6Hextets(bare);
  return h !== undefined && h.slice(0, 7).every((x) => x === 0) && h[7] === 1;
}

/**
 * Matches a URL's host (and port) against `ALLOWED_DOMAINS` entries: an exact host, a
 * `*.suffix` wildcard (subdomains only, not the bare suffix), each with an optional `:port`
 * that then must match too. IPv6 entries are written in brackets (`[::1]:8080`).
 */
export function isAllowedHost(url: URL, allowedDomains: readonly string[]): boolean {
  const host = url.hostname.toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : url.protocol === 'http:' ? '80' : '');
  return allowedDomains.some((raw) => {
    const entry = raw.trim().toLowerCase();
    if (!entry) return false;
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry);
    if (!m) return false;
    const [, pattern, entryPort] = m as unknown as [string, string, string | undefined];
    if (entryPort !== undefined && entryPort !== port) return false;
    if (pattern.startsWith('*.')) {
      const suffix = pattern.slice(1); // ".example.com"
      return host.endsWith(suffix) && host.length > suffix.length;
    }
    return pattern === host;
  });
}
