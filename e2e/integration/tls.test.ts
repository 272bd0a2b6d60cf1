/**
 * wss:// against a real TLS server whose certificate a test CA signed (made with openssl here):
 * the CA given with --ca-file or server.ca_file is trusted; without it, or with another CA, the
 * agent never authenticates and says why, again on every retry.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { connectedAgent, sleep, spawnAgent, startPlatform, waitForResult } from './harness.js';
import { makePki, type Pki } from './pki.js';

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});

describe('wss:// certificate checks', () => {
  it('connects and runs a task when --ca-file names the CA that signed the server', async () => {
    const sim = await startPlatform({ tls: { key: pki.key, cert: pki.cert } });
    expect(sim.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\//);
    await connectedAgent(sim, { args: ['--ca-file', pki.caFile] });
    sim.dispatch({ task_id: 'over-tls', command: 'echo secure' });
    expect(await waitForResult(sim, 'over-tls')).toMatchObject({ status: 'success', output: 'secure\n' });
    expect(sim.authCount).toBe(1);
  });

  it('takes the CA from server.ca_file in the config file too', async () => {
    const sim = await startPlatform({ tls: { key: pki.key, cert: pki.cert } });
    await connectedAgent(sim, { config: { server: { url: sim.url, ca_file: pki.caFile } } });
    expect(sim.authCount).toBe(1);
  });

  for (const [name, extraArgs] of [
    ['without a CA (the system store does not know the test CA)', [] as string[]],
    ['with a CA that did not sign the server certificate', ['--ca-file', '<other>']],
  ] as const) {
    it(`never authenticates ${name}, and says why on every retry`, async () => {
      const sim = await startPlatform({ tls: { key: pki.key, cert: pki.cert } });
      const args = extraArgs.map((a) => (a === '<other>' ? pki.otherCaFile : a));
      const agent = spawnAgent({ url: sim.url, args });
      // the first attempt fails at once, the retry comes 1 s (±jitter) later
      await agent.waitForOutput(
        /TLS certificate rejected: [^\n]*(self-signed certificate|unable to get local issuer certificate|unable to verify)/i,
        10_000,
      );
      await sleep(2_500);
      const rejections = (agent.stdout() + agent.stderr()).match(/TLS certificate rejected/g) ?? [];
      expect(rejections.length).toBeGreaterThanOrEqual(2);
      expect(agent.stdout() + agent.stderr()).toMatch(/--ca-file or server\.ca_file/);
      expect(sim.authCount).toBe(0);
      expect(sim.authFrames).toHaveLength(0);
      // it never sent the token to a server it could not verify: no upgrade request reached it
      expect(sim.upgradeCount).toBe(0);
      expect(agent.child.exitCode).toBeNull();
    });
  }

  it('reports a CA file that does not exist and keeps retrying', async () => {
    const sim = await startPlatform({ tls: { key: pki.key, cert: pki.cert } });
    const agent = spawnAgent({ url: sim.url, args: ['--ca-file', path.join(pki.dir, 'missing.pem')] });
    await agent.waitForOutput(/cannot read the CA file .*missing\.pem .*ENOENT/, 10_000);
    expect(agent.stderr()).not.toMatch(/internal error/);
    expect(agent.child.exitCode).toBeNull();
    expect(sim.authCount).toBe(0);
  });

  it('fails clearly when a wss:// URL points at a plain ws:// server', async () => {
    const sim = await startPlatform();
    const agent = spawnAgent({ url: sim.url.replace(/^ws:/, 'wss:') });
    await agent.waitForOutput(/TLS handshake failed|wrong version number|EPROTO/i, 10_000);
    expect(sim.authCount).toBe(0);
  });
});
