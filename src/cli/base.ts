/**
 * The base of every oclif command: the global flags (also accepted before the subcommand, see argv.ts), settings
 * loading, and one place that turns known errors into a clear message and a non-zero exit.
 */
import { Command, Flags } from '@oclif/core'
import { loadSettings, type Settings, type SettingsOverrides } from '../config/settings.js'
import { isExit, reportError } from './report.js'

export const globalFlags = {
  'db-path': Flags.string({ description: 'SQLite database file [env: RUSTORY_DB_PATH, config: db_path, default: ~/.rustory/history.db]', helpGroup: 'GLOBAL' }),
  config: Flags.string({ description: 'config file [env: RUSTORY_CONFIG, default: ~/.config/rustory/config.toml]', helpGroup: 'GLOBAL' }),
  'device-id': Flags.string({ description: 'this device\'s id [env: RUSTORY_DEVICE_ID, config: device_id, default: hostname]', helpGroup: 'GLOBAL' }),
  'user-id': Flags.string({ description: 'user id [env: RUSTORY_USER_ID, config: user_id, default: login name]', helpGroup: 'GLOBAL' }),
  'swarm-key': Flags.string({ description: 'swarm key file [env: RUSTORY_SWARM_KEY_PATH, config: swarm_key_path, default: ~/.config/rustory/swarm.key]', helpGroup: 'GLOBAL' })
}

export abstract class RrCommand extends Command {
  static override baseFlags = globalFlags

  protected settingsFrom (flags: { 'db-path'?: string | undefined, 'device-id'?: string | undefined, 'user-id'?: string | undefined, 'swarm-key'?: string | undefined, config?: string | undefined }, extra: SettingsOverrides = {}): Settings {
    if (flags.config != null) process.env.RUSTORY_CONFIG = flags.config
    const overrides: SettingsOverrides = { ...extra }
    if (flags['db-path'] != null) overrides.dbPath = flags['db-path']
    if (flags['device-id'] != null) overrides.deviceId = flags['device-id']
    if (flags['user-id'] != null) overrides.userId = flags['user-id']
    if (flags['swarm-key'] != null) overrides.swarmKeyPath = flags['swarm-key']
    for (const key of Object.keys(overrides) as Array<keyof SettingsOverrides>) {
      if (overrides[key] === undefined) delete overrides[key]
    }
    return loadSettings(overrides)
  }

  protected override async catch (err: Error & { exitCode?: number, oclif?: { exit?: number } }): Promise<unknown> {
    if (isExit(err)) return await super.catch(err)
    const flags = Object.keys({ ...this.ctor.baseFlags, ...this.ctor.flags })
    const { line, exitCode } = reportError(err, { id: this.id, flags })
    process.stderr.write(`${line}\n`)
    process.exit(exitCode)
  }
}
