/**
 * Attacks on `rr inspect`: a trace whose fields carry HTML (a peer controls error texts and addresses; a crafted
 * trace file controls everything), opened in a real headless Chromium; and a foreign Host header (DNS rebinding)
 * asking for /trace.json.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import test from 'ava'
import { chromium } from 'playwright-core'
import { isolatedEnv, rrSpawn, stop } from '../helpers/cli.js'
import { device } from '../helpers/peers.js'
import { tempDir } from '../helpers/tmp.js'

declare const document: { title: string, querySelectorAll: (s: string) => ArrayLike<unknown>, body: { innerText: string } }
declare const window: { pwned?: boolean }

const deadPeer = '12D3KooWLeRSiA9vM22fUedungBGiRPQpUzetZi9YhsPYYEkjrp3'
const payload = '<img src=x onerror="window.pwned=true;document.title=\'pwned\'">'

async function get (url: string, host: string, headers: Record<string, string> = {}): Promise<{ status: number, headers: Record<string, unknown>, body: string }> {
  const { hostname, port, pathname } = new URL(url)
  return await new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path: pathname, headers: { host, ...headers }, setHost: false }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => { body += d.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

test('HTML in every trace field is shown as text, never run; the page has a restrictive CSP; a foreign Host gets nothing', async (t) => {
  const dir = tempDir(t)
  const b = device(t, dir, 'devB', join(dir, 'swarm.key'))
  const file = join(dir, 'trace.jsonl')
  const run = await b.rr(['p2p-sync', '--peers', `/ip4/127.0.0.1/tcp/1/p2p/${deadPeer}`, `--inspect=${file}`])
  t.is(run.code, 1)
  // Every string and number field of every record becomes the payload, except the ones that route the record.
  const keep = new Set(['actor', 'kind', 'ts', 'state', 'from', 'to', 'key', 'event'])
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((line) => {
    const record = JSON.parse(line) as Record<string, unknown>
    for (const [k, v] of Object.entries(record)) {
      if (!keep.has(k) && (typeof v === 'string' || typeof v === 'number')) record[k] = payload
    }
    if (record.attempt === undefined && record.kind === 'transition') record.attempt = payload
    return JSON.stringify(record)
  })
  t.true(lines.some((l) => l.includes('"attempt":"<img')), 'the attempt field carries the payload')
  writeFileSync(file, lines.join('\n') + '\n')

  const inspector = await rrSpawn(['--db-path', b.dbPath, 'inspect', file, '--port', '0'], { env: b.env, ready: /inspect: (http:\/\/127\.0\.0\.1:\d+\/)/ })
  t.teardown(async () => { await stop(inspector.child) })
  const url = inspector.match[1]!
  const { port } = new URL(url)

  const rebound = await get(`${url}trace.json`, `attacker.example:${port}`)
  t.is(rebound.status, 403)
  t.false(rebound.body.includes('<img'), 'no trace content to a foreign Host')
  const own = await get(url, `127.0.0.1:${port}`)
  t.is(own.status, 200)
  t.regex(String(own.headers['content-security-policy']), /default-src 'none'; script-src 'sha256-[^']+'/)
  t.is((await get(`${url}trace.json`, `8.8.8.8:${port}`)).status, 403, 'an IP literal of another machine is no Host of this one')
  const trace = await get(`${url}trace.json`, `127.0.0.1:${port}`)
  t.is(trace.status, 200)
  t.is(trace.headers['x-content-type-options'], 'nosniff')
  t.is(trace.headers['cross-origin-resource-policy'], 'same-origin')

  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-dev-shm-usage'] })
  t.teardown(async () => { await browser.close() })
  const page = await browser.newPage()
  await page.goto(url)
  await page.waitForSelector('.peer-card', { timeout: 60_000 })
  await page.waitForFunction(() => document.body.innerText.includes('onerror'), undefined, { timeout: 30_000 })
  await new Promise((resolve) => setTimeout(resolve, 1000))
  t.false(await page.evaluate(() => window.pwned === true), 'the payload ran')
  t.not(await page.title(), 'pwned')
  t.is(await page.evaluate(() => document.querySelectorAll('img').length), 0, 'no element was made from a trace field')
})

test('another site\'s page gets nothing from rr inspect: neither /trace.json as a script nor the event stream', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'trace.jsonl')
  writeFileSync(file, `${JSON.stringify({ ts: '2026-01-01T00:00:00.000Z', kind: 'actor', actor: 'root', src: 'root' })}\n`)
  const inspector = await rrSpawn(['inspect', file, '--port', '0'], { env: isolatedEnv(join(dir, 'home')), ready: /inspect: (http:\/\/127\.0\.0\.1:\d+\/)/ })
  t.teardown(async () => { await stop(inspector.child) })
  const url = inspector.match[1]!
  const evil = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><script>
      const results = {}
      const done = () => { if (Object.keys(results).length === 2) document.title = JSON.stringify(results) }
      const s = document.createElement('script')
      s.src = ${JSON.stringify(`${url}trace.json`)}
      s.onload = () => { results.script = 'loaded'; done() }
      s.onerror = () => { results.script = 'blocked'; done() }
      document.head.appendChild(s)
      const events = new EventSource(${JSON.stringify(`${url}events`)})
      events.addEventListener('hello', () => { results.events = 'open'; events.close(); done() })
      events.onerror = () => { results.events = 'blocked'; events.close(); done() }
    </script>`)
  })
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { evil.closeAllConnections(); evil.close() })
  const evilPort = (evil.address() as AddressInfo).port
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-dev-shm-usage', '--host-resolver-rules=MAP evil.test 127.0.0.1'] })
  t.teardown(async () => { await browser.close() })
  const page = await browser.newPage()
  await page.goto(`http://evil.test:${evilPort}/`)
  await page.waitForFunction(() => document.title !== '', undefined, { timeout: 60_000 })
  t.deepEqual(JSON.parse(await page.title()), { script: 'blocked', events: 'blocked' })
  // What the browser said of those requests, refused by the server itself (the browser's own blocking aside).
  const { host } = new URL(url)
  for (const headers of [{ 'sec-fetch-site': 'cross-site' }, { origin: `http://evil.test:${evilPort}` }]) {
    const refused = await get(`${url}trace.json`, host, headers)
    t.is(refused.status, 403, JSON.stringify(headers))
    t.false(refused.body.includes('"kind"'))
  }
  // The page itself, opened by the user, still works.
  const own = await browser.newPage()
  await own.goto(url)
  await own.waitForSelector('.peer-card, .root-card, body', { timeout: 60_000 })
  t.is((await get(`${url}trace.json`, new URL(url).host)).status, 200)
})

test('a trace with a peer named __proto__ and a record of another shape still draws every peer, with no script error', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'trace.jsonl')
  const snapshot = (peer: string): Record<string, unknown> => ({ ts: '2026-01-01T00:00:00.000Z', kind: 'snapshot', actor: `peer:${peer}`, peer, state: ['done'], status: 'done' })
  const spawned = (peer: string): Record<string, unknown> => ({ ts: '2026-01-01T00:00:00.000Z', kind: 'actor', actor: `peer:${peer}`, peer, parent: 'root', src: 'peer' })
  const records = [spawned('__proto__'), snapshot('__proto__'), { ...snapshot('b'), state: 'discovering' }, { ...snapshot('b'), event: 7 }, spawned('b'), snapshot('b')]
  writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n')
  const inspector = await rrSpawn(['inspect', file, '--port', '0'], { env: isolatedEnv(join(dir, 'home')), ready: /inspect: (http:\/\/127\.0\.0\.1:\d+\/)/ })
  t.teardown(async () => { await stop(inspector.child) })
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-dev-shm-usage'] })
  t.teardown(async () => { await browser.close() })
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  await page.goto(inspector.match[1]!)
  await page.waitForFunction(() => document.querySelectorAll('.peer-card').length >= 2, undefined, { timeout: 60_000 })
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.deepEqual(errors, [])
  t.is(await page.evaluate(() => document.querySelectorAll('.peer-card').length), 2)
  t.true(await page.evaluate(() => document.body.innerText.includes('__proto__')))
})
