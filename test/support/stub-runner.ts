import {isDeepStrictEqual} from 'node:util'

import {commandLine, type RunOptions, type RunResult, type Runner} from '../../src/system/runner.js'

interface Expectation {
  argv: string[]
  options: RunOptions
  result: Omit<RunResult, 'argv'>
}

/** Every stub made during the current test; the root hook below verifies them after it. */
const live = new Set<StubRunner>()

/**
 * A runner that answers only the calls it was told to expect, in order: the same argv (compared as
 * arrays, so an argument with a space is not two) and the same options (timeout, input). Any other
 * call fails at once and again after the test (code under test may swallow the first failure), and
 * an expected call that never came fails the test: the root hook (`mochaHooks`, loaded by
 * .mocharc.cjs) verifies every stub after every test, as gh's run.Stub does.
 */
export class StubRunner implements Runner {
  private expected: Expectation[] = []
  private unexpected: string[] = []

  constructor() {
    live.add(this)
  }

  /** Expects `argv` run with exactly `options` (none by default), answering `result` (exit 0 by default). */
  expect(argv: string[], result: Partial<Omit<RunResult, 'argv'>>, options: RunOptions = {}): this {
    this.expected.push({argv, options, result: {exitCode: 0, stdout: '', stderr: '', ...result}})
    return this
  }

  async run(argv: string[], options: RunOptions = {}): Promise<RunResult> {
    const next = this.expected[0]
    const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined))
    if (!next || !isDeepStrictEqual(next.argv, argv) || !isDeepStrictEqual(next.options, given)) {
      const problem = `unexpected call: ${describe(argv, given)}${next ? ` (expected: ${describe(next.argv, next.options)})` : ' (no more calls expected)'}`
      this.unexpected.push(problem)
      throw new Error(problem)
    }

    this.expected.shift()
    return {argv, ...next.result}
  }

  /** Throws when a call came that was not expected, or an expected one never came. */
  verify(): void {
    live.delete(this)
    const problems = [...this.unexpected, ...this.expected.map((call) => `expected call never came: ${describe(call.argv, call.options)}`)]
    this.unexpected = []
    this.expected = []
    if (problems.length > 0) throw new Error(`stub runner:\n  ${problems.join('\n  ')}`)
  }
}

function describe(argv: string[], options: RunOptions): string {
  return `${JSON.stringify(argv)} = ${commandLine(argv)}${Object.keys(options).length > 0 ? ` with ${JSON.stringify(options)}` : ''}`
}

/** Mocha root hooks: after every test, every stub runner made in it must have seen exactly its calls. */
export const mochaHooks = {
  afterEach(this: Mocha.Context): void {
    const stubs = [...live]
    live.clear()
    // A test that failed already said what went wrong; a second failure here would only repeat it.
    if (this.currentTest?.state === 'failed') return
    const problems: string[] = []
    for (const stub of stubs) {
      try {
        stub.verify()
      } catch (error) {
        problems.push((error as Error).message)
      }
    }

    if (problems.length > 0) throw new Error(problems.join('\n'))
  },
}
