import { Args, Flags } from '@oclif/core'
import { createInterface } from 'node:readline/promises'
import { RrCommand } from '../cli/base.js'
import { UsageError } from '../core/errors.js'
import { identityPeerIdIfPresent } from '../config/keys.js'
import { runForget, type Selection } from '../forget/run.js'
import { oclifFlags } from '../search/oclif-flags.js'
import { filterFlagSpecs, resolveFilters, type RawFilters } from '../search/options.js'

/** A yes/no question on the terminal (stderr), or undefined when stdin is not one. */
export function terminalConfirm (): ((question: string) => Promise<boolean>) | undefined {
  if (process.stdin.isTTY !== true) return undefined
  return async (question) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr })
    try {
      return /^y(es)?$/i.test((await rl.question(question)).trim())
    } finally {
      rl.close()
    }
  }
}

export default class Delete extends RrCommand {
  static override summary = 'Delete entries here and, through tombstones, on every device'
  static override description = [
    'rr delete <entry_id>… deletes those entries. --filter QUERY deletes every entry whose command matches the fzf-style',
    'query (as `rr search --filter`), narrowed by --cwd --host --device --exit --since --until; it lists them and asks first',
    '(--yes skips the question, --dry-run only lists). --import BATCH undoes an import (`rr import` prints the batch id).',
    'A tombstone (entry id, time, device; never the command) is kept and synced, so the entry never comes back from a peer',
    'or an import. The text is overwritten in the database file and its WAL.'
  ].join('\n')

  static override examples = [
    'rr delete 0b6f7c9e-2f4a-4d1e-9c3b-5a6d7e8f9a0b',
    'rr delete --filter "\'mysql -p" --dry-run',
    'rr delete --filter "^curl" --since 1h --yes',
    'rr delete --import 2f0e5c1a-…'
  ]

  static override strict = false
  static override args = {
    ids: Args.string({ description: 'entry ids to delete', required: false })
  }

  static override flags = {
    filter: Flags.string({ description: 'delete every entry whose command matches this fzf-style query (with the filters below)' }),
    import: Flags.string({ description: 'delete every entry an import batch inserted (the id `rr import` printed)' }),
    exact: Flags.string({ description: 'delete every use of exactly this command' }),
    'command-of': Flags.string({ description: 'delete every use of the command of this entry id (what ctrl-d in ctrl+r runs)' }),
    yes: Flags.boolean({ description: 'do not ask for confirmation' }),
    'dry-run': Flags.boolean({ description: 'only list what would be deleted' }),
    ...oclifFlags(filterFlagSpecs)
  }

  async run (): Promise<void> {
    const { argv, flags } = await this.parse(Delete)
    const settings = this.settingsFrom(flags)
    const ids = argv as string[]
    const raw = flags as Record<string, string | number | boolean | undefined>
    const rawFilters: RawFilters = {}
    for (const k of ['cwd', 'host', 'device', 'since', 'until'] as const) if (typeof raw[k] === 'string') rawFilters[k] = raw[k]
    if (raw.exit != null && typeof raw.exit !== 'boolean') rawFilters.exit = raw.exit
    const filterGiven = Object.keys(rawFilters).length > 0
    const modes = [ids.length > 0, flags.filter != null, flags.import != null, flags.exact != null, flags['command-of'] != null].filter(Boolean).length
    if (modes !== 1) throw new UsageError('delete: give entry ids, or --filter QUERY, or --import BATCH, or --exact COMMAND (exactly one of them)')
    if (filterGiven && flags.filter == null) throw new UsageError('delete: --cwd --host --device --exit --since --until narrow --filter; add --filter QUERY (\'\' matches every command)')
    let selection: Selection
    if (flags.filter != null) {
      selection = { kind: 'filter', query: flags.filter, filters: resolveFilters(rawFilters, new Date(), process.cwd()) }
    } else if (flags.exact != null) {
      selection = { kind: 'exact', cmd: flags.exact }
    } else if (flags['command-of'] != null) {
      selection = { kind: 'command-of', entryId: flags['command-of'] }
    } else if (flags.import != null) {
      selection = { kind: 'import', batchId: flags.import }
    } else {
      selection = { kind: 'ids', ids }
    }
    const peerId = await identityPeerIdIfPresent(settings.p2pIdentityKeyPath).catch(() => undefined)
    const confirm = terminalConfirm()
    await runForget({
      dbPath: settings.dbPath,
      deviceId: settings.deviceId,
      ...(peerId != null ? { peerId } : {}),
      selection,
      dryRun: flags['dry-run'] === true,
      yes: flags.yes === true
    }, {
      out: (text) => process.stdout.write(text),
      err: (text) => process.stderr.write(text),
      ...(confirm != null ? { confirm } : {})
    })
  }
}
