/**
 * `rr service install|uninstall|status`: write the service definition, then let the service manager take it
 * (systemctl --user / launchctl) when one runs here; where none runs (containers, CI) say how to start it.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { launchdLabel, renderService, servicePath, systemdUnitName, type ServicePlatform, type ServiceSpec } from './unit.js'

export class ServiceError extends Error {
  static override readonly name = 'ServiceError'
  override readonly name = 'ServiceError'
  readonly exitCode = 1
}

export interface ServiceInit {
  home: string
  /** The entry script of this rr (process.argv[1]). */
  rrScript: string
  /** process.execPath */
  node: string
  globalArgs: string[]
  /** @default from process.platform */
  platform?: ServicePlatform
}

export function platformOf (platform: NodeJS.Platform = process.platform): ServicePlatform {
  if (platform === 'linux') return 'systemd'
  if (platform === 'darwin') return 'launchd'
  throw new ServiceError(`rr service supports Linux (systemd) and macOS (launchd), not ${platform}; run rr daemon from your own startup script`)
}

function specOf (init: ServiceInit): ServiceSpec {
  let rr = init.rrScript
  try { rr = realpathSync(rr) } catch {}
  return { node: init.node, rr, globalArgs: init.globalArgs, home: init.home }
}

/** Whether systemd runs here as the init system (a container or CI usually has none). */
function systemdRunning (): boolean {
  return existsSync('/run/systemd/system')
}

function run (cmd: string, args: string[]): { ok: boolean, out: string } {
  try {
    return { ok: true, out: execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 }).trim() }
  } catch (err) {
    const e = err as { stdout?: string, stderr?: string, message: string }
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}`.trim() || e.message }
  }
}

export function serviceDefinition (init: ServiceInit): { path: string, content: string, platform: ServicePlatform } {
  const platform = init.platform ?? platformOf()
  return { platform, path: servicePath(platform, init.home), content: renderService(platform, specOf(init)) }
}

export function installService (init: ServiceInit): string[] {
  const { platform, path, content } = serviceDefinition(init)
  mkdirSync(dirname(path), { recursive: true })
  const tmp = `${path}.tmp-${process.pid}`
  writeFileSync(tmp, content, { mode: 0o644 })
  renameSync(tmp, path)
  const lines = [`wrote ${path}`]
  if (platform === 'systemd') {
    if (!systemdRunning()) {
      lines.push('systemd is not running here (a container or CI?): the unit is written but not started.')
      lines.push('where systemd runs: systemctl --user daemon-reload && systemctl --user enable --now rustory')
      lines.push('here: run `rr daemon` yourself (e.g. under your container\'s process manager)')
      return lines
    }
    for (const args of [['--user', 'daemon-reload'], ['--user', 'enable', '--now', systemdUnitName]]) {
      const r = run('systemctl', args)
      if (!r.ok) throw new ServiceError(`systemctl ${args.join(' ')} failed: ${r.out} (the unit is written at ${path}; fix the above and run: systemctl --user enable --now rustory)`)
    }
    lines.push('enabled and started: systemctl --user status rustory · logs: journalctl --user -u rustory -f')
    lines.push('to keep it running after you log out: loginctl enable-linger $USER')
  } else {
    run('launchctl', ['unload', path])
    const r = run('launchctl', ['load', '-w', path])
    if (!r.ok) throw new ServiceError(`launchctl load -w ${path} failed: ${r.out}`)
    lines.push(`loaded ${launchdLabel}: launchctl list ${launchdLabel} · logs: ${init.home}/.rustory/daemon.log`)
  }
  return lines
}

export function uninstallService (init: ServiceInit): string[] {
  const { platform, path } = serviceDefinition(init)
  const lines: string[] = []
  if (platform === 'systemd' && systemdRunning()) {
    const r = run('systemctl', ['--user', 'disable', '--now', systemdUnitName])
    lines.push(r.ok ? 'stopped and disabled rustory' : `systemctl --user disable --now rustory: ${r.out}`)
  }
  if (platform === 'launchd' && existsSync(path)) run('launchctl', ['unload', '-w', path])
  if (existsSync(path)) {
    rmSync(path)
    lines.push(`removed ${path}`)
    if (platform === 'systemd' && systemdRunning()) run('systemctl', ['--user', 'daemon-reload'])
  } else {
    lines.push(`nothing installed at ${path}`)
  }
  return lines
}

export interface ServiceStatus {
  platform: ServicePlatform
  path: string
  installed: boolean
  /** The service manager's word, when one runs here. */
  manager?: string
  /** The installed file runs another rr or node than this one. */
  stale: boolean
}

export function serviceStatus (init: ServiceInit): ServiceStatus {
  const { platform, path, content } = serviceDefinition(init)
  const installed = existsSync(path)
  const stale = installed && readFileSync(path, 'utf8') !== content
  let manager: string | undefined
  if (installed && platform === 'systemd' && systemdRunning()) manager = run('systemctl', ['--user', 'is-active', systemdUnitName]).out
  if (installed && platform === 'launchd') manager = run('launchctl', ['list', launchdLabel]).ok ? 'loaded' : 'not loaded'
  return { platform, path, installed, stale, ...(manager != null ? { manager } : {}) }
}
