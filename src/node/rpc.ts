import {connect} from 'node:net'

/**
 * Core Lightning's JSON-RPC 2.0 over its unix socket (`<dataDir>/<network>/lightning-rpc`), spoken
 * directly: lightning-cli may not be installed where lnstore runs (a container's node, another user).
 */

export class RpcError extends Error {
  constructor(
    message: string,
    readonly code?: number | string,
  ) {
    super(message)
    this.name = 'RpcError'
  }
}

/** Calls `method` and returns its result; an error answer, a refused connection or no answer within `timeoutMs` throws RpcError. */
export function rpcCall<T>(socketPath: string, method: string, params: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const socket = connect(socketPath)
    let buffer = ''
    const fail = (error: RpcError) => {
      socket.destroy()
      reject(error)
    }

    socket.setTimeout(timeoutMs, () => fail(new RpcError(`${method}: no answer from ${socketPath} within ${timeoutMs / 1000} s`, 'timeout')))
    socket.on('error', (error: NodeJS.ErrnoException) => fail(new RpcError(`${method}: cannot talk to ${socketPath}: ${error.code ?? error.message}`, error.code)))
    socket.on('connect', () => socket.write(JSON.stringify({jsonrpc: '2.0', id: `lnstore-${method}`, method, params})))
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8')
      // lightningd sends one JSON object per answer, with no length prefix: done once it parses.
      let answer: {result?: T; error?: {code?: number; message?: string}}
      try {
        answer = JSON.parse(buffer)
      } catch {
        return
      }

      socket.end()
      if (answer.error) reject(new RpcError(`${method}: ${answer.error.message ?? 'error'}`, answer.error.code))
      else resolve(answer.result as T)
    })
    socket.on('end', () => fail(new RpcError(`${method}: ${socketPath} closed the connection without an answer`, 'closed')))
  })
}
