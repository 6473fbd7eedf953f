// mocha's settings. The per-test timeout is derived from the tests' wait deadline (see
// test/support/deadlines.cjs): a backstop that a busy machine does not reach before a wait reports.
const {TEST_TIMEOUT_MS} = require('./test/support/deadlines.cjs')

module.exports = {
  'node-option': ['import=tsx'],
  timeout: TEST_TIMEOUT_MS,
  reporter: './test/support/reporter.cjs',
  recursive: true,
  require: ['./test/support/temp-root.ts', './test/support/stub-runner.ts'],
}
