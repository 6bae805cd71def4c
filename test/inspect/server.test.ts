import { appendFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { chooseTrace } from '../../src/inspect/run.js'
import { startInspector } from '../../src/inspect/server.js'
import { inspectSink, liveTraceDir } from '../../src/inspect/sink.js'
import { tempDir } from '../helpers/tmp.js'

const line = (ts: string): string => `${JSON.stringify({ ts, kind: 'actor', actor: 'root' })}\n`

test('the server listens on 127.0.0.1 only and serves the page, the diagrams, and the trace as it grows', async (t) => {
  const file = join(tempDir(t), 'trace.jsonl')
  writeFileSync(file, line('2026-01-01T00:00:00.000Z'))
  const inspector = await startInspector({ file, port: 0, pollMs: 20 })
  t.teardown(inspector.close)
  t.regex(inspector.url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
  const page = await (await fetch(inspector.url)).text()
  t.regex(page, /<title>rr inspect/)
  // The SVG namespace URI is an identifier, never fetched.
  t.notRegex(page.replaceAll('http://www.w3.org/2000/svg', ''), /<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!127\.0\.0\.1)[a-z]/i, 'no external resources')
  const graphs = await (await fetch(`${inspector.url}graphs.json`)).json() as { peer: { nodes: unknown[] }, root: { nodes: unknown[] } }
  t.true(graphs.peer.nodes.length > 15)
  t.is((await fetch(`${inspector.url}nope`)).status, 404)

  const controller = new AbortController()
  const res = await fetch(`${inspector.url}events`, { signal: controller.signal })
  t.is(res.headers.get('content-type'), 'text/event-stream')
  const reader = res.body!.getReader()
  let text = ''
  const readUntil = async (pattern: RegExp): Promise<void> => {
    while (!pattern.test(text)) {
      const { value, done } = await reader.read()
      if (done) throw new Error('stream ended')
      text += Buffer.from(value).toString()
    }
  }
  await readUntil(/2026-01-01T00:00:00\.000Z/)
  appendFileSync(file, line('2026-01-01T00:00:05.000Z'))
  await readUntil(/2026-01-01T00:00:05\.000Z/)
  t.is(inspector.records().length, 2)
  controller.abort()
})

test('choosing the trace: FILE, --attach to a running sync, or a clear message', (t) => {
  const dir = tempDir(t)
  const dbPath = join(dir, 'history.db')
  t.throws(() => chooseTrace({ attach: false, dbPath }), { name: 'InspectError', message: /give a trace FILE/ })
  t.throws(() => chooseTrace({ file: 'x', attach: true, dbPath }), { name: 'InspectError', message: /not both/ })
  t.throws(() => chooseTrace({ attach: true, dbPath }), { name: 'InspectError', message: /no running sync is writing a trace .*rr p2p-sync --watch --inspect=FILE/ })
  t.regex(chooseTrace({ file: join(dir, 'later.jsonl'), attach: false, dbPath }).note ?? '', /does not exist yet/)
  const sink = inspectSink(join(dir, 'live.jsonl'), { liveDir: liveTraceDir(dbPath) })
  t.teardown(sink.close)
  const chosen = chooseTrace({ attach: true, dbPath })
  t.is(chosen.file, join(dir, 'live.jsonl'))
  t.regex(chosen.note ?? '', new RegExp(`attached to rr p2p-sync pid ${process.pid}`))
})
