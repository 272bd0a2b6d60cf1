/**
 * Which HTTP CONNECT proxy (if any) the WebSocket goes through, and the `agent` that makes ws use it.
 *
 * Sources, first that is set wins: the config key `server.proxy`; then `HTTPS_PROXY`/`https_proxy`
 * for wss:// or `HTTP_PROXY`/`http_proxy` for ws:// (lower case first, as curl does). Both ws:// and
 * wss:// are tunnelled with CONNECT (a WebSocket cannot go through a plain forwarding proxy).
 *
 * Bypass list: `server.no_proxy` (config), else `NO_PROXY`/`no_proxy`: comma- or space-separated host
 * names (`example.com` also covers its subdomains, a leading dot or `*.` too), IP addresses, CIDR
 * ranges (`10.0.0.0/8`), `host:port`, or `*` for everything. When neither is set at all, loopback
 * (localhost, 127.0.0.0/8, ::1) bypasses the proxy: a proxy cannot reach this machine's loopback. A
 * NO_PROXY that is set, even to the empty string, is taken as it is, with no implicit loopback.
 */
import net from 'node:net';
import { HttpsProxyAgent } from 'https-proxy-agent';

export interface ProxySettings {
  /** config `server.proxy` */
  proxy?: string;
  /** config `server.no_proxy` */
  noProxy?: string[];
  env: NodeJS.ProcessEnv;
}

export const DEFAULT_NO_PROXY = ['localhost', '127.0.0.0/8', '::1'];

/** The proxy URL to use for `target`, or null for a direct connection. */
export function proxyFor(target: string | URL, settings: ProxySettings): URL | null {
  const url = typeof target === 'string' ? new URL(target) : target;
  const secure = url.protocol === 'wss:' || url.protocol === 'https:';
  const env = settings.env;
  const raw =
    settings.proxy?.trim() || (secure ? env.https_proxy || env.HTTPS_PROXY : env.http_proxy || env.HTTP_PROXY)?.trim();
  if (!raw) return null;
  const port = url.port ? Number(url.port) : secure ? 443 : 80;
  if (bypassed(url.hostname, port, noProxyList(settings))) return null;
  return parseProxyUrl(raw);
}

/** `http://host:port` (https:// to talk TLS to the proxy itself); a bare `host:port` means http. */
export function parseProxyUrl(raw: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`the proxy setting "${redactProxy(raw)}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(
      `the proxy ${redactProxy(raw)} must be an http:// or https:// (CONNECT) proxy, not ${url.protocol}`,
    );
  }
  return url;
}

/** The proxy URL without its password, for logs. */
export function redactProxy(raw: string | URL): string {
  return String(raw).replace(
    /\/\/([^@/]*)@/,
    (_m, auth: string) => `//${auth.includes(':') ? `${auth.split(':')[0]}:***` : '***'}@`,
  );
}

export function noProxyList(settings: ProxySettings): string[] {
  if (settings.noProxy) return settings.noProxy.flatMap(splitList);
  const raw = settings.env.no_proxy ?? settings.env.NO_PROXY;
  if (raw === undefined) return DEFAULT_NO_PROXY;
  return splitList(raw);
}

function splitList(raw: string): string[] {
  return raw
    .split(/[\s,]+/)
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

/** Does an entry of the NO_PROXY list cover host:port? */
export function bypassed(hostname: string, port: number, list: string[]): boolean {
  const host = hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  for (let entry of list) {
    if (entry === '*') return true;
    let entryPort: number | null = null;
    const hostPort = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry);
    if (hostPort) {
      entry = hostPort[1]!;
      entryPort = Number(hostPort[2]);
    }
    entry = entry.replace(/^\[|\]$/g, '');
    if (entryPort !== null && entryPort !== port) continue;
    if (entry.includes('/')) {
      if (net.isIP(host) && inCidr(host, entry)) return true;
      continue;
    }
    if (net.isIP(entry)) {
      if (net.isIP(host) && sameAddress(host, entry)) return true;
      continue;
    }
    const suffix = entry.replace(/^\*?\./, '');
    if (host === suffix || host.endsWith(`.${suffix}`)) return true;
  }
  return false;
}

function sameAddress(a: string, b: string): boolean {
  const list = new net.BlockList();
  try {
    list.addAddress(b, net.isIPv6(b) ? 'ipv6' : 'ipv4');
    return list.check(a, net.isIPv6(a) ? 'ipv6' : 'ipv4');
  } catch {
    return false;
  }
}

function inCidr(host: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  if (!base || !net.isIP(base) || !/^\d+$/.test(bits ?? '')) return false;
  const list = new net.BlockList();
  try {
    list.addSubnet(base, Number(bits), net.isIPv6(base) ? 'ipv6' : 'ipv4');
    return list.check(host, net.isIPv6(host) ? 'ipv6' : 'ipv4');
  } catch {
    return false;
  }
}

/** A fresh agent per connection attempt, so that its `proxyConnect` tells this attempt's story. */
export function proxyAgent(proxy: URL): HttpsProxyAgent<string> {
  return new HttpsProxyAgent(proxy.toString(), { keepAlive: false });
}
