import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { createRequire } from 'node:module'
import { checkInternals, Libp2pInternalsError } from '../../src/p2p/index.js'
import { testedLibp2p } from '../../src/p2p/node.js'
import { tempDir } from '../helpers/tmp.js'
import { startPeer } from './fixtures.js'

const require = createRequire(import.meta.url)

test('the installed libp2p is the release package.json pins and the start-up check names', (t) => {
  const pkg = require('../../../package.json') as { dependencies: Record<string, string> }
  t.is(pkg.dependencies.libp2p, testedLibp2p)
  const installed = JSON.parse(readFileSync(new URL('../../../node_modules/libp2p/package.json', import.meta.url), 'utf8')) as { version: string }
  t.is(installed.version, testedLibp2p)
  // Every libp2p package is pinned to one exact version (no ^ or ~): what the suite ran is what installs.
  for (const [name, range] of Object.entries(pkg.dependencies)) {
    if (/libp2p|multiaddr|sodium-native/.test(name)) t.regex(range, /^\d+\.\d+\.\d+$/, name)
  }
})

test('a real peer node passes the start-up check of the libp2p internals rustory uses', async (t) => {
  const dir = tempDir(t)
  const peer = await startPeer(t, { dir, swarmKeyPath: join(dir, 'swarm.key') })
  t.notThrows(() => checkInternals(peer.node.services.internals.components))
})

test('a libp2p whose internals changed shape fails with a named error saying which one and the fix', async (t) => {
  const dir = tempDir(t)
  const peer = await startPeer(t, { dir, swarmKeyPath: join(dir, 'swarm.key') })
  const { transportManager, addressManager } = peer.node.services.internals.components
  const changed = { transportManager, addressManager: { confirmObservedAddr: addressManager.confirmObservedAddr } }
  const err = t.throws(() => checkInternals(changed), { instanceOf: Libp2pInternalsError })
  t.is(err.name, 'Libp2pInternalsError')
  t.regex(err.message, /components\.addressManager\.getObservedAddrs\(\) is missing/)
  t.regex(err.message, /reinstall rustory/)
  t.throws(() => checkInternals({ addressManager }), { message: /components\.transportManager is missing/ })
})
