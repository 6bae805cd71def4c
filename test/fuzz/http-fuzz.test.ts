/**
 * Fuzzing the HTTP surfaces: `rr http-serve` (POST/GET /api/v1/entries) and `rr tracker-serve`
 * (POST /api/v1/peers/register, GET /api/v1/peers), as real processes, over raw sockets so that broken HTTP,
 * invalid UTF-8, NUL bytes, oversized and reset bodies and slow-loris clients can be sent. The servers must answer
 * with an HTTP error or close, keep serving normal clients, keep their memory bounded, and http-serve must store no
 * invalid entry. RUSTORY_FUZZ_CASES raises the number of cases; RUSTORY_FUZZ_SEED replays a run.
 */
import test, { type ExecutionContext } from 'ava'
import { readFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import { join } from 'node:path'
import fc from 'fast-check'
import type { Entry } from '../../src/core/entry.js'
import { maxPushRequestBytes } from '../../src/protocol/constants.js'
import { isolatedEnv, rrSpawn, stop } from '../helpers/cli.js'
import { prng, sleep } from '../helpers/cluster.js'
import { tempDir } from '../helpers/tmp.js'
import { assertStoredEntriesValid, generateCase, validEntry } from './cases.js'

const cases = Number(process.env.RUSTORY_FUZZ_CASES ?? 600)
const seed = Number(process.env.RUSTORY_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
const rssBoundKiB = 600 * 1024

function rssKiB (pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m == null ? 0 : Number(m[1])
}

interface RawResult { status?: number, body: string, closedWithoutAnswer: boolean }

/**
 * Writes raw bytes to host:port and reads until the server closes (or `timeoutMs`). `reset` destroys the socket after
 * a random prefix; `chunked` writes in small pieces.
 */
async function raw (port: number, bytes: Buffer, mode: 'whole' | 'chunked' | 'reset', random: () => number, timeoutMs = 20_000): Promise<RawResult> {
  return await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no answer and no close within ${timeoutMs} ms`)) }, timeoutMs)
    socket.on('data', (d: Buffer) => chunks.push(d))
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      const text = Buffer.concat(chunks).toString('latin1')
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text)
      resolve({ ...(m != null ? { status: Number(m[1]) } : {}), body: text.slice(text.indexOf('\r\n\r\n') + 4), closedWithoutAnswer: m == null })
    })
    socket.on('connect', () => {
      void (async () => {
        if (mode === 'reset') {
          socket.write(bytes.subarray(0, Math.floor(random() * bytes.length)))
          await sleep(random() * 10)
          socket.destroy()
          return
        }
        if (mode === 'chunked') {
          for (let o = 0; o < bytes.length; o += 512) {
            if (socket.destroyed) return
            socket.write(bytes.subarray(o, o + 512))
          }
        } else {
          socket.write(bytes)
        }
        // No half-close: Node's HTTP server drops a request whose client half-closed before the (async) answer.
        // A request the server still waits on (a short body) is ended after a moment instead.
        setTimeout(() => socket.end(), 2000).unref()
      })()
    })
  })
}

const fuzzToken = 'fuzz-token-0123456'

/**
 * A well-formed request on a connection of its own. fetch keeps its connection between checks, and a check made just
 * as the server closed that idle connection (its keep-alive timeout, 5 s) failed with `fetch failed` under load
 * (CI with a busy loop beside it): the client's race, not the server's.
 */
async function fresh (url: string, init: { method?: string, headers?: Record<string, string>, body?: string } = {}): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    })
    req.on('error', (err: NodeJS.ErrnoException) => reject(new Error(`${init.method ?? 'GET'} ${url}: ${err.code ?? err.message}`)))
    req.end(init.body)
  })
}

function request (method: string, path: string, body: Buffer, headers: Record<string, string> = {}): Buffer {
  // With http-serve's token, so the fuzz reaches the parsing behind it (the tracker ignores it: it has none).
  const head = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', `Content-Length: ${body.length}`, `X-Rustory-Token: ${fuzzToken}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)].join('\r\n')
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), body])
}

/** Requests that are not HTTP, or HTTP at its edges. */
function brokenHttp (random: () => number): Buffer {
  const options = [
    () => Buffer.from('GARBAGE\r\n\r\n'),
    () => Buffer.from(`GET /api/v1/entries?cursor=${'9'.repeat(5000)} HTTP/1.1\r\nHost: x\r\n\r\n`),
    () => Buffer.from(`GET / HTTP/1.1\r\n${'X-A: b\r\n'.repeat(200)}\r\n`),
    () => Buffer.from(`GET / HTTP/1.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
    () => Buffer.from('GET /api/v1/ping HTTP/1.1\r\nHost: \u0000\r\n\r\n', 'latin1'),
    () => Buffer.from([0x47, 0x45, 0x54, 0x20, 0xff, 0xfe, 0x0d, 0x0a, 0x0d, 0x0a]),
    () => Buffer.from('POST /api/v1/entries HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'),
    () => Buffer.from('POST /api/v1/entries HTTP/1.1\r\nContent-Length: -5\r\n\r\n'),
    () => Buffer.from('POST /api/v1/entries HTTP/1.1\r\nContent-Length: 10\r\nContent-Length: 20\r\n\r\n0123456789'),
    () => Buffer.from(`POST /api/v1/entries HTTP/1.1\r\nContent-Length: ${maxPushRequestBytes + 1}\r\n\r\n{"entries":[`),
    () => Buffer.from('GET /api/v1/entries?cursor=-1&limit=0 HTTP/1.1\r\n\r\n'),
    () => Buffer.from('GET /api/v1/entries?cursor=1e308&limit=NaN HTTP/1.1\r\n\r\n'),
    () => Buffer.from('GET /api/v1/entries?cursor=%00&limit=%FF%FE HTTP/1.1\r\n\r\n'),
    () => Buffer.from('DELETE /api/v1/entries HTTP/1.1\r\n\r\n'),
    () => Buffer.from('GET /../../etc/passwd HTTP/1.1\r\n\r\n')
  ]
  return options[Math.floor(random() * options.length)]!()
}

async function startServer (t: ExecutionContext, args: string[], ready: RegExp, home: string): Promise<{ port: number, pid: number, alive: () => boolean }> {
  const { child, match } = await rrSpawn(args, { env: isolatedEnv(home, { RUSTORY_HTTP_TOKEN: fuzzToken }), ready, timeoutMs: 90_000 })
  t.teardown(async () => { await stop(child) })
  return { port: Number(match[1]), pid: child.pid!, alive: () => child.exitCode == null && child.signalCode == null }
}

test('rr http-serve and rr tracker-serve survive thousands of hostile requests, and http-serve stores no invalid entry', async (t) => {
  t.timeout(240_000)
  t.log(`seed ${seed}, ${cases} cases (replay: RUSTORY_FUZZ_SEED=${seed})`)
  const random = prng(seed)
  const root = tempDir(t, 'rustory-fuzz-http-')
  const dbPath = join(root, 'http.db')
  const [http, tracker] = await Promise.all([
    startServer(t, ['--db-path', dbPath, 'http-serve', '--bind', '127.0.0.1:0'], /http listen: http:\/\/127\.0\.0\.1:(\d+)/, root),
    startServer(t, ['tracker-serve', '--bind', '127.0.0.1:0', '--ttl-sec', '60'], /tracker listen: http:\/\/127\.0\.0\.1:(\d+)/, root)
  ])

  // Slow-loris clients: headers one byte a second, never finishing; the servers must drop them (headers timeout).
  const lorisStarted = Date.now()
  const loris = [http.port, tracker.port, http.port].map(async (port) => await new Promise<number>((resolve) => {
    const socket = connect(port, '127.0.0.1')
    const text = 'POST /api/v1/entries HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n'
    let k = 0
    const timer = setInterval(() => { if (!socket.destroyed) socket.write(text[k++ % text.length]!) }, 1000)
    socket.on('error', () => {})
    socket.resume()
    socket.on('close', () => { clearInterval(timer); resolve(Date.now() - lorisStarted) })
    setTimeout(() => socket.destroy(), 60_000).unref()
  }))

  const counts = new Map<string, number>()
  let maxRss = { http: rssKiB(http.pid), tracker: rssKiB(tracker.pid) }
  let pushedValid = 0
  for (let i = 0; i < cases; i++) {
    const r = random()
    let surface: string
    let bytes: Buffer
    let mode: 'whole' | 'chunked' | 'reset' = 'whole'
    if (r < 0.45) {
      const c = generateCase(random, i, { target: 'push', capBytes: maxPushRequestBytes })
      surface = `entries-post/${c.kind}`
      mode = c.delivery
      const body = Buffer.from(c.bytes)
      bytes = request('POST', '/api/v1/entries', body, random() < 0.2 ? { 'Content-Type': 'text/plain; charset=latin1' } : { 'Content-Type': 'application/json' })
    } else if (r < 0.55) {
      // Percent-encoded random bytes: invalid UTF-8, NULs, signs, huge digit strings.
      const [q] = fc.sample(fc.uint8Array({ maxLength: 40 }), { seed: Math.floor(random() * 2 ** 31), numRuns: 1 })
      const pct = (b: Uint8Array): string => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')
      surface = 'entries-get/weird-query'
      bytes = request('GET', `/api/v1/entries?cursor=${pct(q!)}&limit=${pct(q!.subarray(0, 5))}`, Buffer.alloc(0))
    } else if (r < 0.85) {
      const c = generateCase(random, i, { target: 'push', capBytes: 64 * 1024, big: false })
      const [meta] = fc.sample(fc.anything(), { seed: Math.floor(random() * 2 ** 31), numRuns: 1 })
      const shapes = [Buffer.from(c.bytes), Buffer.from(JSON.stringify({ peer_id: 'x', addrs: meta, meta }) ?? 'null'),
        Buffer.from(JSON.stringify({ peer_id: '12D3KooW' + 'a'.repeat(44), addrs: ['/ip4/1.2.3.4/tcp/1'], meta: { device_id: meta, user_id: 'u', hostname: 'h', version: 'v' } }) ?? 'null')]
      surface = `tracker-register/${c.kind}`
      mode = c.delivery
      bytes = request('POST', '/api/v1/peers/register', shapes[Math.floor(random() * shapes.length)]!)
    } else {
      surface = 'broken-http'
      bytes = brokenHttp(random)
    }
    const port = surface.startsWith('tracker') || (surface === 'broken-http' && random() < 0.5) ? tracker.port : http.port
    const result = await raw(port, bytes, mode, random)
    const outcome = mode === 'reset' ? 'reset-by-us' : result.status != null ? String(result.status) : 'closed'
    if (mode !== 'reset' && result.status != null) t.true(result.status < 500, `${surface} got ${result.status}: ${result.body.slice(0, 300)}`)
    const key = `${surface}/${outcome}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
    if (i % 50 === 49) {
      const base = `http://127.0.0.1:${http.port}`
      const pulled = JSON.parse((await fresh(`${base}/api/v1/entries?cursor=0&limit=3`, { headers: { 'x-rustory-token': fuzzToken } })).body) as { entries: Entry[] }
      t.true(Array.isArray(pulled.entries), `normal pull after case ${i}`)
      const ack = JSON.parse((await fresh(`${base}/api/v1/entries`, { method: 'POST', headers: { 'x-rustory-token': fuzzToken, 'content-type': 'application/json' }, body: JSON.stringify({ entries: [validEntry(random, 2_000_000 + i)] }) })).body) as { ok: boolean, inserted: number }
      t.true(ack.ok && ack.inserted === 1, `normal push after case ${i}: ${JSON.stringify(ack)}`)
      pushedValid++
      const ping = await fresh(`http://127.0.0.1:${tracker.port}/api/v1/ping`)
      t.is(ping.status, 200, `tracker ping after case ${i}`)
      t.true(http.alive() && tracker.alive())
      maxRss = { http: Math.max(maxRss.http, rssKiB(http.pid)), tracker: Math.max(maxRss.tracker, rssKiB(tracker.pid)) }
    }
  }
  t.log(`outcomes: ${JSON.stringify(Object.fromEntries([...counts].sort()))}`)
  t.log(`RSS max: http-serve ${Math.round(maxRss.http / 1024)} MiB, tracker-serve ${Math.round(maxRss.tracker / 1024)} MiB`)
  t.true(maxRss.http < rssBoundKiB && maxRss.tracker < rssBoundKiB)
  const lorisCut = await Promise.all(loris)
  t.log(`slow-loris connections cut after ${lorisCut.map((ms) => `${Math.round(ms / 1000)} s`).join(', ')}`)
  for (const ms of lorisCut) t.true(ms < 30_000, `a slow-loris client was dropped after ${ms} ms`)

  assertStoredEntriesValid(t, dbPath, pushedValid)
})
