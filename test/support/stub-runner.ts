import type {RunResult, Runner} from '../../src/system/runner.js'

/**
 * A runner that answers only the command lines it was told to expect, in order, and complains about
 * any other call and, through `verify()`, about any expected call that never came.
 */
export class StubRunner implements Runner {
  private expected: {argv: string[]; result: Omit<RunResult, 'argv'>}[] = []

  expect(argv: string[], result: Partial<Omit<RunResult, 'argv'>>): this {
    this.expected.push({argv, result: {exitCode: 0, stdout: '', stderr: '', ...result}})
    return this
  }

  async run(argv: string[]): Promise<RunResult> {
    const next = this.expected.shift()
    if (!next || next.argv.join(' ') !== argv.join(' ')) {
      throw new Error(`unexpected command: ${argv.join(' ')}${next ? ` (expected: ${next.argv.join(' ')})` : ''}`)
    }

    return {argv, ...next.result}
  }

  verify(): void {
    if (this.expected.length > 0) throw new Error(`expected commands never ran: ${this.expected.map((call) => call.argv.join(' ')).join('; ')}`)
  }
}
