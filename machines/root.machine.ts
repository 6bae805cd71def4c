/**
 * The root actor: finds the peers (given, from trackers, or from the peer book), spawns one peer-sync machine
 * per peer and supervises them. One-shot: done when every peer finished. Under --watch: rediscovers every
 * interval, adds newly seen peers, stops the machines of peers discovery has let go, and never finishes by
 * itself (the command stops it on SIGINT).
 */
import { assign, enqueueActions, setup, fromPromise, type ActorRefFrom } from 'xstate'
import { watchDelayMs } from '../src/sync/policy.js'
import { peersToForget } from '../src/sync/supervision.js'
import type { PeerSyncMachine } from './peer-sync.machine.js'
import { toFailure, type DiscoveredPeers, type PeerOutcome, type SyncFailure, type SyncOptions } from '../src/sync/types.js'

export interface RootDependencies {
  discoverPeers: (signal: AbortSignal) => Promise<DiscoveredPeers>
  /** The machine spawned per peer, with its dependencies bound. */
  peerMachine: PeerSyncMachine
  random: () => number
  /** Told when a peer's machine was stopped because discovery let it go. */
  peerForgotten?: (key: string) => void
}

export interface RootInput {
  options: SyncOptions
}

export interface RootContext {
  options: SyncOptions
  peers: Record<string, ActorRefFrom<PeerSyncMachine>>
  outcomes: Record<string, PeerOutcome>
  error?: SyncFailure | undefined
}

export interface RootOutput {
  outcomes: PeerOutcome[]
  error?: SyncFailure
}

/** 'peer.seen': a supervised peer just connected to us (it is back): a peer backing off is tried at once. */
export type RootEvent = { type: 'peers.rediscover' } | { type: 'sync.now' } | { type: 'peer.seen', key: string }

/** The child actor id of a peer machine. */
export function peerActorId (key: string): string {
  return `peer:${key}`
}

export function createRootMachine (deps: RootDependencies) {
  return setup({
    types: {
      context: {} as RootContext,
      events: {} as RootEvent,
      input: {} as RootInput,
      output: {} as RootOutput
    },
    actors: {
      discoverPeers: fromPromise<DiscoveredPeers>(async ({ signal }) => await deps.discoverPeers(signal)),
      peer: deps.peerMachine
    },
    guards: {
      watching: ({ context }) => context.options.watch,
      allFinished: ({ context }) => Object.keys(context.peers).every((key) => context.outcomes[key] != null)
    },
    delays: {
      rediscoverInterval: ({ context }) => watchDelayMs(context.options.intervalSec, deps.random())
    }
  }).createMachine({
    id: 'root',
    context: ({ input }) => ({ options: input.options, peers: {}, outcomes: {} }),
    initial: 'discovering',
    output: ({ context }) => ({
      outcomes: Object.values(context.outcomes),
      ...(context.error != null ? { error: context.error } : {})
    }),
    on: {
      'xstate.done.actor.*': {
        actions: assign({
          outcomes: ({ context, event }) => {
            const output = (event as unknown as { output?: PeerOutcome }).output
            if (output == null) return context.outcomes
            return { ...context.outcomes, [output.key]: output }
          }
        })
      },
      'sync.now': {
        actions: ({ context }) => {
          for (const ref of Object.values(context.peers)) ref.send({ type: 'sync.now' })
        }
      },
      'peer.seen': {
        actions: ({ context, event }) => { context.peers[event.key]?.send({ type: 'peer.back' }) }
      }
    },
    states: {
      // Ask for the peers; stop the machines of those discovery let go, spawn one for each new one.
      discovering: {
        invoke: {
          src: 'discoverPeers',
          onDone: {
            target: 'supervising',
            actions: enqueueActions(({ context, event, enqueue }) => {
              const { targets, known } = event.output
              const keep = known == null ? undefined : new Set([...known, ...targets.map((t) => t.key)])
              const gone = new Set(peersToForget(Object.keys(context.peers), keep))
              for (const key of gone) {
                enqueue.stopChild(context.peers[key]!)
                enqueue(() => deps.peerForgotten?.(key))
              }
              enqueue.assign({
                error: undefined,
                outcomes: Object.fromEntries(Object.entries(context.outcomes).filter(([key]) => !gone.has(key))),
                peers: ({ spawn }) => {
                  const peers = Object.fromEntries(Object.entries(context.peers).filter(([key]) => !gone.has(key)))
                  for (const target of targets) {
                    if (peers[target.key] != null) continue
                    peers[target.key] = spawn('peer', { id: peerActorId(target.key), input: { target, options: context.options } })
                  }
                  return peers
                }
              })
            })
          },
          onError: { target: 'supervising', actions: assign({ error: ({ event }) => toFailure(event.error, 'discover') }) }
        }
      },
      // Peers run on their own; wait for them (one-shot) or rediscover on the interval (--watch).
      supervising: {
        always: [{ guard: ({ context }) => !context.options.watch && Object.keys(context.peers).every((key) => context.outcomes[key] != null), target: 'done' }],
        after: { rediscoverInterval: { guard: 'watching', target: 'discovering' } },
        on: { 'peers.rediscover': 'discovering' }
      },
      // Every peer finished (one-shot mode).
      done: { type: 'final' }
    }
  })
}

export type RootMachine = ReturnType<typeof createRootMachine>
