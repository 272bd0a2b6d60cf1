import { describe, expect, it } from 'vitest';
import { parseInbound } from './inbound.js';
import { relativePathProblem, urlForLog } from './transfer-fields.js';

const task = (extra: object) => ({ type: 'task', task_id: 't', command: 'x', ...extra });
const URL_OK = 'https://ats.example/files/a';

describe('files and artifacts in the task frame', () => {
  it('accepts the fields, lower-cases the hash and reads an octal mode', () => {
    const r = parseInbound(
      task({
        files: [{ url: URL_OK, path: 'bin/run.sh', sha256: 'AB'.repeat(32), mode: '0755' }],
        artifacts: { paths: ['out/**/*.xml'], upload_url: 'http://ats.example/up' },
      }),
    );
    expect(r).toMatchObject({
      ok: true,
      frame: { files: [{ path: 'bin/run.sh', sha256: 'ab'.repeat(32), mode: 0o755 }] },
    });
  });

  it.each([
    [{ files: [{ url: URL_OK, path: '../x' }] }, 'files.0.path', '".." segment'],
    [{ files: [{ url: URL_OK, path: 'a/../../x' }] }, 'files.0.path', '".." segment'],
    [{ files: [{ url: URL_OK, path: 'a\\..\\x' }] }, 'files.0.path', '".." segment'],
    [{ files: [{ url: URL_OK, path: '/etc/passwd' }] }, 'files.0.path', 'is absolute'],
    [{ files: [{ url: URL_OK, path: 'C:\\x' }] }, 'files.0.path', 'is absolute'],
    [{ files: [{ url: URL_OK, path: 'dir/' }] }, 'files.0.path', 'names a directory'],
    [{ files: [{ url: URL_OK, path: 'a\0b' }] }, 'files.0.path', 'NUL'],
    [{ files: [{ url: 'file:///etc/passwd', path: 'x' }] }, 'files.0.url', 'not an http'],
    [{ files: [{ url: 'not a url', path: 'x' }] }, 'files.0.url', 'is not a URL'],
    [{ files: [{ url: URL_OK, path: 'x', sha256: 'z'.repeat(64) }] }, 'files.0.sha256', '64 hexadecimal'],
    [{ files: [{ url: URL_OK, path: 'x', mode: 0o4755 }] }, 'files.0.mode', 'between 0 and 0o777'],
    [{ files: [{ url: URL_OK, path: 'x', mode: '9' }] }, 'files.0.mode', 'between 0 and 0o777'],
    [
      {
        files: [
          { url: URL_OK, path: 'x' },
          { url: URL_OK, path: './x' },
        ],
      },
      'files.1.path',
      'also the path of file 0',
    ],
    [{ artifacts: { paths: ['../*'], upload_url: URL_OK } }, 'artifacts.paths.0', '".." segment'],
    [{ artifacts: { paths: [], upload_url: URL_OK } }, 'artifacts.paths', ''],
    [{ artifacts: { paths: ['*'], upload_url: 'ftp://x/' } }, 'artifacts.upload_url', 'not an http'],
  ])('refuses %j as FILE_TRANSFER_FAILED naming %s', (extra, field, words) => {
    const r = parseInbound(task(extra));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r).toMatchObject({ code: 'FILE_TRANSFER_FAILED', taskId: 't', rejectedTask: true });
    expect(r.message).toContain(`task: ${field}`);
    expect(r.message).toContain(words);
  });

  it('other bad task fields keep INVALID_TASK', () => {
    expect(parseInbound(task({ timeout: 'soon', files: [] }))).toMatchObject({ ok: false, code: 'INVALID_TASK' });
  });

  it('keeps a URL query (a presigned signature) out of messages', () => {
    expect(urlForLog('https://s3.example/b/k?X-Amz-Signature=secret')).toBe('https://s3.example/b/k?…');
    expect(urlForLog('https://user:pw@h.example/p')).toBe('https://h.example/p');
  });

  it.each(['a', 'a/b.txt', './a', 'a..b', '.hidden'])('takes %s as relative', (p) => {
    expect(relativePathProblem(p)).toBeNull();
  });
});
