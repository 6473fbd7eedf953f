/**
 * Stands in for `@oclif/core/flags` in the fast entry's bundle (see src/cli/fast.ts): a flag
 * definition is kept as written, so the fast parser can read what the manifest leaves out (a
 * boolean's default). Only string and boolean flags are parsed fast; a flag of any other kind
 * (integer, option, help ...) is marked so, and when one is given oclif parses the command line.
 */
export interface LiteFlag {
  type: 'boolean' | 'option'
  default?: unknown
  /** false: the fast parser does not parse this flag's kind and hands the command line to oclif. */
  fast: boolean
  [option: string]: unknown
}

type Options = Record<string, unknown>

export const string = (options: Options = {}): LiteFlag => ({...options, type: 'option', fast: true})
export const boolean = (options: Options = {}): LiteFlag => ({...options, type: 'boolean', fast: true})

const other =
  (type: LiteFlag['type']) =>
  (options: Options = {}): LiteFlag => ({...options, type, fast: false})
export const integer = other('option')
export const option = (options: Options = {}) => () => other('option')(options)
export const custom = (options: Options = {}) => (more: Options = {}) => other('option')({...options, ...more})
export const directory = other('option')
export const file = other('option')
export const url = other('option')
export const help = other('boolean')
export const version = other('boolean')
