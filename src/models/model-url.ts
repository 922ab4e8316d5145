import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/**
 * Whether an IP address is loopback, private, link-local, CGNAT, unspecified or otherwise not
 * a public internet host (IPv4, IPv6, and IPv4 mapped into IPv6).
 */
export function isPrivateAddress(address: string): boolean {
  const ip = address.replace(/^\[|\]$/g, '').toLowerCase();
  const kind = isIP(ip);
  if (kind === 4) return isPrivateV4(ip);
  if (kind !== 6) return false;
  const mapped = /^(?:0{0,4}:){0,4}:?(?:0{0,4}:)?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip) ?? /^::(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (mapped) return isPrivateV4(mapped[1]!);
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(ip);
  if (hex) {
    const n = (parseInt(hex[1]!, 16) << 16) | parseInt(hex[2]!, 16);
    return isPrivateV4([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'));
  }
  if (ip === '::' || ip === '::1') return true;
  const first = parseInt(ip.split(':')[0] || '0', 16);
  return (
    (first & 0xfe00) === 0xfc00 || // fc00::/7 unique local
    (first & 0xffc0) === 0xfe80 || // fe80::/10 link-local
    (first & 0xffc0) === 0xfec0 || // fec0::/10 site-local (deprecated)
    (first & 0xff00) === 0xff00 // multicast
  );
}

function isPrivateV4(ip: string): boolean {
  const [a, b] = ip.split('.').map(Number) as [number, number];
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // CGNAT
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    a >= 224 // multicast and reserved
  );
}

const LOCAL_NAMES = /(^|\.)(localhost|local|internal|localdomain|home\.arpa)$/i;

/** A hostname that names this machine or the local network without needing DNS. */
export function isLocalHostname(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  return isIP(host) ? isPrivateAddress(host) : LOCAL_NAMES.test(host) || !host.includes('.');
}

export type BaseUrlProblem = 'not_http_url' | 'has_credentials' | 'has_query_or_fragment' | 'private_host';

/**
 * Checks a model `baseUrl`: an absolute http(s) URL without credentials, query or fragment,
 * and — when private networks are not allowed — a host that is neither a private address nor
 * a name resolving to one. A name that does not resolve is accepted: it cannot reach anything
 * yet, and the model client checks again when it connects.
 */
export async function baseUrlProblem(raw: string, allowPrivate: boolean): Promise<BaseUrlProblem | null> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not_http_url';
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) return 'not_http_url';
  if (url.username || url.password) return 'has_credentials';
  if (url.search || url.hash || raw.includes('?') || raw.includes('#')) return 'has_query_or_fragment';
  if (allowPrivate) return null;
  if (isLocalHostname(url.hostname)) return 'private_host';
  if (isIP(url.hostname.replace(/^\[|\]$/g, ''))) return null;
  const addresses = await Promise.race([
    lookup(url.hostname, { all: true }).catch(() => []),
    new Promise<[]>((resolve) => setTimeout(() => resolve([]), 2000).unref()),
  ]);
  return addresses.some((a) => isPrivateAddress(a.address)) ? 'private_host' : null;
}
