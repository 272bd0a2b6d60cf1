import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { patternSha256, PlatformSimulator, type ReceivedFrame, type SimulatorOptions } from './simulator.js';

const TOKEN = 'good-token';
const sims: PlatformSimulator[] = [];
const clients: WebSocket[] = [];

afterEach(async () => {
  for (const ws of clients.splice(0)) ws.terminate();
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});

async function simulator(opts: Partial<SimulatorOptions> = {}): Promise<PlatformSimulator> {
  const sim = new PlatformSimulator({ tokens: [TOKEN], ...opts });
  sims.push(sim);
  await sim.start();
  return sim;
}

/** Opens a connection the way the agent does: the token in the query and in the header. */
function connect(url: string, token: string): WebSocket {
  const ws = new WebSocket(`${url}?token=${encodeURIComponent(token)}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  ws.on('error', () => {}); // refused upgrades are asserted through 'unexpected-response'
  clients.push(ws);
  return ws;
}

async function nextFrame(ws: WebSocket): Promise<ReceivedFrame> {
  const [data] = await once(ws, 'message');
  return JSON.parse(String(data)) as ReceivedFrame;
}

async function authenticate(url: string, token = TOKEN): Promise<{ ws: WebSocket; reply: ReceivedFrame }> {
  const ws = connect(url, token);
  await once(ws, 'open');
  const reply = nextFrame(ws);
  ws.send(JSON.stringify({ type: 'auth', token, agent_info: { version: '1.0.0', platform: 'linux' } }));
  return { ws, reply: await reply };
}

describe('PlatformSimulator', () => {
  it('refuses a bad token with HTTP 401 at the upgrade', async () => {
    const sim = await simulator();
    const [, res] = await once(connect(sim.url, 'wrong'), 'unexpected-response');
    expect(res.statusCode).toBe(401);
    expect(sim.upgradeCount).toBe(1);
    expect(sim.connectionCount).toBe(0);
  });

  it('answers a good auth with auth_success and records the upgrade', async () => {
    const sim = await simulator({ workDir: '/srv/work', environmentId: 'env-1' });
    const authed = once(sim, 'auth');
    const { reply } = await authenticate(sim.url);
    expect(reply).toMatchObject({ type: 'auth_success', environment_id: 'env-1', work_dir: '/srv/work' });
    expect(Date.parse(reply.server_time)).not.toBeNaN();
    expect((await authed)[0]).toEqual({ version: '1.0.0', platform: 'linux' });
    expect(sim.connected).toBe(true);
    expect(sim.lastUpgradeUrl).toBe(`/ws/agent?token=${TOKEN}`);
    expect(sim.lastUpgradeHeaders?.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('omits work_dir when none is configured', async () => {
    const sim = await simulator();
    const { reply } = await authenticate(sim.url);
    expect(reply).not.toHaveProperty('work_dir');
  });

  it("with rejectAt 'frame', answers a bad auth with auth_failed and closes 4001", async () => {
    const sim = await simulator({ rejectAt: 'frame' });
    const { ws, reply } = await authenticate(sim.url, 'wrong');
    expect(reply.type).toBe('auth_failed');
    const [code] = await once(ws, 'close');
    expect(code).toBe(4001);
    expect(sim.connected).toBe(false);
  });

  it('revokes a token: current session closed with 4001, next upgrade refused', async () => {
    const sim = await simulator();
    const { ws } = await authenticate(sim.url);
    sim.revokeToken(TOKEN, true);
    expect((await once(ws, 'close'))[0]).toBe(4001);
    const [, res] = await once(connect(sim.url, TOKEN), 'unexpected-response');
    expect(res.statusCode).toBe(401);
  });

  it('sends tasks to the agent and records what it sends back', async () => {
    const sim = await simulator();
    const { ws } = await authenticate(sim.url);

    const task = nextFrame(ws);
    sim.dispatch({ task_id: 't1', command: 'echo hi', timeout: 5 });
    expect(await task).toEqual({ type: 'task', task_id: 't1', command: 'echo hi', timeout: 5 });

    const log = (seq: number, message: string, stream = 'stdout') =>
      JSON.stringify({ type: 'task_log', task_id: 't1', level: 'info', message, stream, seq, timestamp: '' });
    ws.send(log(2, 'b'));
    ws.send(log(1, 'a'));
    ws.send(log(2, 'b')); // redelivered after a reconnect
    ws.send(log(3, 'oops', 'stderr'));
    ws.send('not json');
    ws.send(JSON.stringify({ type: 'heartbeat', timestamp: '', system_info: {} }));
    const result = JSON.stringify({ type: 'task_result', task_id: 't1', status: 'success', exit_code: 0 });
    ws.send(result);
    ws.send(result);

    await sim.waitFor(() => sim.results('t1').length === 2, 2000, 'two results');
    expect(sim.logs('t1').map((f) => f.seq)).toEqual([1, 2, 3]);
    expect(sim.output('t1')).toBe('a\nb\noops');
    expect(sim.output('t1', 'stdout')).toBe('a\nb');
    expect(sim.output('t1', 'stderr')).toBe('oops');
    expect(sim.result('t1')).toMatchObject({ status: 'success', exit_code: 0 });
    expect(sim.heartbeats).toHaveLength(1);
    expect(sim.errors).toEqual([expect.objectContaining({ type: 'unparseable', data: 'not json' })]);
    expect(sim.frames).toHaveLength(1 + 4 + 1 + 2); // auth, logs, heartbeat, results
    expect(ws.readyState).toBe(WebSocket.OPEN);
  });

  it('rejects waitFor with its description on timeout', async () => {
    const sim = await simulator();
    await expect(sim.waitFor(() => false, 50, 'the impossible')).rejects.toThrow(
      'timed out after 50 ms waiting for the impossible',
    );
  });

  it('restarts on the same port and accepts the agent again', async () => {
    const sim = await simulator();
    const url = sim.url;
    const { ws } = await authenticate(url);
    const closed = once(ws, 'close');
    await sim.restart(50);
    expect((await closed)[0]).toBe(1001);
    expect(sim.url).toBe(url);
    const { reply } = await authenticate(url);
    expect(reply.type).toBe('auth_success');
    expect(sim.connectionCount).toBe(2);
    expect(sim.authCount).toBe(2);
  });
});

describe('files and artifacts endpoints', () => {
  it('serves a file to the token only (unless public), and stores an upload with its hash', async () => {
    const sim = await simulator();
    const url = sim.serveFile('dir/f.txt', { content: 'hello' });
    const open = sim.serveFile('p.txt', { content: 'public', public: true });
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await fetch(url)).status).toBe(401);
    expect(await (await fetch(url, { headers: auth })).text()).toBe('hello');
    expect(await (await fetch(open)).text()).toBe('public');
    expect((await fetch(`${sim.httpBase()}/files/none`, { headers: auth })).status).toBe(404);
    const put = (body: string) =>
      fetch(`${sim.artifactsUrl('t1')}/out/a%20b.txt`, { method: 'PUT', headers: auth, body });
    sim.failNextUploads(503);
    expect((await put('first')).status).toBe(503);
    expect((await put('second')).status).toBe(201);
    expect(sim.uploads.get('t1/out/a b.txt')).toMatchObject({
      size: 6,
      attempts: 2,
      content: Buffer.from('second'),
      sha256: createHash('sha256').update('second').digest('hex'),
    });
    expect((await fetch(`${sim.artifactsUrl('t1')}/x`, { method: 'PUT', body: 'x' })).status).toBe(401);
    expect(sim.httpRequests.map((r) => r.status)).toEqual([401, 200, 200, 404, 503, 201, 401]);
  });

  it('generates a sized file whose hash patternSha256 knows, and can stall after some bytes', async () => {
    const sim = await simulator();
    const size = 300_001;
    const res = await fetch(sim.serveFile('big', { size, public: true }));
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.length).toBe(size);
    expect(createHash('sha256').update(body).digest('hex')).toBe(patternSha256(size));
    const stalled = await fetch(sim.serveFile('stall', { size, stallAfterBytes: 10, public: true }));
    const reader = stalled.body!.getReader();
    const first = await reader.read();
    expect(first.value?.length).toBe(10);
    const next = await Promise.race([reader.read(), new Promise((r) => setTimeout(() => r('stalled'), 300))]);
    expect(next).toBe('stalled');
    await reader.cancel();
  });
});
