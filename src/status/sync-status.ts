/**
 * `rr sync-status`: what the last syncs with each known peer did, and whether anything needs attention. A peer
 * is stale when it has had no successful pull for longer than the threshold, and failing when its last error is
 * not older than its last successful pull. Classification is a pure function of one row and the time; the
 * command exits non-zero when any peer is stale or failing, so cron or a prompt segment can alert on it.
 */
import type { Database } from 'better-sqlite3'
import { showControls } from '../core/escape.js'
import { readPeerOverview, type PeerOverviewRow } from '../store/sync-overview.js'
import { daySec, hourSec, minuteSec } from '../core/units.js'

/** @default 24 hours without a successful pull */
export const defaultStaleHours = 24

export type PeerHealth = 'ok' | 'stale' | 'failing'

export interface PeerClassification {
  /** failing wins over stale. */
  state: PeerHealth
  stale: boolean
  failing: boolean
  /** Why, in words, when not ok. */
  reason?: string
}

export interface PeerSyncStatus extends PeerOverviewRow, PeerClassification {}

export interface SyncStatusSummary {
  peers: number
  ok: number
  stale: number
  failing: number
  /** Peers that sent entries we refused (invalid, over a cap): those entries are not here. */
  withRefused?: number
}

export interface SyncStatusReport {
  now_unix: number
  stale_hours: number
  summary: SyncStatusSummary
  peers: PeerSyncStatus[]
}

/** Classifies one peer at `nowUnix` (seconds). Pure. */
export function classifyPeer (row: Pick<PeerOverviewRow, 'last_pull_unix' | 'last_error' | 'last_error_unix'>, nowUnix: number, staleHours = defaultStaleHours): PeerClassification {
  const pulled = row.last_pull_unix
  // An error in the same second as the last pull counts as newer: a push that failed right after a good pull.
  const failing = row.last_error != null && (pulled == null || (row.last_error_unix != null && row.last_error_unix >= pulled))
  const stale = pulled == null || nowUnix - pulled > staleHours * hourSec
  if (failing) {
    return { state: 'failing', stale, failing, reason: pulled == null ? 'has never pulled successfully and the last attempt failed' : 'the last error is newer than the last successful pull' }
  }
  if (stale) {
    return { state: 'stale', stale, failing, reason: pulled == null ? 'has never pulled successfully' : `no successful pull for ${ago(nowUnix - pulled)} (threshold ${staleHours} h)` }
  }
  return { state: 'ok', stale, failing }
}

export function summarize (peers: ReadonlyArray<PeerClassification & { refused_total?: number | null }>): SyncStatusSummary {
  const withRefused = peers.filter((p) => (p.refused_total ?? 0) > 0).length
  return {
    peers: peers.length,
    ok: peers.filter((p) => p.state === 'ok').length,
    stale: peers.filter((p) => p.state === 'stale').length,
    failing: peers.filter((p) => p.state === 'failing').length,
    ...(withRefused > 0 ? { withRefused } : {})
  }
}

export function syncStatusReport (db: Database, nowUnix: number, staleHours = defaultStaleHours): SyncStatusReport {
  const peers = readPeerOverview(db).map((row) => ({ ...row, ...classifyPeer(row, nowUnix, staleHours) }))
  return { now_unix: nowUnix, stale_hours: staleHours, summary: summarize(peers), peers }
}

/** The exit code the command uses: 1 when any peer is stale or failing. */
export function exitCodeOf (summary: SyncStatusSummary): number {
  return summary.stale > 0 || summary.failing > 0 ? 1 : 0
}

/** One line for `rr doctor` and prompts: "sync: 3 peers, 1 stale, 0 failing". */
export function summaryLine (summary: SyncStatusSummary): string {
  if (summary.peers === 0) return 'sync: no peers known yet'
  const refused = (summary.withRefused ?? 0) > 0 ? `, ${summary.withRefused} sent entries we refused` : ''
  return `sync: ${summary.peers} peer${summary.peers === 1 ? '' : 's'}, ${summary.stale} stale, ${summary.failing} failing${refused}`
}

/** The one-line summary straight from a database (what `rr doctor` shows). */
export function syncStatusLine (db: Database, nowUnix = Math.floor(Date.now() / 1000), staleHours = defaultStaleHours): string {
  return summaryLine(syncStatusReport(db, nowUnix, staleHours).summary)
}

/** "3h ago"-style age of a span in seconds. */
export function ago (seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 90) return `${s}s`
  if (s < 90 * minuteSec) return `${Math.round(s / minuteSec)}m`
  if (s < 2 * daySec) return `${Math.round(s / hourSec)}h`
  return `${Math.round(s / daySec)}d`
}

function when (unix: number, nowUnix: number): string {
  return `${new Date(unix * 1000).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z')} (${ago(nowUnix - unix)} ago)`
}

/** The human-readable report. */
export function renderSyncStatus (report: SyncStatusReport): string {
  const lines: string[] = []
  const now = report.now_unix
  for (const p of report.peers) {
    lines.push(`${p.peer_id}  ${p.state.toUpperCase()}`)
    const row = (label: string, value: string): void => { lines.push(`  ${label.padEnd(10)} ${value}`) }
    const who = [p.device_id, p.hostname != null && p.hostname !== p.device_id ? `host ${p.hostname}` : undefined].filter((x) => x != null)
    if (who.length > 0) row('device', who.join(', '))
    row('last pull', `${p.last_pull_unix != null ? `${when(p.last_pull_unix, now)}, ${p.last_pull_count ?? 0} new entries` : 'never'} · cursor ${p.last_cursor ?? 0}`)
    row('last push', `${p.last_push_unix != null ? `${when(p.last_push_unix, now)}, ${p.last_push_count ?? 0} entries` : 'never'} · pushed up to seq ${p.last_pushed_seq ?? 0}`)
    if (p.last_path != null || p.last_addr != null) row('path', [p.last_path, p.last_addr].filter((x) => x != null).join(' '))
    if ((p.refused_total ?? 0) > 0) {
      row('refused', `${p.refused_total} entries in total, not stored (invalid or over a cap)${p.last_refused_unix != null ? `; last ${when(p.last_refused_unix, now)}: ${p.last_refused_count ?? 0}, first reason: ${showControls(p.last_refused_reason ?? '?')}` : ''}`)
    }
    if (p.last_error != null) row('last error', `${p.last_error_unix != null ? `${when(p.last_error_unix, now)}: ` : ''}${showControls(p.last_error)}`)
    if (p.reason != null) row('why', p.reason)
  }
  if (report.peers.length === 0) lines.push('no peers known yet: nothing has synced with this database (run rr p2p-sync)')
  else lines.push(`${summaryLine(report.summary)} (stale = no successful pull for ${report.stale_hours} h)`)
  return `${lines.join('\n')}\n`
}
