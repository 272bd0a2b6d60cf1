/**
 * DEV ONLY (not part of the app bundle): a fake AgentApi for screenshots and performance checks.
 * `screenshot.ts` bundles this file into an IIFE and injects it with `page.addInitScript`, after
 * setting `window.__FAKE_OPTIONS`. It defines `window.atsAgent` (what the Electron preload would) and
 * `window.__fake`, a handle to drive it from the test (emit events, add 100,000 lines...).
 */
import type {
  AgentApi,
  AgentEvent,
  AgentLogEntry,
  AgentSnapshot,
  ConnectionPhase,
  ConnectionView,
  Counters,
  LogStream,
  MetricsPoint,
  OutputChunk,
  SettingsView,
  SystemInfo,
  TaskView,
} from '../../main/core/api.js';

export interface FakeOptions {
  phase?: ConnectionPhase;
  mode?: 'gui' | 'headless';
  editable?: boolean;
  tokenStorage?: SettingsView['tokenStorage'];
  /** stream output on the running task */
  live?: boolean;
  runningAsRoot?: boolean;
}

declare global {
  interface Window {
    __FAKE_OPTIONS?: FakeOptions;
    __fake?: FakeHandle;
  }
}

export interface FakeHandle {
  emit(event: AgentEvent): void;
  /** adds a finished task whose output has `lines` lines; returns its id */
  bulkTask(lines: number): string;
  /** appends `lines` lines to a task, as live events, `perChunk` lines per chunk */
  stream(taskId: string, lines: number, perChunk?: number): void;
  setPhase(phase: ConnectionPhase, extra?: Partial<ConnectionView>): void;
  stopLive(): void;
}

(() => {
  const opts: FakeOptions = { phase: 'online', mode: 'gui', editable: true, tokenStorage: 'keyring', live: true, runningAsRoot: false, ...window.__FAKE_OPTIONS };
  const now = Date.now();
  const iso = (t: number) => new Date(t).toISOString();
  const listeners = new Set<(e: AgentEvent) => void>();
  const emit = (e: AgentEvent) => {
    for (const l of [...listeners]) l(e);
  };

  // deterministic noise
  let seed = 42;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };

  const system = (cpu: number, mem: number, disk: number): SystemInfo => ({
    cpu: { usage_percent: cpu, cores: 8, model: 'Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz', frequency: '3.0 GHz' },
    memory: { total: 16384, used: Math.round((16384 * mem) / 100), free: Math.round((16384 * (100 - mem)) / 100), usage_percent: mem, unit: 'MB' },
    disk: { total: 512000, used: Math.round((512000 * disk) / 100), free: Math.round((512000 * (100 - disk)) / 100), usage_percent: disk, unit: 'MB', path: '/var/lib/ats-agent' },
    network: { ip: '10.20.3.17', hostname: 'qa-runner-03' },
    os: { type: 'Linux', version: 'Ubuntu 22.04.4 LTS', kernel: '5.15.0-105-generic' },
  });

  const point = (t: number, i: number): MetricsPoint => ({
    at: iso(t),
    cpu: Math.round((38 + 22 * Math.sin(i / 9) + 10 * rnd()) * 10) / 10,
    memory: Math.round((58 + 4 * Math.sin(i / 30) + 1.5 * rnd()) * 10) / 10,
    disk: Math.round((71.2 + i * 0.004) * 10) / 10,
  });
  const metrics: MetricsPoint[] = [];
  for (let i = 0; i < 120; i++) metrics.push(point(now - (119 - i) * 5000, i));
  const lastM = metrics[metrics.length - 1]!;

  const unconfigured = opts.phase === 'unconfigured';
  let connection: ConnectionView = {
    phase: opts.phase ?? 'online',
    serverUrl: unconfigured ? '' : 'wss://ats.example.com/ws/agent',
    environmentId: opts.phase === 'online' ? 'env-staging-42' : null,
    workDir: '/var/lib/ats-agent/work',
    connectedSince: opts.phase === 'online' ? iso(now - (2 * 3600 + 17 * 60 + 9) * 1000) : null,
    nextAttemptAt: opts.phase === 'reconnecting' ? iso(now + 12_000) : null,
    attempt: opts.phase === 'reconnecting' ? 3 : 0,
    lastError:
      opts.phase === 'reconnecting'
        ? { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 10.20.0.5:443', at: iso(now - 4000) }
        : opts.phase === 'auth_failed'
          ? { code: 'AUTH_FAILED', message: 'the platform rejected the token (401)', at: iso(now - 60_000) }
          : null,
  };

  const task = (id: string, command: string, phase: TaskView['phase'], startAgo: number, dur: number | null, exit: number | null): TaskView => ({
    taskId: id,
    command,
    phase,
    workDir: `/var/lib/ats-agent/work/${id}`,
    receivedAt: iso(now - startAgo * 1000 - 300),
    startedAt: phase === 'queued' ? null : iso(now - startAgo * 1000),
    finishedAt: dur === null ? null : iso(now - startAgo * 1000 + dur * 1000),
    duration: dur,
    exitCode: exit,
    signal: null,
    errorCode: null,
    error: null,
    pid: phase === 'running' ? 48213 : null,
    outputSeq: 0,
  });

  const tasks: TaskView[] = unconfigured
    ? []
    : [
        task('t-1041', 'pytest tests/api -q --junitxml=report.xml', 'success', 1900, 84.2, 0),
        task('t-1042', 'npx playwright test --project=chromium tests/e2e/checkout.spec.ts', 'failed', 1500, 312.7, 1),
        task('t-1043', 'pytest tests/ui -n 4 --color=yes -p no:cacheprovider', 'running', 95, null, null),
      ];
  const outputs = new Map<string, OutputChunk[]>();
  const push = (taskId: string, stream: LogStream, text: string, at = Date.now()) => {
    const list = outputs.get(taskId) ?? [];
    outputs.set(taskId, list);
    const chunk: OutputChunk = { seq: list.length + 1, stream, text, at: iso(at) };
    list.push(chunk);
    const t = tasks.find((x) => x.taskId === taskId);
    if (t) t.outputSeq = chunk.seq;
    return chunk;
  };

  const G = '\x1b[32m';
  const R = '\x1b[31m';
  const Y = '\x1b[33m';
  const B = '\x1b[1m';
  const C = '\x1b[36m';
  const D = '\x1b[2m';
  const X = '\x1b[0m';
  const testNames = ['test_login_valid', 'test_login_wrong_password', 'test_logout', 'test_cart_add_item', 'test_cart_remove_item', 'test_checkout_card', 'test_checkout_paypal', 'test_profile_update', 'test_search_results', 'test_search_empty', 'test_filter_by_price', 'test_pagination'];
  const files = ['test_auth.py', 'test_cart.py', 'test_checkout.py', 'test_profile.py', 'test_search.py'];
  let n = 0;
  const nextLine = (): [LogStream, string] => {
    n++;
    const file = files[n % files.length]!;
    const name = testNames[n % testNames.length]!;
    const pct = Math.min(100, Math.round((n / 400) * 100));
    if (n % 37 === 0) return ['stderr', `${Y}DeprecationWarning${X}: 'datetime.utcnow()' is deprecated; use timezone-aware objects (tests/ui/conftest.py:${40 + (n % 30)})\n`];
    if (n % 23 === 0) return ['stdout', `[gw${n % 4}] ${R}FAILED${X} tests/ui/${file}::${name} ${D}- AssertionError: expected status 200, got <503>${X} [${String(pct).padStart(3)}%]\n`];
    if (n % 53 === 0) return ['agent', `task t-1043: output ${(n * 1.7).toFixed(0)} KB so far, still running\n`];
    return ['stdout', `[gw${n % 4}] ${G}PASSED${X} tests/ui/${file}::${name}${n % 7 === 0 ? `[${C}firefox${X}]` : ''} [${String(pct).padStart(3)}%]\n`];
  };

  if (!unconfigured) {
    push('t-1041', 'agent', 'starting: pytest tests/api -q --junitxml=report.xml (pid 47001, cwd /var/lib/ats-agent/work/t-1041)\n', now - 1_900_000);
    push('t-1041', 'stdout', `${B}============================= test session starts ==============================${X}\nplatform linux -- Python 3.11.9, pytest-8.2.0\ncollected 212 items\n\n`);
    push('t-1041', 'stdout', `tests/api ${G}........................................................................${X} [ 33%]\n${G}........................................................................${X} [ 67%]\n${G}....................................................................${X} [100%]\n\n${G}======================= 212 passed in 83.91s (0:01:23) ========================${X}\n`);
    push('t-1041', 'agent', 'exited with code 0 after 84.2 s\n');
    push('t-1042', 'agent', 'starting: npx playwright test --project=chromium tests/e2e/checkout.spec.ts\n');
    push('t-1042', 'stdout', `Running 18 tests using 4 workers\n\n  ${G}✓${X}  1 [chromium] › checkout.spec.ts:12:5 › guest checkout (4.1s)\n  ${R}✘${X}  2 [chromium] › checkout.spec.ts:40:5 › saved card <script>alert(1)</script> (30.0s)\n`);
    push('t-1042', 'stderr', `${R}Error: Timed out 30000ms waiting for expect(locator).toBeVisible()${X}\n    at tests/e2e/checkout.spec.ts:57:38\n`);
    push('t-1042', 'stdout', `\n  ${R}1 failed${X}\n  ${G}17 passed${X} (5.2m)\n`);
    push('t-1042', 'agent', 'exited with code 1 after 312.7 s\n');
    push('t-1043', 'agent', 'starting: pytest tests/ui -n 4 --color=yes -p no:cacheprovider (pid 48213, cwd /var/lib/ats-agent/work/t-1043)\n', now - 95_000);
    push('t-1043', 'stdout', `${B}============================= test session starts ==============================${X}\nplatform linux -- Python 3.11.9, pytest-8.2.0, pluggy-1.5.0\nrootdir: /var/lib/ats-agent/work/t-1043\nplugins: xdist-3.6.1, playwright-0.5.0\n4 workers [400 items]\n\n`);
    for (let i = 0; i < 140; i++) {
      const [s, text] = nextLine();
      push('t-1043', s, text);
    }
    // a progress line written in two chunks, with a carriage return
    push('t-1043', 'stdout', `${C}downloading browsers${X}: 10%\r${C}downloading browsers${X}: 55%`);
    push('t-1043', 'stdout', `\r${C}downloading browsers${X}: 100% done\n`);
  }

  const scopes = ['connection', 'heartbeat', 'tasks', 'runner', 'config'];
  const log: AgentLogEntry[] = [];
  const messages: Array<[AgentLogEntry['level'], string]> = [
    ['info', 'agent 1.0.0 starting (gui, pid 41022)'],
    ['debug', 'loaded settings from /home/qa/.config/ats-agent/config.json'],
    ['info', 'connecting to wss://ats.example.com/ws/agent'],
    ['warn', 'connection lost (1006): reconnecting in 2 s'],
    ['info', 'connected: environment env-staging-42'],
    ['debug', 'heartbeat sent (cpu 41.2%, memory 57.9%)'],
    ['info', 'task t-1041 received: pytest tests/api -q --junitxml=report.xml'],
    ['info', 'task t-1041 finished: success (exit 0, 84.2 s)'],
    ['info', 'task t-1042 received: npx playwright test --project=chromium tests/e2e/checkout.spec.ts'],
    ['error', 'task t-1042 finished: failed (exit 1, 312.7 s)'],
    ['debug', 'workspace cleanup: removed 3 task folders older than 7 days'],
    ['info', 'task t-1043 received: pytest tests/ui -n 4 --color=yes -p no:cacheprovider'],
  ];
  messages.forEach(([level, message], i) => log.push({ at: iso(now - (messages.length - i) * 95_000), level, scope: scopes[i % scopes.length]!, message }));

  const counters: Counters = { tasksReceived: 3, tasksSucceeded: 1, tasksFailed: 1, tasksErrored: 0, tasksTimedOut: 0, tasksCancelled: 0, heartbeatsSent: 1654, reconnects: 1, invalidFrames: 0 };

  let settings: SettingsView = {
    serverUrl: connection.serverUrl,
    workDir: connection.workDir,
    logLevel: 'INFO',
    maxConcurrent: 2,
    keepTasks: 200,
    keepDays: 7,
    notifyOnFailure: opts.mode === 'gui' ? true : null,
    startAtLogin: opts.mode === 'gui' ? false : null,
    tokenStorage: opts.tokenStorage ?? 'keyring',
    editable: opts.editable ?? true,
  };

  const snapshot = (): AgentSnapshot => ({
    agent: { version: '1.0.0', agentId: 'agt-7f3c2a91', mode: opts.mode ?? 'gui', hostname: 'qa-runner-03', pid: 41022, startedAt: iso(now - 3 * 3600_000), runningAsRoot: opts.runningAsRoot ?? false },
    connection: { ...connection },
    system: unconfigured ? null : system(lastM.cpu ?? 0, lastM.memory ?? 0, lastM.disk ?? 0),
    metrics: unconfigured ? [] : metrics.slice(),
    tasks: tasks.map((t) => ({ ...t })),
    counters: { ...counters },
    log: log.slice(),
    lastHeartbeatAt: unconfigured ? null : lastM.at,
    outbox: { frames: 2, bytes: 3481 },
  });

  const delay = <T>(v: T, ms = 20) => new Promise<T>((r) => setTimeout(() => r(structuredClone(v)), ms));
  const timers: Array<ReturnType<typeof setInterval>> = [];

  const api: AgentApi = {
    getSnapshot: () => delay(snapshot()),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener) && undefined;
    },
    getTaskOutput: (taskId) => delay(outputs.get(taskId) ?? []),
    async cancelTask(taskId) {
      const t = tasks.find((x) => x.taskId === taskId);
      if (!t || (t.phase !== 'running' && t.phase !== 'queued')) return { ok: false, message: 'not running' };
      await delay(null, 150);
      const chunk = push(taskId, 'agent', 'cancelled by the user (SIGTERM sent to pid 48213)\n');
      emit({ type: 'task-output', taskId, chunk });
      Object.assign(t, { phase: 'cancelled', finishedAt: iso(Date.now()), duration: (Date.now() - Date.parse(t.startedAt ?? iso(now))) / 1000, signal: 'SIGTERM', exitCode: null });
      emit({ type: 'task', task: { ...t } });
      counters.tasksCancelled++;
      emit({ type: 'counters', counters: { ...counters } });
      return { ok: true };
    },
    getSettings: () => delay(settings),
    async updateSettings(patch) {
      await delay(null, 400);
      if (patch.token !== undefined && patch.token.startsWith('bad')) {
        return { ok: false, message: `${patch.serverUrl ?? settings.serverUrl} refused the token (HTTP 401 Unauthorized)` };
      }
      if (patch.serverUrl !== undefined && !/^wss?:\/\//.test(patch.serverUrl)) return { ok: false, message: 'the server URL must start with ws:// or wss://' };
      settings = { ...settings, ...Object.fromEntries(Object.entries(patch).filter(([k]) => k !== 'token')) } as SettingsView;
      if (connection.phase === 'unconfigured') {
        connection = { ...connection, phase: 'online', serverUrl: settings.serverUrl, workDir: settings.workDir, environmentId: 'env-staging-42', connectedSince: iso(Date.now()) };
        emit({ type: 'reset' });
      }
      return { ok: true };
    },
    openPath: () => delay({ ok: true }),
  };

  const handle: FakeHandle = {
    emit,
    bulkTask(lines) {
      const id = `t-bulk-${lines}`;
      tasks.push(task(id, `generate-report --lines ${lines}`, 'success', 60, 59.1, 0));
      const per = 1000;
      for (let i = 0; i < lines; i += per) {
        let text = '';
        for (let j = i; j < Math.min(lines, i + per); j++) {
          text += j % 10 === 9 ? `${R}line ${j + 1}${X} something failed here: code=${j}\n` : `${D}${String(j + 1).padStart(6, '0')}${X} ${G}ok${X} step ${j} of ${lines} — payload=${'x'.repeat(j % 40)}\n`;
        }
        push(id, i % 7000 === 0 ? 'stderr' : 'stdout', text);
      }
      emit({ type: 'task', task: { ...tasks[tasks.length - 1]! } });
      return id;
    },
    stream(taskId, lines, perChunk = 50) {
      for (let i = 0; i < lines; i += perChunk) {
        let text = '';
        for (let j = 0; j < perChunk; j++) text += `${G}stream${X} line ${i + j} ${'y'.repeat((i + j) % 30)}\n`;
        emit({ type: 'task-output', taskId, chunk: push(taskId, 'stdout', text) });
      }
    },
    setPhase(phase, extra) {
      connection = { ...connection, phase, ...extra };
      emit({ type: 'connection', connection: { ...connection } });
    },
    stopLive() {
      for (const t of timers) clearInterval(t);
    },
  };

  if (opts.live && !unconfigured) {
    let i = 120;
    timers.push(
      setInterval(() => {
        const p = point(Date.now(), i++);
        metrics.push(p);
        metrics.shift();
        counters.heartbeatsSent++;
        emit({ type: 'metrics', point: p, system: system(p.cpu ?? 0, p.memory ?? 0, p.disk ?? 0), at: p.at });
      }, 5000),
    );
    timers.push(
      setInterval(() => {
        const t = tasks.find((x) => x.taskId === 't-1043');
        if (!t || t.phase !== 'running') return;
        const [s, text] = nextLine();
        emit({ type: 'task-output', taskId: 't-1043', chunk: push('t-1043', s, text) });
      }, 250),
    );
  }

  window.atsAgent = api;
  window.__fake = handle;
})();
