/**
 * TEST-ONLY switch: with ATS_AGENT_TEST_CRASH_AT=<point> in its environment the agent dies of an
 * uncaught exception at that point, so that a test can prove the crash policy and the recovery on
 * restart at a chosen moment. Points: `after-journal-write` (a task's result is in the journal and
 * never reaches the outbox). True when the caller must stop there: the crash comes once `after`
 * has settled.
 */
export function crashHereForTests(point: 'after-journal-write', after: Promise<unknown>): boolean {
  if (process.env.ATS_AGENT_TEST_CRASH_AT !== point) return false;
  const crash = () =>
    process.nextTick(() => {
      throw new Error(`test crash at ${point} (ATS_AGENT_TEST_CRASH_AT)`);
    });
  after.then(crash, crash);
  return true;
}
