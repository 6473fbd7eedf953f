import type {Step} from '../runbook/engine.js'
import type {Deps} from '../system/deps.js'
import {nodeAdapter, type NodeSettings} from './adapter.js'

/** What a runbook that stops and starts the node keeps in its context (and journal). */
export interface NodeRunContext {
  node: NodeSettings
  /** Whether the node ran when the run was planned: a node that was down stays down. */
  nodeWasRunning: boolean
  stopTimeoutSeconds: number
  startTimeoutSeconds: number
  stoppedAt?: number
  startedAt?: number
}

type Report = (message: string) => void

export interface NodeStepOptions<C> {
  /** What to say when the node does not stop: the state the run leaves things in. */
  stopFailed?: string
  /** After the stop (also when it was not running): read what the node last wrote. */
  afterStop?(context: C, report: Report): Promise<void>
  /** The `stop` step's undo: its title, and what must hold before the node may start on abort. */
  undoTitle: string
  beforeUndoStart(context: C): Promise<void>
}

/**
 * The node's stop and start, shared by every runbook that takes the node down (replace-disk, heal):
 * `stop` waits until the process has exited and records when; its undo and `start` bring the node
 * back only if it ran before, and record when it answers again.
 */
export function nodeSteps<C extends NodeRunContext>(deps: Deps, context: C, options: NodeStepOptions<C>): {stop: Step<C>; start: Step<C>} {
  const node = nodeAdapter(deps, context.node)
  const startNode = async (ctx: C, report: Report) => {
    if (!ctx.nodeWasRunning) return report('the node was not running before: left stopped')
    await node.start()
    const info = await node.waitUntilAnswering(ctx.startTimeoutSeconds * 1000)
    ctx.startedAt ??= deps.now()
    report(`node ${info.alias ?? info.id} answers at block ${info.blockheight}`)
  }

  return {
    stop: {
      id: 'stop',
      title: 'Stop the node and wait until its process has exited',
      commands: node.stopCommands,
      async run(ctx, report, {firstStartedAt}) {
        if (await node.isRunning()) {
          try {
            await node.stop(ctx.stopTimeoutSeconds * 1000)
          } catch (error) {
            throw new Error(options.stopFailed ? `${(error as Error).message}; ${options.stopFailed}` : (error as Error).message)
          }

          ctx.stoppedAt ??= deps.now()
        } else if (ctx.nodeWasRunning) {
          // An earlier run of this step asked the node to stop and was killed before it recorded the
          // time: the node has been down since then at the most.
          ctx.stoppedAt ??= firstStartedAt
        } else {
          report('the node is not running')
        }

        await options.afterStop?.(ctx, report)
      },
      undo: {
        title: options.undoTitle,
        commands: node.startCommands,
        async run(ctx, report) {
          await options.beforeUndoStart(ctx)
          await startNode(ctx, report)
        },
      },
    },
    start: {
      id: 'start',
      title: 'Start the node and wait until it answers getinfo',
      commands: node.startCommands,
      run: startNode,
    },
  }
}

/** Seconds the node was down, once it is back; null while it is down or when lnstore did not stop it. */
export function downtimeSeconds(context: NodeRunContext): number | null {
  return context.stoppedAt !== undefined && context.startedAt !== undefined ? (context.startedAt - context.stoppedAt) / 1000 : null
}
