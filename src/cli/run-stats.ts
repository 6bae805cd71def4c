/** `--stats`: how responsive the event loop stayed, how much memory and CPU the run took. */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { readFileSync } from 'node:fs'

function peakRssMb (): number {
  try {
    const status = readFileSync('/proc/self/status', 'utf8')
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1])
    if (Number.isFinite(kb)) return kb / 1024
  } catch {}
  return process.memoryUsage().rss / 1024 / 1024
}

/** User and system time of the whole process (every thread: the workers' too). */
function cpuMs (usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000
}

export function startRunStats (): { reset: () => void, stop: () => string } {
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  let started = performance.now()
  let cpu = process.cpuUsage()
  return {
    reset: () => {
      histogram.reset()
      started = performance.now()
      cpu = process.cpuUsage()
    },
    stop: () => {
      histogram.disable()
      const ms = (ns: number): string => (ns / 1e6).toFixed(1)
      return `stats: event_loop_delay_max_ms=${ms(histogram.max)} event_loop_delay_p99_ms=${ms(histogram.percentile(99))} peak_rss_mb=${peakRssMb().toFixed(0)} wall_ms=${(performance.now() - started).toFixed(0)} cpu_ms=${cpuMs(process.cpuUsage(cpu)).toFixed(0)}`
    }
  }
}
