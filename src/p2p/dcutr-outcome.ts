/**
 * DCUtR's real outcome, on both sides. @libp2p/dcutr emits no events and swallows its final failure (it logs each
 * attempt's error under `libp2p:dcutr`), so the service is built with three things of ours in its components:
 * - its logger, which keeps every error it logs (its own words: "error while attempting DCUtR on attempt 3 of 3 - …");
 * - its connection manager's `openConnection`, which keeps the direct connection its dial made;
 * - an AsyncLocalStorage context around each upgrade, so both belong to the peer being upgraded.
 * The side that received the relayed connection runs `upgradeInbound` (one outcome after all its attempts); the side
 * that dialed through the relay runs `handleIncomingUpgrade` once per attempt the other side starts (one outcome
 * each). A direct connection the other side opened by itself (DCUtR's "unilateral upgrade") while we hold a relayed
 * one counts as upgraded too.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { dcutr, type DCUtRServiceComponents, type DCUtRServiceInit } from '@libp2p/dcutr'
import type { Connection, Logger, Stream } from '@libp2p/interface'

export interface DcutrOutcome {
  /** The other peer's id. */
  peer: string
  ok: boolean
  /** The direct connection (ok only). */
  connection?: Connection
  /** DCUtR's own reason (failures only). */
  error?: string
  /**
   * Whether another attempt could end differently (failures only): not when the peers had no public address to
   * offer each other (DCUtR's InvalidMessageError), since every attempt sends the same ones.
   */
  retryable?: boolean
  /** Which half of DCUtR ran here: 'upgrader' received the relayed connection and drives it; 'dialer' answered. */
  role: 'upgrader' | 'dialer' | 'unilateral'
}

/** The log line for an outcome, as the spec fixes it. */
export function outcomeLine (outcome: DcutrOutcome): string {
  return outcome.ok
    ? `dcutr: upgraded to direct: peer=${outcome.peer} connection_id=${outcome.connection?.id ?? 'unknown'}`
    : `dcutr: upgrade failed: peer=${outcome.peer} error=${outcome.error ?? 'unknown'}`
}

/** Where outcomes go: every listener hears every outcome of this node. */
export class DcutrOutcomes {
  readonly #listeners = new Set<(outcome: DcutrOutcome) => void>()
  /** Peers with an upgrade running here (their direct connection is DCUtR's own, not a unilateral one). */
  readonly running = new Set<string>()
  /**
   * Peers DCUtR is dialing for a hole punch right now, and whether we are the connection's initiator: the transport
   * dials them from the listen port, and passes the role on (see observedDcutr).
   */
  readonly punching = new Map<string, { initiator: boolean }>()

  on (listener: (outcome: DcutrOutcome) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  emit (outcome: DcutrOutcome): void {
    for (const listener of this.#listeners) {
      try { listener(outcome) } catch {}
    }
  }
}

interface Attempt {
  peer: string
  errors: string[]
  /** The error was DCUtR's protocol refusal (no usable addresses), not a failed dial. */
  refused?: boolean
  connection?: Connection
}

/** @libp2p/dcutr dials the hole punch itself with this priority (its DCUTR_DIAL_PRIORITY); its unilateral dial has none. */
const punchDialPriority = 100

const attempts = new AsyncLocalStorage<Attempt>()

/** The DCUtR service internals we wrap (instance properties: bound in its constructor / called as this.x). */
interface DcutrInternals {
  upgradeInbound: (relayed: Connection) => Promise<void>
  handleIncomingUpgrade: (stream: Stream, relayed: Connection) => Promise<void>
}

/** `dcutr(init)` whose outcomes go to `outcomes`. */
export function observedDcutr (outcomes: DcutrOutcomes, init: DCUtRServiceInit = {}): (components: DCUtRServiceComponents) => unknown {
  return (components) => {
    const { connectionManager, logger } = components
    const scoped: DCUtRServiceComponents = Object.create(components, {
      logger: { value: { forComponent: (name: string) => keepingErrors(logger.forComponent(name)) } },
      connectionManager: {
        value: {
          openConnection: async (...args: Parameters<typeof connectionManager.openConnection>) => {
            const attempt = attempts.getStore()
            const punch = attempt != null && args[1]?.priority === punchDialPriority
            // DCUtR makes the side that received the relayed connection the responder of the simultaneous open
            // (`initiator: false`), but libp2p's dial queue drops that option before the transport: both sides were
            // Noise initiators and the punched connection died in the handshake ("handshake stage 1 validation
            // fail: message is not long enough"). The transport applies it from here.
            if (punch) outcomes.punching.set(attempt.peer, { initiator: args[1]?.initiator !== false })
            try {
              const connection = await connectionManager.openConnection(...args)
              if (attempt != null) attempt.connection = connection
              return connection
            } finally {
              if (punch) outcomes.punching.delete(attempt.peer)
            }
          }
        }
      }
    })
    const service = dcutr(init)(scoped)
    const internals = service as DcutrInternals
    const upgradeInbound = internals.upgradeInbound.bind(service)
    const handleIncomingUpgrade = internals.handleIncomingUpgrade
    internals.upgradeInbound = async (relayed) => {
      const peer = relayed.remotePeer.toString()
      const attempt: Attempt = { peer, errors: [] }
      outcomes.running.add(peer)
      try {
        await attempts.run(attempt, async () => { await upgradeInbound(relayed) })
      } catch (err) {
        attempt.errors.push(describe(err))
      } finally {
        outcomes.running.delete(peer)
      }
      outcomes.emit(outcomeOf(peer, attempt, 'upgrader'))
    }
    internals.handleIncomingUpgrade = async (stream, relayed) => {
      const peer = relayed.remotePeer.toString()
      const attempt: Attempt = { peer, errors: [] }
      outcomes.running.add(peer)
      try {
        await attempts.run(attempt, async () => { await handleIncomingUpgrade(stream, relayed) })
      } catch (err) {
        attempt.errors.push(describe(err))
        attempt.refused = (err as { name?: unknown }).name === 'InvalidMessageError'
        throw err
      } finally {
        outcomes.running.delete(peer)
        outcomes.emit(outcomeOf(peer, attempt, 'dialer'))
      }
    }
    return service
  }
}

function outcomeOf (peer: string, attempt: Attempt, role: DcutrOutcome['role']): DcutrOutcome {
  const connection = attempt.connection
  if (connection != null && connection.status === 'open' && !relayed(connection)) return { peer, ok: true, connection, role }
  const error = attempt.errors.at(-1) ?? (connection != null ? `the direct connection ${connection.id} closed at once` : 'DCUtR ended without a direct connection or an error')
  return { peer, ok: false, error, role, retryable: attempt.refused !== true }
}

export function relayed (connection: Connection): boolean {
  return connection.remoteAddr.getComponents().some((c) => c.name === 'p2p-circuit')
}

/** A logger that also keeps, in the current attempt, every error line it is given (formatted like debug would). */
function keepingErrors (base: Logger): Logger {
  const log = ((formatter: unknown, ...args: unknown[]) => { base(formatter, ...args) }) as Logger
  Object.assign(log, {
    enabled: base.enabled,
    trace: base.trace.bind(base),
    newScope: base.newScope.bind(base),
    error: (formatter: unknown, ...args: unknown[]) => {
      attempts.getStore()?.errors.push(format(formatter, args))
      base.error(formatter, ...args)
    }
  })
  return log
}

/** printf-like formatting of libp2p's debug placeholders: %s %d %o %p (peer) %a (multiaddr) %e (error). */
export function format (formatter: unknown, args: unknown[]): string {
  if (typeof formatter !== 'string') return describe(formatter)
  let i = 0
  return formatter.replace(/%[sdoOpaecbt%]/g, (token) => {
    if (token === '%%') return '%'
    const arg = args[i++]
    if (token === '%e') return describe(arg)
    if (Array.isArray(arg)) return arg.map(String).join(', ')
    if (token === '%o' || token === '%O') return typeof arg === 'object' ? safeJson(arg) : String(arg)
    return String(arg)
  }).replace(/\s+/g, ' ').trim()
}

/** An error's name and message, with the errors inside an AggregateError and a cause. */
export function describe (err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const inner = (err as { errors?: unknown }).errors
  const nested = Array.isArray(inner) && inner.length > 0 ? ` (${inner.map(describe).join('; ')})` : ''
  const cause = (err as { cause?: unknown }).cause
  const because = cause instanceof Error && nested === '' ? ` (cause: ${describe(cause)})` : ''
  const name = err.name !== 'Error' ? `${err.name}: ` : ''
  return `${name}${err.message}${nested}${because}`.replace(/\s+/g, ' ').trim()
}

function safeJson (value: unknown): string {
  try { return JSON.stringify(value) } catch { return String(value) }
}
