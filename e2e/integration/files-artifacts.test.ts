/**
 * A task's `files` and `artifacts` (PROTOCOL.md second round) end to end: the built agent, started
 * from `/`, fetches from and uploads to the simulator over loopback HTTP. Bad input of every kind
 * ends in `error` / FILE_TRANSFER_FAILED naming the file, with the command not run.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { patternSha256 } from '../platform/simulator.js';
import { connectedAgent, startPlatform, tempDir, TOKEN, waitForResult } from './harness.js';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const SCRIPT = '#!/bin/sh\necho "greeting from $(cat data/input.txt)"\n';
const agentLines = (sim: Awaited<ReturnType<typeof startPlatform>>, id: string) =>
  sim
    .logs(id)
    .filter((f) => f.stream === 'agent')
    .map((f) => f.message as string)
    .join('\n');

describe('files', () => {
  it('fetches each file into the task dir before the command, with its hash, mode and the token', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim);
    const script = sim.serveFile('tools/greet.sh', { content: SCRIPT });
    const input = sim.serveFile('input.txt', { content: 'the platform' });
    sim.dispatch({
      task_id: 'f-ok',
      command: 'ls -l tools/greet.sh; ./tools/greet.sh',
      files: [
        { url: script, path: 'tools/greet.sh', sha256: sha(SCRIPT), mode: '0755' },
        { url: input, path: 'data/input.txt' },
      ],
    });
    const result = await waitForResult(sim, 'f-ok');
    expect(result).toMatchObject({ status: 'success', exit_code: 0 });
    expect(result.output).toContain('greeting from the platform');
    const dir = path.join(agent.workDir, 'tasks', 'f-ok');
    expect(statSync(path.join(dir, 'tools/greet.sh')).mode & 0o777).toBe(0o755);
    expect(statSync(path.join(dir, 'data/input.txt')).mode & 0o777).toBe(0o644);
    expect(readdirSync(path.join(dir, 'data'))).toEqual(['input.txt']); // no .part left
    // the platform's own host gets the token, and the log never shows it
    const gets = sim.httpRequests.filter((r) => r.method === 'GET');
    expect(gets.map((r) => [r.path, r.authorization, r.status])).toEqual([
      ['/files/tools/greet.sh', `Bearer ${TOKEN}`, 200],
      ['/files/input.txt', `Bearer ${TOKEN}`, 200],
    ]);
    const lines = agentLines(sim, 'f-ok');
    expect(lines).toMatch(/files: 2 to fetch/);
    expect(lines).toMatch(/tools\/greet\.sh done, .* sha256 verified/);
    expect(sim.output('f-ok')).not.toContain(TOKEN);
    // progress lines come before the command's first output
    const firstStdout = sim.logs('f-ok').findIndex((f) => f.stream === 'stdout');
    const lastAgent = sim.logs('f-ok').findLastIndex((f) => f.stream === 'agent');
    expect(lastAgent).toBeLessThan(firstStdout);
  });

  it('serves a second task from the cache, and evicts the least recently used past the cap', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim, { config: { transfer: { cache_max_mb: 1 } } });
    const size = 400 * 1024;
    const files = ['a', 'b', 'c'].map((name, i) => {
      const content = Buffer.alloc(size, name.charCodeAt(0) + i);
      return { name, content, url: sim.serveFile(name, { content }), sha256: sha(content) };
    });
    const [a, b, c] = files as [(typeof files)[0], (typeof files)[0], (typeof files)[0]];
    const run = async (id: string, f: typeof a) => {
      sim.dispatch({ task_id: id, command: 'wc -c < blob', files: [{ url: f.url, path: 'blob', sha256: f.sha256 }] });
      const result = await waitForResult(sim, id);
      expect(result).toMatchObject({ status: 'success', output: `${size}\n` });
    };
    const getsOf = (name: string) => sim.httpRequests.filter((r) => r.path === `/files/${name}`).length;
    await run('c1', a);
    await run('c2', b);
    await run('c3', a); // a hit: nothing downloaded, and a is now the most recently used
    expect(getsOf('a')).toBe(1);
    expect(agentLines(sim, 'c3')).toMatch(/blob from the cache .*nothing downloaded/);
    await run('c4', c); // a + b + c > 1 MB: b, the least recently used, goes
    const cache = path.join(agent.workDir, 'cache', 'files');
    expect(readdirSync(cache).sort()).toEqual([a.sha256, c.sha256].sort());
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    await run('c5', b);
    expect(getsOf('b')).toBe(2);
  });

  it('sends the token to the platform host only, also across a redirect', async () => {
    const sim = await startPlatform();
    await connectedAgent(sim);
    // "localhost" is this same server under another name: for the token rule, another host
    const elsewhere = sim.serveFile('public.txt', { content: 'public', public: true }, 'localhost');
    const redirect = sim.serveFile('redirect', { redirectTo: elsewhere });
    sim.dispatch({
      task_id: 'tok',
      command: 'cat a b',
      files: [
        { url: elsewhere, path: 'a' },
        { url: redirect, path: 'b' },
      ],
    });
    expect(await waitForResult(sim, 'tok')).toMatchObject({ status: 'success', output: 'publicpublic' });
    expect(sim.httpRequests.map((r) => [r.host?.split(':')[0], r.path, r.authorization])).toEqual([
      ['localhost', '/files/public.txt', undefined],
      ['127.0.0.1', '/files/redirect', `Bearer ${TOKEN}`],
      ['localhost', '/files/public.txt', undefined],
    ]);
  });

  it('refuses a bad files field before anything runs, naming the file', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim);
    const url = sim.serveFile('x', { content: 'x' });
    const bad: Array<[string, object, RegExp]> = [
      ['dotdot', { url, path: '../escape' }, /files\.0\.path: path "\.\.\/escape" has a "\.\." segment/],
      ['absolute', { url, path: '/tmp/abs' }, /files\.0\.path: path "\/tmp\/abs" is absolute/],
      ['ftp', { url: 'ftp://127.0.0.1/x', path: 'x' }, /files\.0\.url: ftp:\/\/127\.0\.0\.1\/x is not an http/],
      ['hash', { url, path: 'x', sha256: 'abc' }, /files\.0\.sha256: sha256 must be 64 hexadecimal digits/],
      ['setuid', { url, path: 'x', mode: 0o4755 }, /files\.0\.mode: mode 2541 must be a permission/],
    ];
    for (const [id, file] of bad) sim.dispatch({ task_id: id, command: 'touch ran', files: [file] });
    for (const [id, , message] of bad) {
      const result = await waitForResult(sim, id);
      expect(result, id).toMatchObject({ status: 'error', error_code: 'FILE_TRANSFER_FAILED' });
      expect(result.error, id).toMatch(message);
      expect(existsSync(path.join(agent.workDir, 'tasks', id, 'ran')), id).toBe(false);
    }
    expect(sim.errors.filter((e) => e.code === 'FILE_TRANSFER_FAILED')).toHaveLength(bad.length);
    expect(sim.httpRequests).toEqual([]);
  });

  it('a 404, a wrong hash and a stalled server end the task before its command, naming the file', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim, { config: { transfer: { timeout: 1 } } });
    const cases: Array<[string, object, RegExp]> = [
      ['missing', { url: `${sim.httpBase()}/files/nothing-here`, path: 'in/missing.bin' }, /HTTP 404/],
      [
        'wrong-hash',
        { url: sim.serveFile('w', { content: 'not what you think' }), path: 'in/w.bin', sha256: sha('other') },
        /sha256 mismatch: expected [0-9a-f]{64}, got [0-9a-f]{64}/,
      ],
      ['stalled', { url: sim.serveFile('s', { size: 1e6, stallAfterBytes: 1000 }), path: 'in/s.bin' }, /timed out/],
    ];
    for (const [id, file] of cases) sim.dispatch({ task_id: id, command: 'touch ran', files: [file] });
    for (const [id, file, reason] of cases) {
      const result = await waitForResult(sim, id);
      expect(result, id).toMatchObject({ status: 'error', error_code: 'FILE_TRANSFER_FAILED' });
      const named = (file as { path: string }).path;
      expect(result.error, id).toContain(`file 0 (${named})`);
      expect(result.error, id).toMatch(reason);
      const dir = path.join(agent.workDir, 'tasks', id);
      expect(existsSync(path.join(dir, 'ran')), id).toBe(false);
      // no half file, no .part left behind
      expect(readdirSync(path.join(dir, 'in')), id).toEqual([]);
    }
    expect(readdirSync(path.join(agent.workDir, 'cache', 'files'))).toEqual([]);
  });

  it('the task timeout bounds its downloads; a cancel while downloading ends it cancelled', async () => {
    const sim = await startPlatform();
    await connectedAgent(sim);
    const url = sim.serveFile('slow', { size: 1e6, stallAfterBytes: 10 });
    sim.dispatch({ task_id: 'slow', command: 'touch ran', timeout: 1, files: [{ url, path: 'slow.bin' }] });
    const slow = await waitForResult(sim, 'slow');
    expect(slow).toMatchObject({ status: 'error', error_code: 'FILE_TRANSFER_FAILED' });
    expect(slow.error).toMatch(/file 0 \(slow\.bin\).*not fetched within the task's timeout \(1 s\)/);
    sim.dispatch({ task_id: 'cancel-dl', command: 'touch ran', files: [{ url, path: 'slow.bin' }] });
    await sim.waitFor(() => agentLines(sim, 'cancel-dl').includes('slow.bin ←'), 5000, 'the download to start');
    sim.cancel('cancel-dl');
    expect(await waitForResult(sim, 'cancel-dl')).toMatchObject({ status: 'cancelled', error_code: 'TASK_CANCELLED' });
  });

  it.runIf(process.getuid?.() === 0)('gives the files and the folders it makes to the task.run_as user', async () => {
    const parent = tempDir('ats-files-nobody-');
    chmodSync(parent, 0o755);
    const sim = await startPlatform();
    const agent = await connectedAgent(sim, {
      workDir: path.join(parent, 'work'),
      config: { task: { run_as: 'nobody' } },
    });
    const url = sim.serveFile('n.txt', { content: 'mine' });
    sim.dispatch({
      task_id: 'as-nobody',
      command: 'id -u; cat deep/er/n.txt && echo more >> deep/er/n.txt && touch deep/er/new',
      files: [{ url, path: 'deep/er/n.txt' }],
    });
    const result = await waitForResult(sim, 'as-nobody');
    expect(result).toMatchObject({ status: 'success', output: '65534\nmine' });
    const dir = path.join(agent.workDir, 'tasks', 'as-nobody');
    for (const p of ['deep', 'deep/er', 'deep/er/n.txt']) expect(statSync(path.join(dir, p)).uid, p).toBe(65534);
  });

  it.runIf(process.getuid?.() === 0)(
    'a full disk ends the task with the file named (a 2 MB tmpfs as work dir)',
    async () => {
      const mount = path.join(tempDir(), 'small');
      mkdirSync(mount);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mount]);
      try {
        const sim = await startPlatform();
        const agent = await connectedAgent(sim, { workDir: mount });
        const url = sim.serveFile('big', { size: 8 * 1024 * 1024 });
        sim.dispatch({
          task_id: 'full',
          command: 'touch ran',
          files: [{ url, path: 'big.bin', sha256: patternSha256(8 * 1024 * 1024) }],
        });
        const result = await waitForResult(sim, 'full');
        expect(result).toMatchObject({ status: 'error', error_code: 'FILE_TRANSFER_FAILED' });
        expect(result.error).toMatch(/file 0 \(big\.bin\).*no space left on the disk \(ENOSPC\)/);
        expect(existsSync(path.join(mount, 'tasks', 'full', 'ran'))).toBe(false);
        expect(readdirSync(path.join(mount, 'cache', 'files'))).toEqual([]);
        await agent.stop();
      } finally {
        execFileSync('umount', ['-l', mount]);
      }
    },
  );
});

describe('artifacts', () => {
  it('uploads what matches after success, failure, timeout and cancel, and lists it in the result', async () => {
    const sim = await startPlatform();
    await connectedAgent(sim);
    const make = 'mkdir -p out/sub && printf "report $ATS_TASK_ID" > out/report.txt && printf x > out/sub/a b.log';
    const runs: Array<[string, string, string, number?]> = [
      ['a-ok', `${make}`, 'success'],
      ['a-fail', `${make}; exit 3`, 'failed'],
      ['a-timeout', `${make}; sleep 30`, 'timeout', 1],
      ['a-cancel', `${make}; echo made; sleep 30`, 'cancelled'],
    ];
    for (const [id, command, , timeout] of runs)
      sim.dispatch({
        task_id: id,
        command: command.replace('a b.log', '"a b.log"'),
        ...(timeout ? { timeout } : {}),
        artifacts: { paths: ['out/*.txt', 'out/**/*.log', 'missing/*'], upload_url: sim.artifactsUrl(id) },
      });
    await sim.waitFor(() => sim.output('a-cancel').includes('made'), 10_000, 'a-cancel to make its files');
    sim.cancel('a-cancel');
    for (const [id, , status] of runs) {
      const result = await waitForResult(sim, id, 20_000);
      expect(result.status, id).toBe(status);
      const report = `report ${id}`;
      expect(result.artifacts, id).toEqual([
        { path: 'out/report.txt', size: report.length, sha256: sha(report), uploaded: true },
        { path: 'out/sub/a b.log', size: 1, sha256: sha('x'), uploaded: true },
      ]);
      expect(sim.uploads.get(`${id}/out/report.txt`)?.content?.toString()).toBe(report);
      expect(sim.uploads.get(`${id}/out/sub/a b.log`)?.sha256).toBe(sha('x'));
    }
    const puts = sim.httpRequests.filter((r) => r.method === 'PUT');
    expect(puts).toHaveLength(8);
    expect(puts.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('lists but does not upload them when the agent shuts down during the command', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim);
    sim.dispatch({
      task_id: 'a-shutdown',
      command: 'printf kept > kept.txt; echo made; sleep 30',
      artifacts: { paths: ['*.txt'], upload_url: sim.artifactsUrl('a-shutdown') },
    });
    await sim.waitFor(() => sim.output('a-shutdown').includes('made'), 10_000, 'the task to make its file');
    expect(await agent.stop('SIGTERM')).toMatchObject({ code: 0 });
    const result = await waitForResult(sim, 'a-shutdown');
    expect(result).toMatchObject({ status: 'error', error_code: 'AGENT_SHUTDOWN' });
    expect(result.artifacts).toEqual([
      {
        path: 'kept.txt',
        size: 4,
        sha256: sha('kept'),
        uploaded: false,
        error: 'not uploaded: the agent is shutting down',
      },
    ]);
    expect(sim.uploads.size).toBe(0);
  });

  it('never follows a symlink out of the work dir, and takes one that stays inside', async () => {
    const sim = await startPlatform();
    await connectedAgent(sim);
    sim.dispatch({
      task_id: 'links',
      command:
        'mkdir -p out && printf inside > out/real.txt && ln -s /etc/passwd out/passwd.txt && ln -s real.txt out/alias.txt && ln -s /etc out/etc && ln -s /etc linked',
      artifacts: { paths: ['out/**', 'linked/*'], upload_url: sim.artifactsUrl('links') },
    });
    const result = await waitForResult(sim, 'links');
    expect(result.status).toBe('success');
    const outside = {
      size: 0,
      sha256: '',
      uploaded: false,
      error: expect.stringMatching(/symbolic link that leads outside/),
    };
    expect(result.artifacts).toEqual([
      // a directory link is never walked into; matched itself, it is reported like a file link
      { path: 'out/etc', ...outside },
      {
        path: 'out/passwd.txt',
        size: 0,
        sha256: '',
        uploaded: false,
        error: expect.stringMatching(/symbolic link that leads outside/),
      },
      { path: 'out/alias.txt', size: 6, sha256: sha('inside'), uploaded: true },
      { path: 'out/real.txt', size: 6, sha256: sha('inside'), uploaded: true },
    ]);
    expect([...sim.uploads.keys()].sort()).toEqual(['links/out/alias.txt', 'links/out/real.txt']);
  });

  it('retries a 503 with backoff, gives up at once on a 4xx, and sends no token to another host', async () => {
    const sim = await startPlatform();
    await connectedAgent(sim);
    sim.failNextUploads(503, 503);
    sim.dispatch({
      task_id: 'retry',
      command: 'printf data > r.txt',
      artifacts: { paths: ['r.txt'], upload_url: sim.artifactsUrl('retry') },
    });
    const retried = await waitForResult(sim, 'retry', 20_000);
    expect(retried.artifacts).toEqual([{ path: 'r.txt', size: 4, sha256: sha('data'), uploaded: true }]);
    expect(sim.uploads.get('retry/r.txt')?.attempts).toBe(3);
    expect(agentLines(sim, 'retry')).toMatch(/r\.txt: HTTP 503.*attempt 2 in 1\.0 s[\s\S]*attempt 3 in 2\.0 s/);

    sim.failNextUploads(400);
    sim.dispatch({
      task_id: 'bad',
      command: 'printf data > r.txt',
      artifacts: { paths: ['r.txt'], upload_url: sim.artifactsUrl('bad') },
    });
    const refused = await waitForResult(sim, 'bad');
    expect(refused.status).toBe('success'); // an upload never changes the command's status
    expect(refused.artifacts).toEqual([
      { path: 'r.txt', size: 4, sha256: sha('data'), uploaded: false, error: 'HTTP 400 Bad Request' },
    ]);
    expect(sim.uploads.get('bad/r.txt')?.attempts).toBe(1);

    sim.dispatch({
      task_id: 'other-host',
      // big enough that the 401 arrives before the body is sent: the upload stops reading the file
      command: 'head -c 8000000 /dev/zero > r.txt',
      artifacts: { paths: ['r.txt'], upload_url: sim.artifactsUrl('other-host', 'localhost') },
    });
    const other = await waitForResult(sim, 'other-host');
    expect(other.artifacts[0]).toMatchObject({ uploaded: false, error: 'HTTP 401 Unauthorized' });
    const put = sim.httpRequests.find((r) => r.path === '/artifacts/other-host/r.txt');
    expect(put).toMatchObject({ host: expect.stringMatching(/^localhost:/), authorization: undefined });
  });

  it('refuses an artifacts field that would look outside the work dir or upload to a non-http URL', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim);
    const cases: Array<[string, object, RegExp]> = [
      [
        'up',
        { paths: ['../*'], upload_url: sim.artifactsUrl('up') },
        /artifacts\.paths\.0: glob "\.\.\/\*" has a "\.\." segment/,
      ],
      ['root', { paths: ['/etc/*'], upload_url: sim.artifactsUrl('root') }, /glob "\/etc\/\*" is absolute/],
      ['file-url', { paths: ['*'], upload_url: 'file:///tmp/x' }, /artifacts\.upload_url: file:.* is not an http/],
    ];
    for (const [id, artifacts] of cases) sim.dispatch({ task_id: id, command: 'touch ran', artifacts });
    for (const [id, , message] of cases) {
      const result = await waitForResult(sim, id);
      expect(result, id).toMatchObject({ status: 'error', error_code: 'FILE_TRANSFER_FAILED' });
      expect(result.error, id).toMatch(message);
      expect(existsSync(path.join(agent.workDir, 'tasks', id, 'ran')), id).toBe(false);
    }
  });
});
