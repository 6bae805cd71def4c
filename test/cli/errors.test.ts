/**
 * Every mistake a user can make with `rr` gets one line naming the thing and the fix, in the same style from every
 * command (the oclif ones and the `rr search` fast path alike), with the exit code the table says and no stack
 * trace. Real `rr` processes, real files, real ports.
 */
import test, { type ExecutionContext } from 'ava'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { isolatedEnv, rr, rrBin, type RunResult } from '../helpers/cli.js'
import { unusedPorts } from '../helpers/ports.js'
import { tempDir } from '../helpers/tmp.js'

const isRoot = process.getuid?.() === 0
const nobody = 65534

/** A port on 127.0.0.1 that a server of this test holds for the test's length. */
async function heldPort (t: ExecutionContext): Promise<number> {
  const port = (await unusedPorts(1))[0]!
  const server: Server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  t.teardown(() => { server.close() })
  return port
}

/** 600 bytes that are not a SQLite database. */
function corruptDb (home: string): string {
  const path = join(home, 'corrupt.db')
  writeFileSync(path, 'this is not a database '.repeat(30))
  return path
}

function directoryDb (home: string): string {
  const path = join(home, 'dir.db')
  mkdirSync(path)
  return path
}

/**
 * A database path in a directory this rr may not write. As root nothing is unwritable, so the test's rr runs as
 * `nobody` there (see `asUser`); otherwise the directory is made read-only for its owner.
 */
function lockedDb (home: string): string {
  const dir = join(home, 'locked')
  mkdirSync(dir)
  chmodSync(dir, isRoot ? 0o755 : 0o555)
  return join(dir, 'history.db')
}

/** A swarm key (p2p-serve never creates one: a key made on one machine alone is a network of one). */
function swarmKey (home: string): string {
  const path = join(home, 'swarm.key')
  writeFileSync(path, `/key/swarm/psk/1.0.0/\n/base16/\n${randomBytes(32).toString('hex')}\n`, { mode: 0o600 })
  return path
}

function zshHistory (home: string): string {
  const path = join(home, 'zsh_history')
  writeFileSync(path, ': 1700000000:0;echo one\n')
  chmodSync(path, 0o644)
  return path
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

interface Mistake {
  title: string
  /** Makes the files the mistake needs in `home` and returns rr's arguments. */
  setup: (t: ExecutionContext, home: string) => string[] | Promise<string[]>
  code: number
  /** The error line (stderr's last line); a function gets the arguments to name paths. */
  stderr?: RegExp | ((args: string[]) => RegExp)
  /** For doctor and the successful rows: what stdout says. */
  stdout?: RegExp | ((args: string[]) => RegExp)
  /** Run as a user that may not write the locked directory (root writes everywhere). */
  asUser?: boolean
  env?: Record<string, string>
}

const dbArg = (args: string[]): string => args[args.indexOf('--db-path') + 1]!

const mistakes: Mistake[] = [
  // Commands and flags, with "did you mean".
  { title: 'a mistyped command', setup: () => ['serch'], code: 2, stderr: /^rr: unknown command 'serch' \(did you mean search\?\); `rr --help` lists the commands$/ },
  { title: 'another mistyped command', setup: () => ['histroy'], code: 2, stderr: /^rr: unknown command 'histroy' \(did you mean history\?\)/ },
  { title: 'a command that does not exist', setup: () => ['xyzzy'], code: 2, stderr: /^rr: unknown command 'xyzzy'; `rr --help` lists the commands$/ },
  { title: 'a mistyped flag of an oclif command', setup: () => ['history', '--fromat', 'jsonl'], code: 2, stderr: /^rr: unknown flag --fromat \(did you mean --format\?\); `rr history --help` lists the flags$/ },
  { title: 'a mistyped flag of rr search (the fast path, no oclif)', setup: () => ['search', '--fitler', 'x'], code: 2, stderr: /^rr: unknown flag --fitler \(did you mean --filter\?\); `rr search --help` lists the flags$/ },
  { title: 'a mistyped global flag', setup: () => ['doctor', '--db-pth', 'x'], code: 2, stderr: /^rr: unknown flag --db-pth \(did you mean --db-path\?\)/ },
  { title: 'a flag without its value (oclif)', setup: () => ['history', '--limit'], code: 2, stderr: /^rr: flag --limit expects a value; `rr history --help` shows the usage$/ },
  { title: 'a flag without its value (rr search)', setup: () => ['search', '--limit'], code: 2, stderr: /^rr: flag --limit expects a value; `rr search --help` shows the usage$/ },
  { title: 'a bad flag value', setup: () => ['history', '--format', 'xml'], code: 2, stderr: /^rr: --format must be text or jsonl, got "xml"$/ },
  { title: 'an argument a command does not take', setup: () => ['history', 'extra'], code: 2, stderr: /^rr: unexpected argument 'extra' for rr history; `rr history --help` shows the usage$/ },
  { title: 'an argument rr search does not take', setup: () => ['search', 'foo'], code: 2, stderr: /^rr: unexpected argument 'foo' .*--query or --filter.*`rr search --help`/ },
  { title: 'a missing argument', setup: () => ['import'], code: 2, stderr: /^rr: missing 1 required arg: shell .*`rr import --help` shows the usage$/ },
  { title: 'an argument not among its choices', setup: () => ['import', 'zhs'], code: 2, stderr: /^rr: expected zhs to be one of: bash, zsh, fish; `rr import --help`/ },

  { title: 'an import batch that does not exist (rr delete --import)', setup: (_t, home) => ['--db-path', join(home, 'h.db'), 'delete', '--import', 'no-such-batch', '--yes'], code: 2, stderr: /^rr: no import batch no-such-batch in this database; `rr import` prints the batch id$/ },
  { title: 'rr inspect with no running sync to attach to', setup: (_t, home) => ['--db-path', join(home, 'h.db'), 'inspect', '--attach'], code: 1, stderr: /^rr: no running sync is writing a trace for .*: start one with `rr p2p-sync --watch --inspect=FILE`/ },
  { title: 'rr init with a shell it does not know', setup: () => ['init', 'tcsh'], code: 2, stderr: /^rr: unknown shell "tcsh"; use zsh, bash, fish$/ },
  { title: 'an invite code that is not one', setup: () => ['join', 'garbage'], code: 2, stderr: /^rr: invalid invite code: .*copy the whole line `rr invite` printed/ },

  // --config naming a file that is not there.
  { title: '--config naming a missing file (oclif command)', setup: (_t, home) => ['--config', join(home, 'nope.toml'), 'history'], code: 2, stderr: (a) => new RegExp(`^rr: config file ${escape(a[1]!)} \\(named by --config or RUSTORY_CONFIG\\) does not exist: create it, or leave --config out`) },
  { title: '--config naming a missing file (rr search)', setup: (_t, home) => ['search', '--config', join(home, 'nope.toml'), '--filter', 'x'], code: 2, stderr: (a) => new RegExp(`^rr: config file ${escape(a[2]!)} .*does not exist`) },

  // A database that is not one, a directory, a directory rr may not write.
  ...['history', 'stats', 'sync-status'].map((command): Mistake => ({
    title: `a corrupt database (rr ${command})`,
    setup: (_t, home) => ['--db-path', corruptDb(home), command],
    code: 1,
    stderr: (a) => new RegExp(`^rr: database ${escape(dbArg(a))} is not a SQLite database or is corrupt .*: move it aside \\(mv ${escape(dbArg(a))} .*--db-path`)
  })),
  { title: 'a corrupt database (rr search --filter)', setup: (_t, home) => ['--db-path', corruptDb(home), 'search', '--filter', 'x'], code: 1, stderr: (a) => new RegExp(`^rr: database ${escape(dbArg(a))} is not a SQLite database or is corrupt`) },
  { title: 'a corrupt database (rr import)', setup: (_t, home) => ['--db-path', corruptDb(home), 'import', 'zsh', '--path', zshHistory(home)], code: 1, stderr: (a) => new RegExp(`^rr: database ${escape(dbArg(a))} is not a SQLite database or is corrupt`) },
  ...[['history'], ['search', '--filter', 'x'], ['stats']].map((command): Mistake => ({
    title: `a database path that is a directory (rr ${command.join(' ')})`,
    setup: (_t, home) => ['--db-path', directoryDb(home), ...command],
    code: 1,
    stderr: (a) => new RegExp(`^rr: database path ${escape(dbArg(a))} is a directory, not a file: point --db-path .* e\\.g\\. ${escape(dbArg(a))}/history\\.db$`)
  })),
  { title: 'a database path that is a directory (rr import)', setup: (_t, home) => ['--db-path', directoryDb(home), 'import', 'zsh', '--path', zshHistory(home)], code: 1, stderr: (a) => new RegExp(`^rr: database path ${escape(dbArg(a))} is a directory`) },
  { title: 'a database in a directory rr may not write (rr import)', setup: (_t, home) => ['--db-path', lockedDb(home), 'import', 'zsh', '--path', zshHistory(home)], asUser: true, code: 1, stderr: (a) => new RegExp(`^rr: cannot write to directory ${escape(join(dbArg(a), '..'))} \\(database ${escape(dbArg(a))}\\): give this user write access to it, or point --db-path`) },

  // rr doctor finds each of them.
  { title: 'rr doctor on a corrupt database', setup: (_t, home) => ['--db-path', corruptDb(home), 'doctor'], code: 1, stdout: (a) => new RegExp(`problem: database ${escape(dbArg(a))} is not a SQLite database or is corrupt`) },
  { title: 'rr doctor on a database path that is a directory', setup: (_t, home) => ['--db-path', directoryDb(home), 'doctor'], code: 1, stdout: (a) => new RegExp(`problem: database path ${escape(dbArg(a))} is a directory`) },
  { title: 'rr doctor on a database directory rr may not write', setup: (_t, home) => ['--db-path', lockedDb(home), 'doctor'], asUser: true, code: 1, stdout: (a) => new RegExp(`problem: cannot write to directory ${escape(join(dbArg(a), '..'))} .*rr record cannot store commands`) },

  // A port in use names the flag that changes it.
  ...(['p2p-serve', 'relay-serve', 'daemon'] as const).map((command): Mistake => ({
    title: `a port in use (rr ${command})`,
    setup: async (t, home) => [command, '--swarm-key', swarmKey(home), '--listen', `/ip4/127.0.0.1/tcp/${await heldPort(t)}`],
    code: 1,
    stderr: (a) => new RegExp(`^rr: ${escape(a[4]!)} is already in use .*choose another address with --listen$`)
  })),
  ...(['tracker-serve', 'http-serve'] as const).map((command): Mistake => ({
    title: `a port in use (rr ${command})`,
    setup: async (t) => [command, '--bind', `127.0.0.1:${await heldPort(t)}`],
    code: 1,
    stderr: (a) => new RegExp(`^rr: ${escape(a[2]!)} is already in use .*choose another address with --bind$`)
  })),

  // Help and version, every way a user asks.
  ...[['help'], ['-h'], ['--help']].map((args): Mistake => ({ title: `rr ${args.join(' ')} shows the help`, setup: () => args, code: 0, stdout: /USAGE[\s\S]*COMMANDS[\s\S]*search/ })),
  { title: 'rr help COMMAND shows that command\'s help', setup: () => ['help', 'history'], code: 0, stdout: /\$ rr history/ },
  { title: 'rr search -h shows the help of search', setup: () => ['search', '-h'], code: 0, stdout: /\$ rr search/ },
  ...[['-v'], ['--version'], ['version']].map((args): Mistake => ({ title: `rr ${args.join(' ')} shows the version`, setup: () => args, code: 0, stdout: /^rustory\/\d+\.\d+\.\d+ / }))
]

async function runAs (t: ExecutionContext, home: string, args: string[], mistake: Mistake): Promise<RunResult | undefined> {
  const env = isolatedEnv(home, mistake.env ?? {})
  if (mistake.asUser !== true || !isRoot) return await rr(args, { env })
  // The user runs rr from a checkout it can read: when it cannot (a private checkout), this row cannot be shown.
  chmodSync(home, 0o777)
  const probe = await rr(['--version'], { env, uid: nobody, gid: nobody })
  if (probe.code !== 0) {
    t.log(`cannot run rr as uid ${nobody} from this checkout (${probe.stderr.trim()}); row not checked`)
    return undefined
  }
  return await rr(args, { env, uid: nobody, gid: nobody })
}

for (const mistake of mistakes) {
  test.serial(`${mistake.title}: exit ${mistake.code}${mistake.code !== 0 ? ', one line with the fix' : ''}`, async (t) => {
    const home = tempDir(t)
    const args = await mistake.setup(t, home)
    const result = await runAs(t, home, args, mistake)
    if (result == null) return t.pass()
    const detail = `rr ${args.join(' ')}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`
    t.is(result.code, mistake.code, detail)
    const lines = result.stderr.split('\n').filter((l) => l !== '')
    t.false(lines.some((l) => /^\s+at /.test(l)), `no stack trace\n${detail}`)
    t.false(/MaxListenersExceededWarning|DeprecationWarning/.test(result.stderr), detail)
    if (mistake.stderr != null) {
      // Informational lines may come first (p2p-serve says it created a key); the error is one line, the last.
      t.is(lines.filter((l) => l.startsWith('rr: ')).length, 1, detail)
      const want = typeof mistake.stderr === 'function' ? mistake.stderr(args) : mistake.stderr
      t.regex(lines.at(-1) ?? '', want, detail)
    }
    if (mistake.stdout != null) {
      const want = typeof mistake.stdout === 'function' ? mistake.stdout(args) : mistake.stdout
      t.regex(result.stdout, want, detail)
    }
    if (mistake.code === 0) t.is(result.stderr, '', detail)
  })
}

test.serial('RUSTORY_DEBUG=1 prints the stack trace of the same error', async (t) => {
  const home = tempDir(t)
  const db = directoryDb(home)
  const result = await rr(['--db-path', db, 'history'], { env: isolatedEnv(home, { RUSTORY_DEBUG: '1' }) })
  t.is(result.code, 1)
  t.regex(result.stderr, /is a directory/)
  t.regex(result.stderr, /\n\s+at .*open(Database|ReadOnly)/)
})

test.serial('rr record into a directory it may not write exits 0 (the prompt goes on) and record.log names the directory', async (t) => {
  const home = tempDir(t)
  const db = lockedDb(home)
  const mistake: Mistake = { title: 'record', setup: () => [], code: 0, asUser: true }
  const result = await runAs(t, home, ['--db-path', db, 'record', '--cmd', 'echo hi'], mistake)
  if (result == null) return t.pass()
  t.is(result.code, 0)
  t.is(result.stderr, '')
  const log = readFileSync(join(home, '.rustory', 'record.log'), 'utf8')
  t.regex(log, new RegExp(`record failed: cannot write to ${escape(db)}-spool \\(EACCES\\): give this user write access to its directory, or point --db-path`))
})

test.serial('rr history --format jsonl | a slow reader: 20k entries, no MaxListenersExceededWarning', async (t) => {
  const home = tempDir(t)
  const db = join(home, 'big.db')
  const lines: string[] = []
  for (let i = 0; i < 20_000; i++) lines.push(`: ${1_700_000_000 + i}:0;echo command ${i} ${'x'.repeat(80)}`)
  writeFileSync(join(home, 'zsh_history'), lines.join('\n') + '\n')
  const imported = await rr(['--db-path', db, 'import', 'zsh', '--path', join(home, 'zsh_history')], { env: isolatedEnv(home), timeoutMs: 110_000 })
  t.is(imported.code, 0, imported.stderr)
  // The reader waits before reading: the pipe fills and rr waits for drain many times (~100 for 6 MB).
  const { code, stderr, count } = await new Promise<{ code: number | null, stderr: string, count: string }>((resolve) => {
    const child = spawn('sh', ['-c', `"${process.execPath}" "${rrBin}" --db-path "${db}" history --format jsonl | (sleep 1; wc -l)`], { env: isolatedEnv(home), stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    child.on('close', (exit) => resolve({ code: exit, stderr: err, count: out.trim() }))
  })
  t.is(code, 0)
  t.is(count, '20000')
  t.is(stderr, '')
})
