/**
 * Node 20 lacks Promise.withResolvers (ES2024); libp2p v3, yamux and it-queue call it, and without it every dial
 * fails with a bare ECONNRESET (LIBP2P.md). Loaded first by every entry point that may load libp2p.
 */
interface Resolvers<T> {
  promise: Promise<T>
  resolve: (value: T | PromiseLike<T>) => void
  reject: (reason?: unknown) => void
}

export function polyfill (): void {
  const P = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> }
  if (typeof P.withResolvers === 'function') return
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T> (): Resolvers<T> {
      let resolve!: Resolvers<T>['resolve']
      let reject!: Resolvers<T>['reject']
      const promise = new Promise<T>((_resolve, _reject) => { resolve = _resolve; reject = _reject })
      return { promise, resolve, reject }
    }
  })
}

polyfill()
