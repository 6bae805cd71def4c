/**
 * The --inspect trace: xstate's inspection events as JSON Lines — one line per actor start, event received and
 * snapshot — with the time, the peer, the machine's state path, the event, and for dial steps the address, the
 * path (direct/relay/dcutr/http) and the error. Only created when --inspect is given, so it costs nothing off.
 */
import { createWriteStream, type WriteStream } from 'node:fs'
import type { InspectionEvent } from 'xstate'

export interface TraceRecord {
  ts: string
  kind: 'actor' | 'event' | 'snapshot'
  /** The actor's id: 'root', or 'peer:<key>' for peer machines. */
  actor: string
  /** The PeerId / peer key for peer machines. */
  peer?: string
  /** Dotted state paths, e.g. ["connected.sync.pulling", "connected.upgrade.watching"]. */
  state?: string[]
  event?: string
  /** Who sent the event (actor id), when known. */
  source?: string
  path?: string
  addr?: string
  attempt?: number
  error?: string
  status?: string
}

/** Flattens an xstate state value into dotted leaf paths. */
export function statePaths (value: unknown, prefix = ''): string[] {
  if (typeof value === 'string') return [prefix === '' ? value : `${prefix}.${value}`]
  if (value == null || typeof value !== 'object') return prefix === '' ? [] : [prefix]
  const entries = Object.entries(value as Record<string, unknown>)
  if (entries.length === 0) return prefix === '' ? [] : [prefix]
  return entries.flatMap(([key, child]) => statePaths(child, prefix === '' ? key : `${prefix}.${key}`))
}

interface ActorLike { id?: string, sessionId?: string }
interface PeerContextLike {
  target?: { key?: string, peerId?: string, addrs?: string[] }
  link?: { path?: string, addr?: string }
  error?: { message?: string, step?: string }
  dialAttempt?: number
}

function actorId (ref: unknown): string {
  const actor = ref as ActorLike | undefined
  return actor?.id ?? actor?.sessionId ?? 'unknown'
}

/** Turns one inspection event into a trace record, or undefined for kinds the trace leaves out. */
export function toTraceRecord (event: InspectionEvent, now: Date = new Date()): TraceRecord | undefined {
  const actor = actorId(event.actorRef)
  const peer = actor.startsWith('peer:') ? actor.slice('peer:'.length) : undefined
  const base = { ts: now.toISOString(), actor, ...(peer != null ? { peer } : {}) }
  switch (event.type) {
    case '@xstate.actor':
      return { ...base, kind: 'actor' }
    case '@xstate.event': {
      const source = event.sourceRef != null ? actorId(event.sourceRef) : undefined
      const record: TraceRecord = { ...base, kind: 'event', event: event.event.type, ...(source != null ? { source } : {}) }
      const err = (event.event as { error?: unknown }).error
      if (err != null) record.error = err instanceof Error ? err.message : typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string' ? (err as { message: string }).message : String(err)
      return record
    }
    case '@xstate.snapshot': {
      const snapshot = event.snapshot as { value?: unknown, status?: string, context?: unknown }
      const record: TraceRecord = { ...base, kind: 'snapshot', state: statePaths(snapshot.value), event: event.event.type, ...(snapshot.status != null ? { status: snapshot.status } : {}) }
      const context = snapshot.context as PeerContextLike | undefined
      if (peer != null && context != null) {
        const states = record.state ?? []
        const dialing = states.find((s) => s.startsWith('dialingDirect') || s.startsWith('dialingRelay'))
        if (dialing != null) {
          record.path = dialing.startsWith('dialingDirect') ? 'direct' : 'relay'
          if (context.dialAttempt != null) record.attempt = context.dialAttempt
          const addrs = record.path === 'direct' ? context.target?.addrs?.join(',') : undefined
          if (addrs != null) record.addr = addrs
        } else if (context.link?.path != null) {
          record.path = context.link.path
          if (context.link.addr != null) record.addr = context.link.addr
        }
        if (context.error?.message != null) record.error = `${context.error.step ?? ''}: ${context.error.message}`
      }
      return record
    }
    default:
      return undefined
  }
}

export interface InspectSink {
  observe: (event: InspectionEvent) => void
  close: () => Promise<void>
}

/** Writes the trace to FILE, or to stderr for '-' / ''. */
export function inspectSink (target: string): InspectSink {
  const toStderr = target === '' || target === '-'
  const stream: WriteStream | NodeJS.WriteStream = toStderr ? process.stderr : createWriteStream(target, { flags: 'a' })
  return {
    observe: (event) => {
      const record = toTraceRecord(event)
      if (record != null) stream.write(`${JSON.stringify(record)}\n`)
    },
    close: async () => {
      if (toStderr) return
      await new Promise<void>((resolve) => (stream as WriteStream).end(resolve))
    }
  }
}
