/**
 * The service definitions `rr service install` writes: a systemd user unit on Linux, a launchd agent on macOS.
 * Both run `rr daemon` with the absolute paths of node and rr (a service manager has no login PATH) and restart it
 * when it fails. Pure: rendering only.
 */

export type ServicePlatform = 'systemd' | 'launchd'

export interface ServiceSpec {
  /** Absolute path of the node binary. */
  node: string
  /** Absolute path of bin/rr. */
  rr: string
  /** Global options given at install time (e.g. ['--db-path', '/data/h.db']), placed before `daemon`. @default [] */
  globalArgs?: string[]
  /** The user's home (launchd log paths). */
  home: string
}

export const systemdUnitName = 'rustory.service'
export const launchdLabel = 'dev.rustory.daemon'

/** systemd quoting for one ExecStart word: double quotes when it has anything but safe characters. */
function systemdWord (word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word
  return `"${word.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$/g, '$$$$').replace(/%/g, '%%')}"`
}

function argv (spec: ServiceSpec): string[] {
  return [spec.node, spec.rr, ...(spec.globalArgs ?? []), 'daemon']
}

export function systemdUnit (spec: ServiceSpec): string {
  return `[Unit]
Description=rustory shell history sync (rr daemon)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=${argv(spec).map(systemdWord).join(' ')}
Restart=on-failure
RestartSec=5
# SIGTERM makes rr daemon stop cleanly ("daemon: stopped").
KillSignal=SIGTERM
TimeoutStopSec=20

[Install]
WantedBy=default.target
`
}

function xml (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

export function launchdPlist (spec: ServiceSpec): string {
  const args = argv(spec).map((a) => `    <string>${xml(a)}</string>`).join('\n')
  const log = `${spec.home}/.rustory/daemon.log`
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${launchdLabel}</string>
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>5</integer>
  <key>StandardOutPath</key>
  <string>${xml(log)}</string>
  <key>StandardErrorPath</key>
  <string>${xml(log)}</string>
</dict>
</plist>
`
}

/** Where the definition goes, relative to the home directory. */
export function servicePath (platform: ServicePlatform, home: string): string {
  return platform === 'systemd'
    ? `${home}/.config/systemd/user/${systemdUnitName}`
    : `${home}/Library/LaunchAgents/${launchdLabel}.plist`
}

export function renderService (platform: ServicePlatform, spec: ServiceSpec): string {
  return platform === 'systemd' ? systemdUnit(spec) : launchdPlist(spec)
}
