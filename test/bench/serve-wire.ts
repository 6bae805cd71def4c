/**
 * A serving process for the signing bench that offers only some entry protocol versions: `rr p2p-serve` as a release
 * from before 3.0.0 would run it (the same node, handlers and worker pool; no spool watcher, no tombstones, no
 * trackers). Run: node serve-wire.js <db> <swarm.key> <identity.key> <versions, e.g. 1,2>; prints `p2p listen: <addr>`.
 */
import { entrySignerOf, loadOrCreateIdentity, loadSwarmKey } from '../../src/config/keys.js'
import type { WireVersion } from '../../src/core/admit.js'
import { createPeerNode } from '../../src/p2p/node.js'
import { serveSync } from '../../src/p2p/handlers.js'
import { WorkerPool } from '../../workers/pool.js'

const [dbPath, swarmKeyPath, identityKeyPath, versions] = process.argv.slice(2)
const swarm = loadSwarmKey(swarmKeyPath!)
const identity = await loadOrCreateIdentity(identityKeyPath!)
const pool = new WorkerPool()
const node = await createPeerNode({ privateKey: identity.privateKey, psk: swarm.psk, listen: ['/ip4/127.0.0.1/tcp/0'] })
await serveSync(node, { dbPath: dbPath!, pool, signer: entrySignerOf(identity), wireVersions: versions!.split(',').map((v) => Number(v) as WireVersion) })
const addr = node.getMultiaddrs().map(String).find((a) => a.includes('/ip4/127.0.0.1/tcp/'))!
process.stdout.write(`p2p listen: ${addr}\n`)
process.once('SIGTERM', () => {
  void (async () => {
    await node.stop()
    await pool.close()
    process.exit(0)
  })()
})
