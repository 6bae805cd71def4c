/**
 * The inspector in a real browser (Debian's chromium driven by playwright-core): a saved trace of a real sync, and
 * a live `p2p-sync --watch` attached with `rr inspect --attach`. Screenshots go to test-artifacts/.
 */
import { spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { chromium, type Browser } from 'playwright-core'
import { repoRoot, rrBin, rrSpawn, stop } from '../helpers/cli.js'
import { device } from '../helpers/peers.js'
import { tempDir } from '../helpers/tmp.js'

/** The page's DOM, as far as the functions evaluated in the browser use it (the tests compile without lib.dom). */
declare const document: { body: { getAttribute: (name: string) => string | null }, querySelectorAll: (selector: string) => ArrayLike<{ textContent: string | null }> }

const artifacts = join(repoRoot, 'test-artifacts')
const deadPeer = '12D3KooWLeRSiA9vM22fUedungBGiRPQpUzetZi9YhsPYYEkjrp3'

async function launch (): Promise<Browser> {
  return await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-dev-shm-usage']
  })
}

test('a saved trace: one card per peer, each in its final state, and the root card', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const a = device(t, dir, 'devA', swarm)
  const b = device(t, dir, 'devB', swarm)
  await a.record(2)
  const { addr } = await a.serve()
  const file = join(dir, 'trace.jsonl')
  const run = await b.rr(['p2p-sync', '--peers', `${addr},/ip4/127.0.0.1/tcp/1/p2p/${deadPeer}`, `--inspect=${file}`])
  t.is(run.code, 1, 'one peer failed')
  const okPeer = addr.slice(addr.lastIndexOf('/p2p/') + 5)

  const inspector = await rrSpawn(['--db-path', b.dbPath, 'inspect', file, '--port', '0'], { env: b.env, ready: /inspect: (http:\/\/127\.0\.0\.1:\d+\/)/ })
  t.teardown(async () => { await stop(inspector.child) })
  const browser = await launch()
  t.teardown(async () => { await browser.close() })
  const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } })
  const failedRequests: string[] = []
  page.on('requestfailed', (r) => failedRequests.push(r.url()))
  page.on('request', (r) => { if (!r.url().startsWith(inspector.match[1]!)) failedRequests.push(`external: ${r.url()}`) })
  await page.goto(inspector.match[1]!)
  await page.waitForSelector('.peer-card >> nth=1')

  t.is(await page.locator('.peer-card').count(), 2)
  t.is(await page.locator(`.peer-card[data-peer="${okPeer}"] .current-state`).textContent(), 'done')
  t.is(await page.locator(`.peer-card[data-peer="${deadPeer}"] .current-state`).textContent(), 'gaveUp')
  t.is(await page.locator('.root-card .current-state').textContent(), 'done')
  // The diagram highlights the current state and the path taken.
  t.is(await page.locator(`.peer-card[data-peer="${deadPeer}"] g.state.active[data-state="gaveUp"]`).count(), 1)
  t.is(await page.locator(`.peer-card[data-peer="${deadPeer}"] g.edge.taken[data-edge="dialingDirect.backoff>dialingDirect.attempting"]`).count(), 1)
  t.is(await page.locator(`.peer-card[data-peer="${okPeer}"] g.state.visited[data-state="connected.upgrade.direct"]`).count(), 1)
  // The timeline lists the transitions with the dial error.
  const timeline = await page.locator(`.peer-card[data-peer="${deadPeer}"] .timeline`).innerText()
  t.regex(timeline, /dialingDirect\.failedAttempt/)
  t.regex(timeline, /ECONNREFUSED/)
  t.regex(timeline, /gaveUp/)
  t.regex(await page.locator(`.peer-card[data-peer="${okPeer}"] .meta`).innerText(), /path direct/)
  // Replay: scrubbing back to the start shows the peers before they finished.
  await page.locator('#scrub').fill('30')
  t.not(await page.locator(`.peer-card[data-peer="${deadPeer}"] .current-state`).textContent(), 'gaveUp')
  t.deepEqual(failedRequests, [], 'everything is served by the inspector itself')
  mkdirSync(artifacts, { recursive: true })
  await page.locator('#scrub').fill(await page.locator('#scrub').getAttribute('max') ?? '0')
  await page.screenshot({ path: join(artifacts, 'inspect-saved-trace.png'), fullPage: true })
})

test('live: rr inspect --attach follows a running p2p-sync --watch as rounds go by', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const a = device(t, dir, 'devA', swarm)
  const b = device(t, dir, 'devB', swarm)
  await a.record(1)
  const { addr } = await a.serve()
  const peerId = addr.slice(addr.lastIndexOf('/p2p/') + 5)
  const file = join(dir, 'live.jsonl')
  const sync = spawn(process.execPath, [rrBin, '--db-path', b.dbPath, 'p2p-sync', '--peers', addr, '--watch', '--interval-sec', '1', `--inspect=${file}`], { env: b.env, cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(async () => { await stop(sync) })
  // The sync announces its trace as soon as it starts; --attach finds it through the same database.
  let inspector: Awaited<ReturnType<typeof rrSpawn>> | undefined
  for (let i = 0; i < 60 && inspector == null; i++) {
    inspector = await rrSpawn(['--db-path', b.dbPath, 'inspect', '--attach', '--port', '0'], { env: b.env, ready: /inspect: (http:\/\/127\.0\.0\.1:\d+\/)/ }).catch(async () => { await new Promise((resolve) => setTimeout(resolve, 250)); return undefined })
  }
  t.truthy(inspector, 'rr inspect --attach found the running sync')
  t.teardown(async () => { await stop(inspector!.child) })
  const browser = await launch()
  t.teardown(async () => { await browser.close() })
  const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } })
  await page.goto(inspector!.match[1]!)
  const card = page.locator(`.peer-card[data-peer="${peerId}"]`)
  await card.waitFor()
  await t.notThrowsAsync(page.waitForSelector('#live.on'))
  // Under --watch the machine goes round: synced → waiting → discovering …; the page sees a second round live.
  await page.waitForFunction((id) => {
    const entered = Array.from(document.querySelectorAll(`.peer-card[data-peer="${id}"] .timeline tbody td.s`)).map((c) => c.textContent ?? '')
    return entered.filter((text) => text.startsWith('waiting')).length >= 2
  }, peerId, { timeout: 30_000 })
  const before = Number(await page.locator('body').getAttribute('data-records'))
  await page.waitForFunction((n) => Number(document.body.getAttribute('data-records')) > n, before, { timeout: 15_000 })
  t.regex(await card.locator('.current-state').textContent() ?? '', /^(waiting|discovering|choosingPath|dialingDirect\.attempting|connected\..*|synced)$/)
  t.is(await card.locator('.status').textContent(), 'active')
  t.is(await page.locator('.root-card .current-state').textContent(), 'supervising')
  mkdirSync(artifacts, { recursive: true })
  await page.screenshot({ path: join(artifacts, 'inspect-live-watch.png'), fullPage: true })
})
