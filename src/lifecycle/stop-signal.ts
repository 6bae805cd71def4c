/**
 * The one way a long-running command stops on SIGINT/SIGTERM. Listening starts when `stopSignal()` is called, at
 * the top of the command: without a listener the default action kills the process at once, so a signal that
 * lands between printing the listen address and listening would end it without closing anything. A second signal
 * while closing exits at once.
 */

const signals = ['SIGINT', 'SIGTERM'] as const

export interface StopSignal {
  /** Resolves after the first signal, once `close` has run. */
  until: (close: () => Promise<void> | void) => Promise<NodeJS.Signals>
  /** Stops listening (a one-shot run that finished by itself). Idempotent. */
  dispose: () => void
}

export interface StopSignalInit {
  /** Called at the first signal, before `until`'s close (a sync stops its actors). */
  onSignal?: (signal: NodeJS.Signals) => void
}

/** Exit code of a process stopped by a second signal while it was closing (128 + SIGINT). */
export const hardStopExitCode = 130

export function stopSignal (init: StopSignalInit = {}): StopSignal {
  let resolveReceived!: (signal: NodeJS.Signals) => void
  const received = new Promise<NodeJS.Signals>((resolve) => { resolveReceived = resolve })
  let closing = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) process.exit(hardStopExitCode)
    closing = true
    init.onSignal?.(signal)
    resolveReceived(signal)
  }
  for (const s of signals) process.on(s, onSignal)
  const dispose = (): void => { for (const s of signals) process.off(s, onSignal) }
  return {
    until: async (close) => {
      const signal = await received
      try {
        await close()
      } finally {
        dispose()
      }
      return signal
    },
    dispose
  }
}
