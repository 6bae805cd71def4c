/**
 * One remote peer's sync, as the spec lays it out: discover → direct dial → relay dial → DCUtR upgrade →
 * pull loop → push loop, with exponential backoff (at most 3 attempts per step) and, under --watch, a wait and
 * another round, forever, riding out peers that go away. Expected failures are data in context; the machine
 * never throws. Its I/O is the PeerSyncDependencies contract, bound to libp2p/SQLite once in actors/.
 */
import { assign, fromCallback, fromPromise, sendTo, setup } from 'xstate'
import { backoffMs } from '../src/sync/backoff.js'
import {
  afterDialFailure, dialBackoff, firstDialPath, maxDialAttempts, maxSyncAttempts, shouldRetry, syncBackoff, upgradeWaitMs,
  type DialDecision, type DialPlanFacts, type DialStep
} from '../src/sync/policy.js'
import { nextRoundDelayMs, syncNowSkipsWait } from '../src/sync/supervision.js'
import { toFailure, type Link, type PeerOutcome, type PeerStats, type PeerTarget, type SyncFailure, type SyncOptions } from '../src/sync/types.js'

export interface DialInput {
  target: PeerTarget
  /** 1-based attempt number on this path. */
  attempt: number
  maxAttempts: number
}

export interface LoopInput {
  target: PeerTarget
  link: Link
  limit: number
}

/** Events the sync loops and the upgrade watcher send back, and the control events from the root. */
export type PeerSyncEvent =
  | { type: 'pull.progress', pulled: number, inserted: number, cursor: number }
  | { type: 'pull.done', pulled: number, inserted: number }
  | { type: 'pull.failed', error: SyncFailure }
  | { type: 'push.progress', pushed: number }
  | { type: 'push.done', pushed: number }
  | { type: 'push.failed', error: SyncFailure }
  | { type: 'dcutr.upgraded', link: Link }
  | { type: 'dcutr.failed', error: SyncFailure }
  | { type: 'link.changed', link: Link }
  | { type: 'sync.now' }
  | { type: 'peer.back' }

/** The machine's I/O contract. */
export interface PeerSyncDependencies {
  /** Resolves the peer's id and current addresses (a tracker lookup may refresh them). */
  discover: (target: PeerTarget, signal: AbortSignal) => Promise<PeerTarget>
  dialDirect: (input: DialInput, signal: AbortSignal) => Promise<Link>
  dialRelay: (input: DialInput, signal: AbortSignal) => Promise<Link>
  /** Watches a relayed link for a DCUtR upgrade; sends dcutr.upgraded or dcutr.failed. Returns its cleanup. */
  watchUpgrade: (input: { target: PeerTarget, link: Link }, sendBack: (event: PeerSyncEvent) => void) => () => void
  /** Pulls until an empty batch; sends pull.progress… then pull.done or pull.failed. Receives link.changed. */
  pullLoop: (input: LoopInput, sendBack: (event: PeerSyncEvent) => void, receive: (listener: (event: PeerSyncEvent) => void) => void) => () => void
  /** Pushes own entries until none are left; sends push.done or push.failed. Receives link.changed. */
  pushLoop: (input: LoopInput, sendBack: (event: PeerSyncEvent) => void, receive: (listener: (event: PeerSyncEvent) => void) => void) => () => void
  /** Releases a link at the end of a round. */
  closeLink: (link: Link) => void
  /** Called once per finished round (success or failure), for summaries and sync-status. */
  roundFinished: (outcome: PeerOutcome) => void
  /** Source of jitter, in [0, 1). */
  random: () => number
  /** Current time in ms (the machine's clock may be simulated in tests). */
  now: () => number
}

export interface PeerSyncInput {
  target: PeerTarget
  options: SyncOptions
}

export interface PeerSyncContext {
  target: PeerTarget
  options: SyncOptions
  link?: Link
  dialAttempt: number
  syncAttempt: number
  error?: SyncFailure | undefined
  stats: PeerStats
  roundStartedAt: number
  roundPulled: number
  roundInserted: number
  roundPushed: number
  /** 'sync.now' arrived during a round: start the next one as soon as this one ends (daemon: fresh local entries). */
  syncRequested?: boolean
  /** Rounds in a row that failed (0 after a good one): the wait before the next round grows with it. */
  failedRounds: number
}

function planFacts (context: PeerSyncContext): DialPlanFacts {
  return { hasDirectAddrs: context.target.addrs.length > 0, hasRelay: context.target.relayAddr != null && context.target.peerId != null }
}

function dialDecision (context: PeerSyncContext, path: DialStep): DialDecision {
  return afterDialFailure(path, planFacts(context), { permanent: context.error?.permanent ?? false, attempt: context.dialAttempt, maxAttempts: maxDialAttempts })
}

const emptyStats: PeerStats = { pulled: 0, inserted: 0, pushed: 0, rounds: 0, lastRoundMs: 0 }

function outcomeOf (context: PeerSyncContext, ok: boolean): PeerOutcome {
  return {
    key: context.target.key,
    ...(context.target.peerId != null ? { peerId: context.target.peerId } : {}),
    ok,
    stats: context.stats,
    round: { pulled: context.roundPulled, inserted: context.roundInserted, pushed: context.roundPushed },
    ...(context.link != null ? { path: context.link.path, addr: context.link.addr } : {}),
    ...(!ok && context.error != null ? { error: context.error } : {})
  }
}

export function createPeerSyncMachine (deps: PeerSyncDependencies) {
  return setup({
    types: {
      context: {} as PeerSyncContext,
      events: {} as PeerSyncEvent,
      input: {} as PeerSyncInput,
      output: {} as PeerOutcome
    },
    actors: {
      discover: fromPromise<PeerTarget, { target: PeerTarget }>(async ({ input, signal }) => await deps.discover(input.target, signal)),
      dialDirect: fromPromise<Link, DialInput>(async ({ input, signal }) => await deps.dialDirect(input, signal)),
      dialRelay: fromPromise<Link, DialInput>(async ({ input, signal }) => await deps.dialRelay(input, signal)),
      watchUpgrade: fromCallback<PeerSyncEvent, { target: PeerTarget, link: Link }>(({ input, sendBack }) => deps.watchUpgrade(input, sendBack)),
      pullLoop: fromCallback<PeerSyncEvent, LoopInput>(({ input, sendBack, receive }) => deps.pullLoop(input, sendBack, receive)),
      pushLoop: fromCallback<PeerSyncEvent, LoopInput>(({ input, sendBack, receive }) => deps.pushLoop(input, sendBack, receive))
    },
    guards: {
      directFirst: ({ context }) => firstDialPath(planFacts(context)) === 'direct',
      relayFirst: ({ context }) => firstDialPath(planFacts(context)) === 'relay',
      retryDirect: ({ context }) => dialDecision(context, 'direct').kind === 'retry',
      relayAfterDirect: ({ context }) => { const d = dialDecision(context, 'direct'); return d.kind === 'dial' && d.path === 'relay' },
      retryRelay: ({ context }) => dialDecision(context, 'relay').kind === 'retry',
      canRetrySync: ({ context }) => shouldRetry({ permanent: context.error?.permanent ?? false, attempt: context.syncAttempt, maxAttempts: maxSyncAttempts }),
      pushEnabled: ({ context }) => context.options.push,
      watching: ({ context }) => context.options.watch,
      relayed: ({ context }) => context.link?.path === 'relay',
      syncRequested: ({ context }) => context.syncRequested === true && syncNowSkipsWait(context.failedRounds),
      syncNowSkipsWait: ({ context }) => syncNowSkipsWait(context.failedRounds),
      backingOff: ({ context }) => !syncNowSkipsWait(context.failedRounds)
    },
    actions: {
      startRound: assign({
        roundStartedAt: () => deps.now(),
        roundPulled: 0,
        roundInserted: 0,
        roundPushed: 0,
        dialAttempt: 0,
        syncAttempt: 0,
        error: undefined,
        syncRequested: false
      }),
      nextDialAttempt: assign({ dialAttempt: ({ context }) => context.dialAttempt + 1 }),
      resetDialAttempts: assign({ dialAttempt: 0 }),
      closeLink: assign(({ context }) => {
        if (context.link != null) deps.closeLink(context.link)
        return {}
      }),
      finishRound: assign(({ context }) => {
        const stats: PeerStats = {
          pulled: context.stats.pulled + context.roundPulled,
          inserted: context.stats.inserted + context.roundInserted,
          pushed: context.stats.pushed + context.roundPushed,
          rounds: context.stats.rounds + 1,
          lastRoundMs: deps.now() - context.roundStartedAt
        }
        return { stats }
      }),
      countGoodRound: assign({ failedRounds: 0 }),
      countFailedRound: assign({ failedRounds: ({ context }) => context.failedRounds + 1 }),
      reportSuccess: ({ context }) => deps.roundFinished(outcomeOf(context, true)),
      reportFailure: ({ context }) => deps.roundFinished(outcomeOf(context, false))
    },
    delays: {
      dialBackoff: ({ context }) => backoffMs(context.dialAttempt, deps.random(), dialBackoff),
      syncBackoff: ({ context }) => backoffMs(context.syncAttempt, deps.random(), syncBackoff),
      watchInterval: ({ context }) => nextRoundDelayMs({ intervalSec: context.options.intervalSec, failedRounds: context.failedRounds, random: deps.random() }),
      upgradeWait: upgradeWaitMs
    }
  }).createMachine({
    id: 'peer',
    context: ({ input }) => ({
      target: input.target,
      options: input.options,
      dialAttempt: 0,
      syncAttempt: 0,
      stats: emptyStats,
      roundStartedAt: 0,
      roundPulled: 0,
      roundInserted: 0,
      roundPushed: 0,
      failedRounds: 0
    }),
    initial: 'discovering',
    output: ({ context }) => outcomeOf(context, context.error == null),
    // Asked to sync while a round runs: remembered, and the next round starts right after this one.
    on: { 'sync.now': { actions: assign({ syncRequested: true }) } },
    states: {
      // Resolve who the peer is and where it can be reached now (addresses move between rounds).
      discovering: {
        entry: 'startRound',
        invoke: {
          src: 'discover',
          input: ({ context }) => ({ target: context.target }),
          onDone: { target: 'choosingPath', actions: assign({ target: ({ event }) => event.output }) },
          onError: { target: 'failed', actions: assign({ error: ({ event }) => toFailure(event.error, 'discover') }) }
        }
      },
      // Direct first; the relay only when there is nothing direct to dial.
      choosingPath: {
        always: [
          { guard: 'directFirst', target: 'dialingDirect' },
          { guard: 'relayFirst', target: 'dialingRelay' },
          {
            target: 'failed',
            actions: assign({ error: { name: 'DialError', message: 'no address to dial: give --peers, a tracker that knows the peer, or --relay', permanent: true, step: 'direct' } })
          }
        ]
      },
      // Each attempt tries every candidate address once; at most 3 attempts with backoff between them.
      dialingDirect: {
        entry: 'resetDialAttempts',
        initial: 'attempting',
        states: {
          attempting: {
            entry: 'nextDialAttempt',
            invoke: {
              src: 'dialDirect',
              input: ({ context }) => ({ target: context.target, attempt: context.dialAttempt, maxAttempts: maxDialAttempts }),
              onDone: { target: '#peer.connected', actions: assign({ link: ({ event }) => event.output, error: undefined }) },
              onError: { target: 'failedAttempt', actions: assign({ error: ({ event }) => toFailure(event.error, 'direct') }) }
            }
          },
          // Decide (afterDialFailure): back off and retry, fall back to the relay, or give up.
          failedAttempt: {
            always: [
              { guard: 'retryDirect', target: 'backoff' },
              { guard: 'relayAfterDirect', target: '#peer.dialingRelay' },
              { target: '#peer.failed' }
            ]
          },
          // Waiting before the next direct attempt.
          backoff: { after: { dialBackoff: 'attempting' } }
        }
      },
      // The relay fallback: <relay>/p2p-circuit/p2p/<peer>, same retry policy.
      dialingRelay: {
        entry: 'resetDialAttempts',
        initial: 'attempting',
        states: {
          attempting: {
            entry: 'nextDialAttempt',
            invoke: {
              src: 'dialRelay',
              input: ({ context }) => ({ target: context.target, attempt: context.dialAttempt, maxAttempts: maxDialAttempts }),
              onDone: { target: '#peer.connected', actions: assign({ link: ({ event }) => event.output, error: undefined }) },
              onError: { target: 'failedAttempt', actions: assign({ error: ({ event }) => toFailure(event.error, 'relay') }) }
            }
          },
          // Decide (afterDialFailure): back off and retry, or give up.
          failedAttempt: {
            always: [
              { guard: 'retryRelay', target: 'backoff' },
              { target: '#peer.failed' }
            ]
          },
          // Waiting before the next relay attempt.
          backoff: { after: { dialBackoff: 'attempting' } }
        }
      },
      // Connected: sync right away; in parallel, a relayed link waits for DCUtR to move it to a direct one.
      connected: {
        type: 'parallel',
        onDone: 'synced',
        states: {
          sync: {
            initial: 'beforePull',
            states: {
              // A relayed link first gives DCUtR its chance (the design card's order: relay dial → upgrade → pull).
              beforePull: { always: [{ guard: 'relayed', target: 'awaitingUpgrade' }, { target: 'pulling' }] },
              // Pull on whatever DCUtR left us: the direct connection, or the relay after a failure or the wait.
              awaitingUpgrade: {
                after: { upgradeWait: 'pulling' },
                on: {
                  'dcutr.upgraded': { target: 'pulling', actions: assign({ link: ({ event }) => event.link }) },
                  'dcutr.failed': 'pulling'
                }
              },
              // Pull batches until the peer has nothing after our cursor.
              pulling: {
                invoke: { id: 'pullLoop', src: 'pullLoop', input: ({ context }) => ({ target: context.target, link: context.link!, limit: context.options.limit }) },
                on: {
                  'pull.progress': { actions: assign({ roundPulled: ({ event }) => event.pulled, roundInserted: ({ event }) => event.inserted }) },
                  'pull.done': [
                    { guard: 'pushEnabled', target: 'pushing', actions: assign({ roundPulled: ({ event }) => event.pulled, roundInserted: ({ event }) => event.inserted }) },
                    { target: 'finished', actions: assign({ roundPulled: ({ event }) => event.pulled, roundInserted: ({ event }) => event.inserted }) }
                  ],
                  'pull.failed': { target: '#peer.syncFailed', actions: assign({ error: ({ event }) => event.error }) },
                  'dcutr.upgraded': { actions: sendTo('pullLoop', ({ event }) => ({ type: 'link.changed' as const, link: event.link })) }
                }
              },
              // Push this device's own entries the peer has not acknowledged yet.
              pushing: {
                invoke: { id: 'pushLoop', src: 'pushLoop', input: ({ context }) => ({ target: context.target, link: context.link!, limit: context.options.limit }) },
                on: {
                  'push.progress': { actions: assign({ roundPushed: ({ event }) => event.pushed }) },
                  'push.done': { target: 'finished', actions: assign({ roundPushed: ({ event }) => event.pushed }) },
                  'push.failed': { target: '#peer.syncFailed', actions: assign({ error: ({ event }) => event.error }) },
                  'dcutr.upgraded': { actions: sendTo('pushLoop', ({ event }) => ({ type: 'link.changed' as const, link: event.link })) }
                }
              },
              // Everything is exchanged; the round ends once the upgrade region has settled too (closing the link
              // earlier would cut a hole punch in progress, and its outcome would go unlogged).
              finished: { type: 'final' }
            }
          },
          upgrade: {
            initial: 'checking',
            states: {
              // Only a relayed link has anything to upgrade.
              checking: { always: [{ guard: 'relayed', target: 'watching' }, { target: 'direct' }] },
              // DCUtR runs from the side that received the relayed connection; we watch for its outcome.
              watching: {
                invoke: { src: 'watchUpgrade', input: ({ context }) => ({ target: context.target, link: context.link! }) },
                on: {
                  'dcutr.upgraded': { target: 'upgraded', actions: assign({ link: ({ event }) => event.link }) },
                  'dcutr.failed': { target: 'stayedOnRelay' }
                }
              },
              // Streams now open on the direct connection.
              upgraded: { type: 'final' },
              // Not an error: sync continues over the relay (the event carries DCUtR's reason).
              stayedOnRelay: { type: 'final' },
              // The link was direct from the start.
              direct: { type: 'final' }
            }
          }
        }
      },
      // A round completed: record it, then stop or wait for the next round.
      synced: {
        entry: ['finishRound', 'countGoodRound', 'reportSuccess', 'closeLink'],
        always: [{ guard: 'watching', target: 'waiting' }, { target: 'done' }]
      },
      // A pull or push failed on an open link: redial after a backoff unless retrying cannot help.
      syncFailed: {
        entry: ['closeLink', assign({ syncAttempt: ({ context }) => context.syncAttempt + 1 })],
        always: [{ guard: 'canRetrySync', target: 'syncBackoff' }, { target: 'failed' }]
      },
      // Waiting before redialing after a failed transfer.
      syncBackoff: { after: { syncBackoff: 'choosingPath' } },
      // This round failed; under --watch the next round comes after the interval, later when rounds keep failing.
      failed: {
        entry: ['finishRound', 'countFailedRound', 'reportFailure'],
        always: [{ guard: 'watching', target: 'waiting' }, { target: 'gaveUp' }]
      },
      // Between --watch rounds, longer after failed rounds in a row ('sync.now' skips it unless the peer keeps failing).
      waiting: {
        always: [{ guard: 'syncRequested', target: 'discovering' }],
        after: { watchInterval: 'discovering' },
        on: {
          'sync.now': [{ guard: 'syncNowSkipsWait', target: 'discovering' }, { actions: assign({ syncRequested: true }) }],
          // The peer connected to us while we backed off: it is reachable again, so the backoff is over.
          'peer.back': { guard: 'backingOff', target: 'discovering', actions: assign({ failedRounds: 0 }) }
        }
      },
      // One-shot sync finished with every entry exchanged.
      done: { type: 'final' },
      // One-shot sync ended in failure (the error is in context and output).
      gaveUp: { type: 'final' }
    }
  })
}

export type PeerSyncMachine = ReturnType<typeof createPeerSyncMachine>
