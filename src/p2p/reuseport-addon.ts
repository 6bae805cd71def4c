/**
 * The one place that loads rustory's native addon (native/reuseport.c, built by node-gyp on `npm install` into
 * build/Release/rr_reuseport.node, which `npm pack` also ships, so tools/package-binary.mjs stages it at the same
 * relative path). A packer that moves the .node file redirects this module alone. When the addon
 * cannot load, hole punching falls back to plain @libp2p/tcp behaviour (dials from ephemeral ports) and callers say so.
 */
import { createRequire } from 'node:module'

export interface ReuseportAddon {
  /**
   * A TCP socket with SO_REUSEADDR and SO_REUSEPORT, bound to host:port, as a non-blocking fd (not yet listening or
   * connected). `exclusive` (listeners) first checks that nothing else listens there; port 0 then picks a free port.
   * Throws an Error whose `code` is the errno name (EADDRINUSE, EADDRNOTAVAIL, …).
   */
  bindReusable: (family: 4 | 6, host: string, port: number, exclusive: boolean) => number
}

/** Where the addon is, relative to this module (dist/src/p2p/ after the build). */
export const addonPath = new URL('../../../build/Release/rr_reuseport.node', import.meta.url)

let loaded: { addon: ReuseportAddon } | { error: string } | undefined

/** The addon, or why it could not load (asked once per process). */
export function reuseportAddon (): { addon: ReuseportAddon } | { error: string } {
  if (loaded != null) return loaded
  try {
    const module = createRequire(import.meta.url)(addonPath.pathname) as Partial<ReuseportAddon>
    if (typeof module.bindReusable !== 'function') throw new Error('it exports no bindReusable()')
    loaded = { addon: module as ReuseportAddon }
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err)
    loaded = { error: `${addonPath.pathname}: ${message ?? ''}` }
  }
  return loaded
}
