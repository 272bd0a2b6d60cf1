import { describe, expect, it } from 'vitest';
import { buildTaskEnv } from './environment.js';

const ids = { taskId: 't-1', taskDir: '/w/tasks/t-1', workDir: '/w' };

describe('buildTaskEnv', () => {
  it('passes the agent environment on, minus dropped names (any case) and values holding a secret', () => {
    const env = buildTaskEnv({
      base: {
        PATH: '/bin',
        HOME: '/root',
        ATS_TOKEN: 'abc',
        ats_token: 'abc',
        URL: 'wss://x?token=s3cr3t-value',
        OTHER: undefined,
      },
      dropNames: ['ATS_TOKEN'],
      secretValues: ['s3cr3t-value'],
      ...ids,
    });
    expect(env).toEqual({
      PATH: '/bin',
      HOME: '/root',
      ATS_TASK_ID: 't-1',
      ATS_TASK_DIR: '/w/tasks/t-1',
      ATS_WORK_DIR: '/w',
    });
  });

  it('ignores an empty secret value, which every value would contain', () => {
    const env = buildTaskEnv({ base: { PATH: '/bin' }, dropNames: [], secretValues: [''], ...ids });
    expect(env.PATH).toBe('/bin');
  });

  it("adds the task's env_vars over the agent's, and the ATS_* variables over the task's", () => {
    const env = buildTaskEnv({
      base: { PATH: '/bin', LANG: 'C' },
      dropNames: [],
      secretValues: [],
      envVars: { LANG: 'zh_CN.UTF-8', TEST_ENV: 'staging', ATS_TASK_ID: 'someone-else' },
      ...ids,
      platform: 'linux',
    });
    expect(env).toMatchObject({ PATH: '/bin', LANG: 'zh_CN.UTF-8', TEST_ENV: 'staging', ATS_TASK_ID: 't-1' });
  });

  it('on Windows a task variable replaces the agent variable of the same name in another case', () => {
    const env = buildTaskEnv({
      base: { PATH: 'C:\\Windows' },
      dropNames: [],
      secretValues: [],
      envVars: { Path: 'C:\\tools', ats_task_id: 'x' },
      ...ids,
      platform: 'win32',
    });
    expect(env).toEqual({ Path: 'C:\\tools', ATS_TASK_ID: 't-1', ATS_TASK_DIR: '/w/tasks/t-1', ATS_WORK_DIR: '/w' });
  });
});
