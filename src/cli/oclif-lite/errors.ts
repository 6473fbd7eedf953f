import {createRequire} from 'node:module'

/**
 * Stands in for `@oclif/core/errors` in the fast entry's bundle: the real module (and the help
 * system it pulls in, ~50 ms) is loaded only when an error actually happens, and then it is the
 * real one, so errors look exactly as oclif prints them.
 */
type Errors = typeof import('@oclif/core/errors')

const require = createRequire(import.meta.url)
let loaded: Errors | undefined
export const real = (): Errors => (loaded ??= require('@oclif/core/errors') as Errors)

/** Constructs the real CLIError; `instanceof` asks the real class. */
export const CLIError = function CLIError(...args: ConstructorParameters<Errors['CLIError']>) {
  return new (real().CLIError)(...args)
} as unknown as Errors['CLIError']
Object.defineProperty(CLIError, Symbol.hasInstance, {value: (value: unknown) => value instanceof real().CLIError})

/** `instanceof ExitError` asks the real class (help shown with -h ends in one; the fast entry never throws it). */
export const ExitError = function ExitError(...args: ConstructorParameters<Errors['ExitError']>) {
  return new (real().ExitError)(...args)
} as unknown as Errors['ExitError']
Object.defineProperty(ExitError, Symbol.hasInstance, {value: (value: unknown) => value instanceof real().ExitError})

export const error: Errors['error'] = ((input: string | Error, options?: object) => real().error(input, options as never)) as Errors['error']
export const warn: Errors['warn'] = (input) => real().warn(input)
export const exit: Errors['exit'] = (code) => real().exit(code)
