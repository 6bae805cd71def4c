/**
 * The one place that starts the sync system: binds the peer machine to real dependencies, creates the root
 * actor, and hands back a handle to wait for it or stop it. Transport-agnostic: the connector decides libp2p or HTTP.
 */
import { createActor, type InspectionEvent } from 'xstate'
import { createPeerSyncMachine } from '../machines/peer-sync.machine.js'
import { createRootMachine, type RootOutput } from '../machines/root.machine.js'
import type { DiscoveredPeers } from '../src/sync/types.js'
import type { SyncOptions } from '../src/sync/types.js'
import { createPeerDependencies, type PeerActorComponents } from './peer-actors.js'

export interface SyncSystemInit {
  options: SyncOptions
  /** Where the peers come from (a fixed list, trackers, the peer book). */
  discoverPeers: (signal: AbortSignal) => Promise<DiscoveredPeers>
  /** A peer discovery let go: its machine was stopped (the daemon drops it from its status). */
  onForget?: (key: string) => void
  /** xstate inspection observer (the --inspect trace); omitted when off, so it costs nothing. */
  inspect?: (event: InspectionEvent) => void
}

export interface SyncSystem {
  /** Resolves when the root finishes (one-shot) or is stopped. */
  done: Promise<RootOutput>
  /** Stops every actor (SIGINT under --watch); `done` then resolves with what finished so far. */
  stop: () => void
  /** Starts a round on every waiting peer now (a peer mid-round starts another one right after). */
  syncNow: () => void
  /** A supervised peer connected to us: if its rounds kept failing, it is tried again now. */
  peerSeen: (key: string) => void
  /** Asks for the peers again now (a new peer showed up). */
  rediscover: () => void
}

export function startSyncSystem (init: SyncSystemInit, components: PeerActorComponents): SyncSystem {
  const peerMachine = createPeerSyncMachine(createPeerDependencies(components))
  const root = createRootMachine({
    discoverPeers: init.discoverPeers,
    peerMachine,
    random: components.random ?? Math.random,
    peerForgotten: (key) => {
      components.log.info(`sync: peer=${key} left discovery (no tracker lists it and the peer book's window has passed): stopped syncing with it`)
      init.onForget?.(key)
    }
  })
  const actor = createActor(root, { id: 'root', systemId: 'root', input: { options: init.options }, ...(init.inspect != null ? { inspect: init.inspect } : {}) })
  const done = new Promise<RootOutput>((resolve, reject) => {
    actor.subscribe({
      complete: () => resolve(actor.getSnapshot().output ?? { outcomes: Object.values(actor.getSnapshot().context.outcomes) }),
      error: reject
    })
  })
  let resolveStopped!: (output: RootOutput) => void
  const stopped = new Promise<RootOutput>((resolve) => { resolveStopped = resolve })
  actor.start()
  return {
    done: Promise.race([done, stopped]),
    stop: () => {
      if (actor.getSnapshot().status !== 'active') return
      const outcomes = Object.values(actor.getSnapshot().context.outcomes)
      actor.stop()
      resolveStopped({ outcomes })
    },
    syncNow: () => actor.send({ type: 'sync.now' }),
    peerSeen: (key) => actor.send({ type: 'peer.seen', key }),
    rediscover: () => actor.send({ type: 'peers.rediscover' })
  }
}
