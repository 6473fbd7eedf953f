// The test tier's two deadlines, in one place: read by .mocharc.cjs (mocha's per-test timeout) and by
// test/support/wait.ts (every wait for a condition). CommonJS because mocha reads its config before
// tsx is loaded.
//
// A wait gives up after WAIT_DEADLINE_MS and fails naming what it awaited and what it last saw: 90 s,
// far beyond what an idle machine needs (LNSTORE_TEST_WAIT_SECONDS raises it where everything is
// slower, the VM tier under software emulation).
//
// mocha's timeout is only the backstop behind those waits, never the way a slow test should fail: a
// test goes through several phases one after another (a pool and a node set up, one or more lnstore
// runs, the node's writes checked), and on a busy machine each takes several times what it takes on
// an idle one (replace-disk killed during the resilver: 20-35 s idle, 101 s beside two `yes` and two
// VMs at load 13-20, where mocha's fixed 120 s then failed it). So the backstop is a number of wait
// deadlines, and the one knob scales both.
const WAIT_DEADLINE_MS = Number(process.env.LNSTORE_TEST_WAIT_SECONDS ?? 90) * 1000
const PHASES_PER_TEST = 4
const TEST_TIMEOUT_MS = PHASES_PER_TEST * WAIT_DEADLINE_MS

module.exports = {WAIT_DEADLINE_MS, TEST_TIMEOUT_MS}
