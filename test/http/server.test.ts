import { request } from 'node:http'
import test from 'ava'
import { encodePushAck } from '../../src/http/index.js'
import { maxPushRequestBytes, maxPushResponseBytes } from '../../src/protocol/constants.js'
import { entryIds, makeEntry, withHttpServer } from './fixtures.js'

interface Batch { entries: Array<{ entry_id: string }>, next_cursor: number | null }

test('GET /api/v1/entries pages through the entries by cursor until next_cursor is null', async (t) => {
  const entries = Array.from({ length: 5 }, (_, i) => makeEntry(i))
  const { server } = await withHttpServer(t, entries)
  const seen: string[] = []
  let cursor = 0
  const sizes: number[] = []
  for (;;) {
    const res = await fetch(`${server.url}/api/v1/entries?cursor=${cursor}&limit=2`)
    t.is(res.status, 200)
    t.regex(res.headers.get('content-type') ?? '', /application\/json/)
    const batch = await res.json() as Batch
    sizes.push(batch.entries.length)
    if (batch.entries.length === 0) {
      t.is(batch.next_cursor, null)
      break
    }
    seen.push(...batch.entries.map((e) => e.entry_id))
    cursor = batch.next_cursor!
  }
  t.deepEqual(sizes, [2, 2, 1, 0])
  t.deepEqual(seen, entries.map((e) => e.entry_id))
  // Defaults: cursor 0, limit 1000.
  const all = await (await fetch(`${server.url}/api/v1/entries`)).json() as Batch
  t.is(all.entries.length, 5)
  t.is(all.next_cursor, 5)
  t.deepEqual(Object.keys(all.entries[0]!).sort(), Object.keys(entries[0]!).sort(), 'exactly the spec fields, no ingest_seq')
})

const badQueries: Array<[string, RegExp]> = [
  ['cursor=-1', /cursor must be a non-negative integer/],
  ['cursor=abc', /cursor must be a non-negative integer/],
  ['cursor=1.5', /cursor must be a non-negative integer/],
  ['cursor=99999999999999999', /cursor must be a non-negative integer/],
  ['limit=0', /limit must be a positive integer/],
  ['limit=-5', /limit must be a positive integer/],
  ['limit=ten', /limit must be a positive integer/]
]

for (const [query, reason] of badQueries) {
  test(`GET /api/v1/entries?${query} is refused with 400 and a reason`, async (t) => {
    const { server } = await withHttpServer(t)
    const res = await fetch(`${server.url}/api/v1/entries?${query}`)
    t.is(res.status, 400)
    t.regex(((await res.json()) as { error: string }).error, reason)
  })
}

test('POST /api/v1/entries: valid entries land, invalid ones are listed with reasons, a re-push is ignored', async (t) => {
  const { server, dbPath, log } = await withHttpServer(t)
  const good = [makeEntry(1), makeEntry(2)]
  const bad = { ...makeEntry(3), entry_id: 'not-a-uuid' }
  const badTs = { ...makeEntry(4), ts: 'yesterday' }
  const res = await fetch(`${server.url}/api/v1/entries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ entries: [good[0], bad, good[1], badTs] }) })
  t.is(res.status, 200)
  const ack = await res.json() as { ok: boolean, inserted: number, ignored: number, rejected: Array<{ index: number, reason: string }> }
  t.is(ack.ok, false)
  t.is(ack.inserted, 2)
  t.is(ack.ignored, 0)
  t.deepEqual(ack.rejected.map((r) => r.index), [1, 3])
  t.regex(ack.rejected[0]!.reason, /entry_id must be a UUID/)
  t.regex(ack.rejected[1]!.reason, /ts must be an RFC3339 timestamp/)
  t.deepEqual(entryIds(dbPath), good.map((e) => e.entry_id))
  // A bare array is accepted too, and pushing again is idempotent.
  const again = await (await fetch(`${server.url}/api/v1/entries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(good) })).json() as { ok: boolean, inserted: number, ignored: number }
  t.deepEqual([again.ok, again.inserted, again.ignored], [true, 0, 2])
  t.is(entryIds(dbPath).length, 2)
  t.regex(log.join('\n'), /http push: inserted=2 ignored=0 rejected=2/)
})

const malformedBodies: Array<[string, string, RegExp]> = [
  ['truncated JSON', '{"entries": [', /malformed JSON/],
  ['a number', '42', /must be a JSON object/],
  ['entries not an array', '{"entries": {}}', /entries must be an array/],
  ['invalid UTF-8', '\udc80', /./]
]

for (const [name, body, reason] of malformedBodies) {
  test(`POST /api/v1/entries with ${name} is refused with 400 and a reason`, async (t) => {
    const { server, dbPath } = await withHttpServer(t)
    const payload = name === 'invalid UTF-8' ? Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) : body
    const res = await fetch(`${server.url}/api/v1/entries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload })
    t.is(res.status, 400)
    const ack = await res.json() as { ok: boolean, error: string }
    t.is(ack.ok, false)
    t.regex(ack.error, name === 'invalid UTF-8' ? /not valid UTF-8/ : reason)
    t.is(entryIds(dbPath).length, 0)
  })
}

test('a push body over 16 MiB is refused with 413, whether declared or streamed', async (t) => {
  const { server, dbPath } = await withHttpServer(t)
  const send = async (headers: Record<string, string | number>, chunks: number): Promise<{ status: number, body: string }> =>
    await new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.address.port, method: 'POST', path: '/api/v1/entries', headers }, (res) => {
        let body = ''
        res.on('data', (d: Buffer) => { body += d.toString() })
        res.on('end', () => resolve({ status: res.statusCode!, body }))
      })
      req.on('error', (err) => (err as NodeJS.ErrnoException).code === 'EPIPE' || (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err))
      const chunk = Buffer.alloc(1024 * 1024, 0x20)
      const write = (i: number): void => {
        if (i >= chunks || req.destroyed) { req.end(); return }
        if (req.write(chunk)) write(i + 1)
        else req.once('drain', () => write(i + 1))
      }
      write(0)
    })
  const declared = await send({ 'content-type': 'application/json', 'content-length': maxPushRequestBytes + 1 }, 1)
  t.is(declared.status, 413)
  t.regex(declared.body, /too large.*16777216/)
  const streamed = await send({ 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, 17)
  t.is(streamed.status, 413)
  t.is(entryIds(dbPath).length, 0)
  t.is((await fetch(`${server.url}/api/v1/ping`)).status, 200, 'the server keeps serving')
})

test('ping answers, unknown routes are 404 and wrong methods 405', async (t) => {
  const { server } = await withHttpServer(t)
  t.deepEqual(await (await fetch(`${server.url}/api/v1/ping`)).json(), { ok: true })
  t.is((await fetch(`${server.url}/api/v1/nothing`)).status, 404)
  const put = await fetch(`${server.url}/api/v1/entries`, { method: 'PUT', body: '[]' })
  t.is(put.status, 405)
  t.is(put.headers.get('allow'), 'GET, POST')
})

test('a PushAck with thousands of rejections is trimmed to the 64 KiB push response cap', (t) => {
  const rejected = Array.from({ length: 5000 }, (_, index) => ({ index, reason: `invalid entry: entry_id must be a UUID (${'x'.repeat(40)})` }))
  const bytes = encodePushAck({ ok: false, inserted: 3, ignored: 1, rejected })
  t.true(bytes.byteLength <= maxPushResponseBytes)
  const ack = JSON.parse(Buffer.from(bytes).toString()) as { inserted: number, rejected: unknown[], rejected_total: number }
  t.is(ack.inserted, 3)
  t.is(ack.rejected_total, 5000)
  t.true(ack.rejected.length > 100 && ack.rejected.length < 5000)
})
