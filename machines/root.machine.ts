/**
 * The root actor: finds the peers (given, from trackers, or from the peer book), spawns one peer-sync machine
 * per peer and supervises them. One-shot: done when every peer finished. Under --watch: rediscovers every
 * interval, adds newly seen peers, and never finishes by itself (the command stops it on SIGINT).
 */
import { assign, setup, fromPromise, type ActorRefFrom } from 'xstate'
import { watchDelayMs } from '../src/sync/policy.js'
import type { PeerSyncMachine } from './peer-sync.machine.js'
import { toFailure, type PeerOutcome, type PeerTarget, type SyncFailure, type SyncOptions } from './types.js'

export interface RootDependencies {
  /** The peers to sync with now. */
  discoverPeers: (signal: AbortSignal) => Promise<PeerTarget[]>
  /** The machine spawned per peer, with its dependencies bound. */
  peerMachine: PeerSyncMachine
  random: () => number
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

export type RootEvent = { type: 'peers.rediscover' } | { type: 'sync.now' }

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
      discoverPeers: fromPromise<PeerTarget[]>(async ({ signal }) => await deps.discoverPeers(signal)),
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
      }
    },
    states: {
      // Ask for the peers; spawn a machine for each one not supervised yet.
      discovering: {
        invoke: {
          src: 'discoverPeers',
          onDone: {
            target: 'supervising',
            actions: assign({
              error: undefined,
              peers: ({ context, event, spawn }) => {
                const peers = { ...context.peers }
                for (const target of event.output) {
                  if (peers[target.key] != null) continue
                  peers[target.key] = spawn('peer', { id: peerActorId(target.key), input: { target, options: context.options } })
                }
                return peers
              }
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
