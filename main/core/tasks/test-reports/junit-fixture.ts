/** A JUnit file of `cases` test cases, every `failEvery`-th failing (0: none): for tests and the bench. */
export function junitFile(cases: number, failEvery: number): string {
  const parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n<testsuite name="generated">\n'];
  for (let i = 0; i < cases; i++) {
    const failing = failEvery > 0 && i % failEvery === 0;
    parts.push(
      failing
        ? `<testcase classname="suite.Case${i % 97}" name="case ${i}" time="0.001"><failure message="expected ${i} to be ${i + 1}" type="AssertionError">at Object.&lt;anonymous&gt; (test/case${i}.test.js:12:5)\n  at run (runner.js:40:3)</failure><system-out>log line ${i}</system-out></testcase>\n`
        : `<testcase classname="suite.Case${i % 97}" name="case ${i}" time="0.001"/>\n`,
    );
  }
  parts.push('</testsuite>\n</testsuites>\n');
  return parts.join('');
}
