/**
 * Global options may stand before the subcommand (`rr --db-path /tmp/a.db record …`), as the spec writes them.
 * oclif only parses flags after the command id, so this moves them there. Pure.
 */

/** Global options that take a value, accepted before or after the subcommand. */
export const globalValueFlags = ['--db-path', '--config', '--device-id', '--user-id', '--swarm-key'] as const
/** Boolean global flags (none take values). */
export const globalBooleanFlags = ['--help', '-h', '--version', '-v'] as const

export interface Reordered {
  /** The subcommand (first word not an option), or undefined. */
  command: string | undefined
  /** argv with global options moved after the subcommand. */
  args: string[]
  /** --config is consumed here: it sets RUSTORY_CONFIG for the settings loader. */
  configPath?: string
}

export function reorderGlobalFlags (argv: readonly string[]): Reordered {
  const leading: string[] = []
  let configPath: string | undefined
  let i = 0
  for (; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith('-')) break
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined]
    if ((globalValueFlags as readonly string[]).includes(name)) {
      const value = inline ?? argv[++i]
      if (value === undefined) {
        leading.push(name)
        continue
      }
      if (name === '--config') configPath = value
      else leading.push(name, value)
    } else {
      leading.push(arg)
    }
  }
  const command = argv[i]
  const rest = argv.slice(i + 1)
  const restArgs: string[] = []
  for (let j = 0; j < rest.length; j++) {
    const arg = rest[j]!
    if (arg === '--config' && j + 1 < rest.length) {
      configPath = rest[++j]
    } else if (arg.startsWith('--config=')) {
      configPath = arg.slice('--config='.length)
    } else {
      restArgs.push(arg)
    }
  }
  if (command === undefined) return { command, args: [...leading], ...(configPath != null ? { configPath } : {}) }
  return { command, args: [command, ...restArgs, ...leading], ...(configPath != null ? { configPath } : {}) }
}
