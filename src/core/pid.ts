/**
 * Whether a process that wrote a file (a shell's pending record, a drainer's claim, a live trace) is still there.
 */
import { readFileSync } from 'node:fs'

/**
 * True once `pid` has exited. A zombie counts as exited: a shell killed with its terminal is reparented, and where
 * nothing reaps it (a container whose init does not, a tmux server that went first) it stays in the process table
 * for good while its work is long over. A pid we may not signal (EPERM) belongs to another user and is running.
 */
export function processIsGone (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH'
  }
  return isZombie(pid)
}

function isZombie (pid: number): boolean {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
  } catch {
    return false // no /proc (not Linux): kill(0) is all there is
  }
  // `pid (comm) S …`: comm may hold spaces and parentheses, so the state follows the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
  return state === 'Z' || state === 'X'
}
