import { createServer } from 'node:http'
import test, { type ExecutionContext } from 'ava'
import { HttpTransport, normalizeBaseUrl } from '../../src/http/index.js'
import { maxPullResponseBytes, maxPushRequestBytes } from '../../src/protocol/constants.js'
import { decodeJson, encodeMessage, parseSyncBatch } from '../../src/protocol/messages.js'
import { entryIds, makeEntry, withHttpServer } from './fixtures.js'
import { refusedPort } from '../helpers/ports.js'

async function rawServer (t: ExecutionContext, handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

test('peerId is the normalized base URL and the path is http', (t) => {
  const transport = new HttpTransport('HTTP://LocalHost:8860/')
  t.is(transport.peerId, 'http://localhost:8860')
  t.is(transport.path, 'http')
  t.is(normalizeBaseUrl('http://127.0.0.1:80/prefix/?x=1#y'), 'http://127.0.0.1/prefix')
  t.throws(() => new HttpTransport('ftp://x'), { message: /must start with http/ })
})

test('pull returns SyncBatch pages by cursor, ending with an empty batch', async (t) => {
  const entries = Array.from({ length: 7 }, (_, i) => makeEntry(i))
  const { server } = await withHttpServer(t, entries)
  const transport = new HttpTransport(server.url)
  t.teardown(async () => await transport.close())
  const got: string[] = []
  let cursor = 0
  let pages = 0
  for (;;) {
    const batch = parseSyncBatch(decodeJson(await transport.pull({ cursor, limit: 3 }), 'SyncBatch'))
    pages++
    if (batch.entries.length === 0) break
    got.push(...(batch.entries as Array<{ entry_id: string }>).map((e) => e.entry_id))
    cursor = batch.next_cursor!
  }
  t.is(pages, 4)
  t.deepEqual(got, entries.map((e) => e.entry_id))
})

test('push sends an EntriesPush and decodes the PushAck; invalid entries are counted out, valid ones land', async (t) => {
  const { server, dbPath } = await withHttpServer(t)
  const transport = new HttpTransport(server.url)
  const good = [makeEntry(1), makeEntry(2), makeEntry(3)]
  const ack = await transport.push(encodeMessage({ entries: [...good, { ...makeEntry(4), exit_code: 'one' }] }))
  t.deepEqual({ ok: ack.ok, inserted: ack.inserted, ignored: ack.ignored }, { ok: false, inserted: 3, ignored: 0 })
  t.deepEqual(entryIds(dbPath).sort(), good.map((e) => e.entry_id).sort())
  const again = await transport.push(encodeMessage({ entries: good }))
  t.deepEqual({ ok: again.ok, inserted: again.inserted, ignored: again.ignored }, { ok: true, inserted: 0, ignored: 3 })
})

test('a push over 16 MiB is refused locally with MessageTooLargeError, before any network', async (t) => {
  // Nothing listens there: a DialError would mean the transport tried to send.
  const transport = new HttpTransport(`http://127.0.0.1:${await refusedPort()}`)
  const err = await t.throwsAsync(transport.push(new Uint8Array(maxPushRequestBytes + 1)))
  t.is(err!.name, 'MessageTooLargeError')
  t.regex(err!.message, /message too large: EntriesPush exceeds 16777216 bytes/)
})

test('a pull answer over 32 MiB fails with MessageTooLargeError while reading', async (t) => {
  let written = 0
  const url = await rawServer(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    const chunk = Buffer.alloc(1024 * 1024, 0x20)
    const write = (): void => {
      while (written <= maxPullResponseBytes + chunk.byteLength) {
        written += chunk.byteLength
        if (!res.write(chunk)) { res.once('drain', write); return }
      }
      res.end()
    }
    write()
  })
  const transport = new HttpTransport(url)
  const err = await t.throwsAsync(transport.pull({ cursor: 0, limit: 1000 }))
  t.is(err!.name, 'MessageTooLargeError')
  t.regex(err!.message, /SyncBatch exceeds 33554432 bytes/)
})

test('a refused connection is a transient DialError', async (t) => {
  const transport = new HttpTransport(`http://127.0.0.1:${await refusedPort()}`)
  const err = await t.throwsAsync(transport.pull({ cursor: 0, limit: 10 }))
  t.is(err!.name, 'DialError')
  t.false((err as unknown as { permanent: boolean }).permanent)
  t.regex(err!.message, /cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/)
})

test('a server that accepts but never answers is a DialError after the connect timeout', async (t) => {
  const url = await rawServer(t, () => {})
  const transport = new HttpTransport(url, { connectTimeoutMs: 200 })
  const started = Date.now()
  const err = await t.throwsAsync(transport.pull({ cursor: 0, limit: 10 }))
  t.is(err!.name, 'DialError')
  t.regex(err!.message, /no answer within 200 ms/)
  // Well below the default 15 s connect timeout, with room for a busy machine.
  const elapsed = Date.now() - started
  t.true(elapsed < 10_000, `gave up after ${elapsed} ms`)
})

test('error answers become errors: 400 is a permanent ProtocolError with the reason, 503 transient, 413 too large', async (t) => {
  const url = await rawServer(t, (req, res) => {
    const status = req.url!.includes('cursor=1&') ? 400 : req.url!.includes('cursor=2&') ? 503 : 413
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ error: `scripted ${status}` }))
  })
  const transport = new HttpTransport(url)
  const bad = await t.throwsAsync(transport.pull({ cursor: 1, limit: 10 }))
  t.is(bad!.name, 'ProtocolError')
  t.true((bad as unknown as { permanent: boolean }).permanent)
  t.regex(bad!.message, /HTTP 400: scripted 400/)
  const down = await t.throwsAsync(transport.pull({ cursor: 2, limit: 10 }))
  t.is(down!.name, 'SyncError')
  t.false((down as unknown as { permanent: boolean }).permanent)
  const big = await t.throwsAsync(transport.push(encodeMessage({ entries: [] })))
  t.is(big!.name, 'MessageTooLargeError')
})

test('a push the server cannot parse comes back as a ProtocolError naming the reason', async (t) => {
  const { server } = await withHttpServer(t)
  const transport = new HttpTransport(server.url)
  const err = await t.throwsAsync(transport.push(Buffer.from('{"entries": 5}')))
  t.is(err!.name, 'ProtocolError')
  t.regex(err!.message, /peer refused the push: EntriesPush: entries must be an array/)
})
