/**
 * The --inspect trace format: xstate's inspection events turned into flat JSON records — actor lifecycle, every
 * event received, every transition taken (xstate microsteps, so eventless steps such as
 * `dialingDirect.failedAttempt → backoff` show too) and every settled snapshot — with the time, the peer the
 * actor works for, the machine's state paths, the event, and for dial steps the address, the path
 * (direct/relay/dcutr/http), the attempt and the error. Pure: no I/O.
 */
import type { InspectionEvent } from 'xstate'

export interface TraceRecord {
  ts: string
  /**
   * actor: an actor was created; event: an actor received an event; transition: a machine took transitions
   * (one microstep); snapshot: an actor settled (status active/done/error/stopped).
   */
  kind: 'actor' | 'event' | 'transition' | 'snapshot'
  /** The actor's id: 'root', 'peer:<key>' for peer machines, or the id xstate gave an invoked actor. */
  actor: string
  /** The peer this actor works for: the peer machine's key (its PeerId when known), also on its invoked children. */
  peer?: string
  /** The parent actor's id (invoked and spawned actors). */
  parent?: string
  /** The logic an actor runs, when invoked by name ('dialDirect', 'pullLoop', 'peer', …). */
  src?: string
  /** Dotted state paths after the step, e.g. ["connected.sync.pulling", "connected.upgrade.watching"]. */
  state?: string[]
  /** transition: the states the transitions left, and the ones they entered. */
  from?: string[]
  to?: string[]
  event?: string
  /** Who sent the event (actor id), when known. */
  source?: string
  /** Dial path: direct, relay, dcutr (upgraded) or http. */
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

interface ActorLike { id?: string, sessionId?: string, src?: unknown, _parent?: ActorLike }
interface PeerContextLike {
  target?: { key?: string, peerId?: string, addrs?: string[], relayAddr?: string }
  link?: { path?: string, addr?: string }
  error?: { message?: string, step?: string }
  dialAttempt?: number
}
interface TransitionLike { source?: { id?: string }, target?: ReadonlyArray<{ id?: string }> | undefined }

function actorId (ref: unknown): string {
  const actor = ref as ActorLike | undefined
  return actor?.id ?? actor?.sessionId ?? 'unknown'
}

const peerPrefix = 'peer:'

/** The peer key of the nearest peer machine at or above this actor. */
function peerOf (ref: unknown): string | undefined {
  for (let actor = ref as ActorLike | undefined, depth = 0; actor != null && depth < 16; actor = actor._parent, depth++) {
    const id = actor.id
    if (id?.startsWith(peerPrefix) === true) return id.slice(peerPrefix.length)
  }
  return undefined
}

/** A state node id ('peer.dialingDirect.attempting') without the machine id. */
function stateOf (id: string | undefined): string {
  if (id == null) return '?'
  const dot = id.indexOf('.')
  return dot < 0 ? '(machine)' : id.slice(dot + 1)
}

function errorText (err: unknown): string {
  if (err instanceof Error) return err.message
  if (err != null && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') return (err as { message: string }).message
  return String(err)
}

/** Adds what a peer machine's context says about the dial step it is on. */
function addDialDetails (record: TraceRecord, context: PeerContextLike): void {
  const states = record.state ?? []
  const dialing = states.find((s) => s.startsWith('dialingDirect') || s.startsWith('dialingRelay'))
  if (dialing != null) {
    record.path = dialing.startsWith('dialingDirect') ? 'direct' : 'relay'
    if (context.dialAttempt != null) record.attempt = context.dialAttempt
    const target = context.target
    const addr = record.path === 'direct'
      ? target?.addrs?.join(',')
      : target?.relayAddr != null ? `${target.relayAddr}/p2p-circuit/p2p/${target.peerId ?? target.key ?? ''}` : undefined
    if (addr != null && addr !== '') record.addr = addr
  } else if (context.link?.path != null) {
    record.path = context.link.path
    if (context.link.addr != null) record.addr = context.link.addr
  }
  if (context.error?.message != null) record.error = `${context.error.step ?? ''}: ${context.error.message}`
}

/** Turns one inspection event into a trace record, or undefined for kinds the trace leaves out (actions). */
export function toTraceRecord (event: InspectionEvent, now: Date = new Date()): TraceRecord | undefined {
  const ref = event.actorRef as ActorLike
  const actor = actorId(ref)
  const peer = peerOf(ref)
  const base: TraceRecord = { ts: now.toISOString(), kind: 'actor', actor, ...(peer != null ? { peer } : {}) }
  switch (event.type) {
    case '@xstate.actor': {
      const record: TraceRecord = { ...base, kind: 'actor' }
      if (ref._parent != null) record.parent = actorId(ref._parent)
      if (typeof ref.src === 'string') record.src = ref.src
      return record
    }
    case '@xstate.event': {
      const source = event.sourceRef != null ? actorId(event.sourceRef) : undefined
      const record: TraceRecord = { ...base, kind: 'event', event: event.event.type, ...(source != null ? { source } : {}) }
      const err = (event.event as { error?: unknown }).error
      if (err != null) record.error = errorText(err)
      return record
    }
    case '@xstate.microstep': {
      // Targetless transitions only run actions (progress counters); the event record already shows them.
      const transitions = ((event._transitions ?? []) as TransitionLike[]).filter((t) => (t.target ?? []).length > 0)
      if (transitions.length === 0) return undefined
      const snapshot = event.snapshot as { value?: unknown, context?: unknown }
      const record: TraceRecord = {
        ...base,
        kind: 'transition',
        event: event.event.type,
        from: [...new Set(transitions.map((t) => stateOf(t.source?.id)))],
        to: [...new Set(transitions.flatMap((t) => (t.target ?? []).map((s) => stateOf(s.id))))],
        state: statePaths(snapshot.value)
      }
      if (actor.startsWith(peerPrefix) && snapshot.context != null) addDialDetails(record, snapshot.context as PeerContextLike)
      return record
    }
    case '@xstate.snapshot': {
      const snapshot = event.snapshot as { value?: unknown, status?: string, context?: unknown, error?: unknown }
      const record: TraceRecord = { ...base, kind: 'snapshot', state: statePaths(snapshot.value), event: event.event.type, ...(snapshot.status != null ? { status: snapshot.status } : {}) }
      if (actor.startsWith(peerPrefix) && snapshot.context != null) addDialDetails(record, snapshot.context as PeerContextLike)
      if (snapshot.status === 'error' && snapshot.error != null) record.error = errorText(snapshot.error)
      return record
    }
    default:
      return undefined
  }
}

const traceKinds = new Set(['actor', 'event', 'transition', 'snapshot'])
const textFields = ['peer', 'parent', 'src', 'event', 'source', 'path', 'addr', 'error', 'status'] as const
const listFields = ['state', 'from', 'to'] as const

/**
 * Whether a parsed line has a TraceRecord's shape, every field of its type: the page trusts the types (a trace file
 * can be anyone's), and one record of another shape would stop it from drawing anything.
 */
function isTraceRecord (value: unknown): value is TraceRecord {
  if (value == null || typeof value !== 'object' || Array.isArray(value)) return false
  const r = value as Record<string, unknown>
  if (typeof r.ts !== 'string' || typeof r.actor !== 'string' || typeof r.kind !== 'string' || !traceKinds.has(r.kind)) return false
  if (textFields.some((f) => r[f] !== undefined && typeof r[f] !== 'string')) return false
  if (listFields.some((f) => r[f] !== undefined && !(Array.isArray(r[f]) && (r[f] as unknown[]).every((x) => typeof x === 'string')))) return false
  // attempt is a number in rustory's traces; a string is shown as text as well (the page escapes every field).
  return r.attempt === undefined || typeof r.attempt === 'number' || typeof r.attempt === 'string'
}

/** Parses JSON Lines, skipping blank and malformed lines (a live file may end mid-line) and lines of another shape. */
export function parseTrace (text: string): TraceRecord[] {
  const records: TraceRecord[] = []
  for (const line of text.split('\n')) {
    const trimmed = line.trim()
    if (trimmed === '' || !trimmed.startsWith('{')) continue
    try {
      const value: unknown = JSON.parse(trimmed)
      if (isTraceRecord(value)) records.push(value)
    } catch {
      // a torn or foreign line: ignore
    }
  }
  return records
}
