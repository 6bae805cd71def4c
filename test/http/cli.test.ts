import { join } from 'node:path'
import test from 'ava'
import { HttpTransport } from '../../src/http/index.js'
import { decodeJson, encodeMessage, parseSyncBatch } from '../../src/protocol/messages.js'
import { isolatedEnv, rrSpawn, stop } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'
import { entryIds, makeEntry, seedDb } from './fixtures.js'

test('rr http-serve prints a token it then requires, serves pull and push from the --db-path database and stops cleanly on SIGTERM', async (t) => {
  const home = tempDir(t)
  const dbPath = join(home, 'served.db')
  const seeded = [makeEntry(1), makeEntry(2)]
  seedDb(dbPath, seeded)
  const { child, match, output } = await rrSpawn(['--db-path', dbPath, 'http-serve', '--bind', '127.0.0.1:0'], { env: isolatedEnv(home), ready: /http listen: (http:\/\/127\.0\.0\.1:\d+)\nhttp token: (\S+) / })
  t.teardown(async () => { await stop(child) })
  const token = match[2]!
  t.true(token.length >= 32)
  const without = await fetch(`${match[1]!}/api/v1/entries`)
  t.is(without.status, 401)
  const transport = new HttpTransport(match[1]!, { token })

  const batch = parseSyncBatch(decodeJson(await transport.pull({ cursor: 0, limit: 1000 }), 'SyncBatch'))
  t.deepEqual((batch.entries as Array<{ entry_id: string }>).map((e) => e.entry_id), seeded.map((e) => e.entry_id))
  t.is(batch.next_cursor, 2)

  const pushed = makeEntry(3, { device_id: 'dev-b' })
  const ack = await transport.push(encodeMessage({ entries: [pushed] }))
  t.deepEqual([ack.ok, ack.inserted, ack.ignored], [true, 1, 0])

  t.is(await stop(child), 0)
  t.regex(output(), /http push: inserted=1 ignored=0 rejected=0/)
  t.regex(output(), /http stopped/)
  t.deepEqual(entryIds(dbPath), [...seeded, pushed].map((e) => e.entry_id))
})
