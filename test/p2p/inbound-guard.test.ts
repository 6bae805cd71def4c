import test from 'ava'
import { StreamAbortEvent } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { refusalLine, sourceOf } from '../../src/p2p/inbound-guard.js'
import { errorMessage } from '../../src/protocol/errors.js'

test('a dial rejected with a bare close event gets a reason, never [object Event]', (t) => {
  const event = new StreamAbortEvent(undefined as unknown as Error)
  const message = errorMessage(event)
  t.notRegex(message, /\[object/)
  t.regex(message, /closed by the other side/)
  t.is(errorMessage(new StreamAbortEvent(new Error('read ECONNRESET'))), 'read ECONNRESET')
  t.is(errorMessage(new Error('plain')), 'plain')
})

test('refusals are summed into one line per source', (t) => {
  t.is(sourceOf(multiaddr('/ip4/127.0.0.2/tcp/5000')), '127.0.0.2')
  t.is(sourceOf(multiaddr('/ip6/::1/tcp/5000')), '::1')
  const line = refusalLine('127.0.0.2', new Map([['too-many-from-address', 40], ['timed-out', 17]]), 10_000)
  t.is(line, 'p2p: refused 57 inbound connections from 127.0.0.2 in the last 10 s: 40 over the per-address limit of handshakes in progress, 17 no complete handshake within the deadline')
})
