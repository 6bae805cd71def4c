import { Flags } from '@oclif/core'
import { RrCommand } from '../cli/base.js'
import { runRecord } from '../record.js'

export default class Record extends RrCommand {
  static override summary = 'Record one shell command (called by the shell hooks; never fails the shell)'
  static override description = 'The command goes first into the spool beside the database (<db_path>-spool/, one small file each, so recording never waits for SQLite); every rr command that reads or writes the database, and p2p-serve / http-serve as commands arrive, move it into the database. Errors go to ~/.rustory/record.log and the exit code is always 0. Commands starting with a space, matching record_ignore_regex, or carrying secrets are skipped and counted (see `rr doctor`). Commands over 64 KiB are stored truncated with a marker.'
  static override examples = ['rr record --cmd "make test" --cwd "$PWD" --exit-code 0 --duration-ms 1234 --shell zsh']
  static override flags = {
    cmd: Flags.string({ description: 'the command line as typed (may be multi-line)' }),
    stdin: Flags.boolean({ description: 'read the command from standard input instead of --cmd' }),
    cwd: Flags.string({ description: 'working directory it ran in (default: current directory)' }),
    'exit-code': Flags.integer({ description: 'its exit status', default: 0 }),
    'duration-ms': Flags.integer({ description: 'how long it ran, in milliseconds', default: 0 }),
    shell: Flags.string({ description: 'bash, zsh, …' }),
    ts: Flags.string({ description: 'when it started: RFC3339, or Unix seconds with a fraction such as $EPOCHREALTIME (default: now)' }),
    'print-id': Flags.boolean({ description: 'print the new entry_id' })
  }

  async run (): Promise<void> {
    process.exitCode = await runRecord(this.argv)
  }
}
