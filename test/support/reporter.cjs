// mocha's spec reporter, plus the plain closing line CI reads: "N passed, N failed, N skipped".
// With LNSTORE_TEST_RESULT_LINES=1 (the VM tier) it also prints one machine-readable line per test,
// `LNSTORE-RESULT {"state":...,"path":[...],"ms":...,"error":...}`, from which test/vm/summary.mjs builds the
// table of behaviours × OpenZFS versions (the VM's console is the only channel out).
const Mocha = require('mocha')

const {EVENT_RUN_END, EVENT_TEST_FAIL, EVENT_TEST_PASS, EVENT_TEST_PENDING} = Mocha.Runner.constants

class SpecWithSummary extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options)
    if (process.env.LNSTORE_TEST_RESULT_LINES === '1') {
      const line = (state, test, error) =>
        console.log(`LNSTORE-RESULT ${JSON.stringify({state, path: test.titlePath(), ms: test.duration ?? 0, ...(error && {error: String(error.message).replaceAll(/\s+/g, ' ').slice(0, 400)})})}`)
      runner.on(EVENT_TEST_PASS, (test) => line('passed', test))
      runner.on(EVENT_TEST_PENDING, (test) => line('skipped', test))
      // A failed hook is reported as a failure of the hook: the tests it guards did not run.
      runner.on(EVENT_TEST_FAIL, (test, error) => line('failed', test, error))
    }

    runner.once(EVENT_RUN_END, () => {
      const {passes, failures, pending} = runner.stats
      console.log(`${passes} passed, ${failures} failed, ${pending} skipped`)
    })
  }
}

module.exports = SpecWithSummary
