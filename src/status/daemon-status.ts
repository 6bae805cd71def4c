/** What `rr sync-status` and `rr doctor` say about the daemon of a database. Pure: the state is read by the caller. */
import type { DaemonState } from '../store/daemon-lock.js'

function at (unix: number): string {
  return new Date(unix * 1000).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z')
}

/** "running (pid 123 since …; last round …: 2 peers ok, 0 failing)" or "not running (…)". */
export function daemonSummary (state: DaemonState): string {
  const s = state.status
  if (state.running) {
    if (s == null) return 'running (no status file yet)'
    const round = s.last_round_unix != null
      ? `last round ${at(s.last_round_unix)}: ${s.peers_ok ?? 0} peer${s.peers_ok === 1 ? '' : 's'} ok, ${s.peers_failed ?? 0} failing`
      : 'no sync round yet'
    return `running (pid ${s.pid} since ${at(s.started_unix)}; ${round})`
  }
  if (s?.stopped_unix != null) return `not running (stopped ${at(s.stopped_unix)}; start it with rr daemon or rr service install)`
  if (s != null) return `not running (pid ${s.pid} ended without a clean stop; start it with rr daemon or rr service install)`
  return 'not running (start it with rr daemon or rr service install)'
}
