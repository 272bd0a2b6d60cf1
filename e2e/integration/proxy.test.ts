/**
 * The WebSocket through an HTTP CONNECT proxy: a tiny real proxy on loopback counts its tunnels.
 * HTTP_PROXY for ws://, HTTPS_PROXY for wss://, NO_PROXY to bypass, server.proxy over the env.
 * Loopback bypasses a proxy by default (NO_PROXY unset), so these tests set NO_PROXY to '' to send
 * 127.0.0.1 through it.
 */
import { createServer, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectedAgent, sleep, spawnAgent, startPlatform, TOKEN, waitForResult } from './harness.js';
import { makePki, type Pki } from './pki.js';

interface Proxy {
  url: string;
  port: number;
  tunnels: string[];
  authHeaders: Array<string | undefined>;
  close(): Promise<void>;
}

const proxies: Proxy[] = [];
afterEach(async () => {
  for (const p of proxies.splice(0)) await p.close();
});

/** A CONNECT-only proxy; `refuse` answers every CONNECT with that status instead. */
async function startProxy(opts: { refuse?: number } = {}): Promise<Proxy> {
  const tunnels: string[] = [];
  const authHeaders: Array<string | undefined> = [];
  const sockets = new Set<net.Socket>();
  const server: Server = createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req, client: net.Socket, head: Buffer) => {
    sockets.add(client);
    client.on('error', () => {});
    authHeaders.push(req.headers['proxy-authorization']);
    if (opts.refuse) {
      client.end(`HTTP/1.1 ${opts.refuse} Refused By Test Proxy\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const [host, port] = (req.url ?? '').split(/:(?=\d+$)/);
    // a test proxy: loopback targets only
    if (host !== '127.0.0.1' && host !== 'localhost') {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    tunnels.push(req.url ?? '');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const proxy: Proxy = {
    url: `http://127.0.0.1:${port}`,
    port,
    tunnels,
    authHeaders,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  proxies.push(proxy);
  return proxy;
}

/** Environment with every proxy variable spelled out (the runner's own must not leak in). */
function proxyEnv(vars: { http?: string; https?: string; noProxy?: string }): NodeJS.ProcessEnv {
  return {
    HTTP_PROXY: vars.http,
    http_proxy: vars.http,
    HTTPS_PROXY: vars.https,
    https_proxy: vars.https,
    NO_PROXY: vars.noProxy,
    no_proxy: vars.noProxy,
  };
}

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});

describe('HTTP CONNECT proxy', () => {
  it('HTTP_PROXY carries ws:// when NO_PROXY is empty; tasks run through the tunnel', async () => {
    const proxy = await startProxy();
    const sim = await startPlatform();
    const port = new URL(sim.url).port;
    const agent = await connectedAgent(sim, { env: proxyEnv({ http: proxy.url, noProxy: '' }) });
    expect(proxy.tunnels).toEqual([`127.0.0.1:${port}`]);
    sim.dispatch({ task_id: 'via-proxy', command: 'echo tunnelled' });
    expect(await waitForResult(sim, 'via-proxy')).toMatchObject({ status: 'success', output: 'tunnelled\n' });
    expect(agent.stdout() + agent.stderr()).toMatch(/via proxy http:\/\/127\.0\.0\.1:/);
    // a reconnect goes through the proxy again
    sim.dropConnections();
    await sim.waitFor(() => sim.authCount >= 2, 15_000, 'a reconnect');
    expect(proxy.tunnels).toHaveLength(2);
  });

  it('HTTPS_PROXY carries wss://, and the certificate is still checked end to end', async () => {
    const proxy = await startProxy();
    const sim = await startPlatform({ tls: { key: pki.key, cert: pki.cert } });
    // HTTP_PROXY points nowhere: a wss:// URL must use HTTPS_PROXY
    await connectedAgent(sim, {
      args: ['--ca-file', pki.caFile],
      env: proxyEnv({ https: proxy.url, http: 'http://127.0.0.1:9', noProxy: '' }),
    });
    expect(proxy.tunnels).toHaveLength(1);

    // through the same proxy without the CA: the tunnel opens, TLS then refuses the certificate
    const sim2 = await startPlatform({ tls: { key: pki.key, cert: pki.cert } });
    const agent2 = spawnAgent({ url: sim2.url, env: proxyEnv({ https: proxy.url, noProxy: '' }) });
    await agent2.waitForOutput(/TLS certificate rejected/, 10_000);
    expect(proxy.tunnels.length).toBeGreaterThanOrEqual(2);
    expect(sim2.authCount).toBe(0);
  });

  it("a task's files and artifacts take the same proxy and trust the same CA over https://", async () => {
    const proxy = await startProxy();
    const sim = await startPlatform({ tls: { key: pki.key, cert: pki.cert } });
    const port = new URL(sim.url).port;
    await connectedAgent(sim, {
      args: ['--ca-file', pki.caFile],
      env: proxyEnv({ https: proxy.url, http: 'http://127.0.0.1:9', noProxy: '' }),
    });
    const url = sim.serveFile('in.txt', { content: 'fetched' });
    expect(url).toMatch(/^https:/);
    sim.dispatch({
      task_id: 'via-proxy-files',
      command: 'cat in.txt > out.txt',
      files: [{ url, path: 'in.txt' }],
      artifacts: { paths: ['out.txt'], upload_url: sim.artifactsUrl('p') },
    });
    const result = await waitForResult(sim, 'via-proxy-files');
    expect(result).toMatchObject({ status: 'success', artifacts: [{ path: 'out.txt', uploaded: true }] });
    expect(sim.uploads.get('p/out.txt')?.content?.toString()).toBe('fetched');
    // the WebSocket, the download and the upload: three tunnels to the platform
    expect(proxy.tunnels).toEqual([`127.0.0.1:${port}`, `127.0.0.1:${port}`, `127.0.0.1:${port}`]);
  });

  for (const noProxy of ['127.0.0.1', '*', 'localhost,127.0.0.0/8', `127.0.0.1:PORT`, undefined]) {
    it(`NO_PROXY=${noProxy === undefined ? '(unset: loopback by default)' : JSON.stringify(noProxy)} bypasses the proxy`, async () => {
      const proxy = await startProxy();
      const sim = await startPlatform();
      const port = new URL(sim.url).port;
      await connectedAgent(sim, { env: proxyEnv({ http: proxy.url, noProxy: noProxy?.replace('PORT', port) }) });
      expect(proxy.tunnels).toEqual([]);
      expect(proxy.authHeaders).toEqual([]);
    });
  }

  it('a NO_PROXY entry for another host or port does not bypass it', async () => {
    const proxy = await startProxy();
    const sim = await startPlatform();
    await connectedAgent(sim, { env: proxyEnv({ http: proxy.url, noProxy: 'example.com,127.0.0.2,127.0.0.1:1' }) });
    expect(proxy.tunnels).toHaveLength(1);
  });

  it('server.proxy wins over HTTP_PROXY, sends its credentials, and keeps the password out of the log', async () => {
    const used = await startProxy();
    const ignored = await startProxy();
    const sim = await startPlatform();
    const withAuth = used.url.replace('http://', 'http://ci-user:pr0xy-pa55@');
    const agent = await connectedAgent(sim, {
      config: { server: { url: sim.url, proxy: withAuth, no_proxy: [] } },
      env: proxyEnv({ http: ignored.url, noProxy: '127.0.0.1' }),
    });
    expect(used.tunnels).toHaveLength(1);
    expect(ignored.tunnels).toHaveLength(0);
    expect(used.authHeaders[0]).toBe(`Basic ${Buffer.from('ci-user:pr0xy-pa55').toString('base64')}`);
    const out = agent.stdout() + agent.stderr();
    expect(out).toMatch(/via proxy http:\/\/ci-user:\*\*\*@127\.0\.0\.1/);
    expect(out).not.toContain('pr0xy-pa55');
    expect(out).not.toContain(TOKEN);
  });

  it("a proxy's 403 is a connection failure, retried, not the platform refusing the token", async () => {
    const proxy = await startProxy({ refuse: 403 });
    const sim = await startPlatform();
    const agent = spawnAgent({ url: sim.url, env: proxyEnv({ http: proxy.url, noProxy: '' }) });
    await agent.waitForOutput(
      /the proxy http:\/\/127\.0\.0\.1:\d+\/? refused the tunnel to 127\.0\.0\.1:\d+ \(HTTP 403/,
      10_000,
    );
    await sleep(2_000);
    expect(agent.child.exitCode).toBeNull();
    expect(agent.stdout() + agent.stderr()).not.toMatch(/AUTH_FAILED/);
    expect(proxy.authHeaders.length).toBeGreaterThanOrEqual(2);
    expect(sim.upgradeCount).toBe(0);
  });

  it('a proxy that is down is reported as such and retried', async () => {
    const sim = await startPlatform();
    const agent = spawnAgent({ url: sim.url, env: proxyEnv({ http: 'http://127.0.0.1:9', noProxy: '' }) });
    await agent.waitForOutput(/connection refused via proxy http:\/\/127\.0\.0\.1:9/, 10_000);
    expect(agent.child.exitCode).toBeNull();
  });

  it('rejects a server.proxy that is not an http(s) proxy URL as a config error naming the key', async () => {
    const agent = spawnAgent({ config: { server: { proxy: 'socks5://127.0.0.1:1080' } } });
    const { code } = await agent.exited;
    expect(code).toBe(2);
    expect(agent.stderr()).toMatch(/server\.proxy: must be an http:\/\/ or https:\/\/ proxy URL/);
  });
});
