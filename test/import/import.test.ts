/** `rr import` through the real bin/rr: every format into a real SQLite file, twice (the second inserts nothing). */
import test from 'ava'
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { isolatedEnv, rr } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

interface Row { cmd: string, ts: string, duration_ms: number, cwd: string, exit_code: number, shell: string, device_id: string, user_id: string, entry_id: string }

function setup (t: Parameters<typeof tempDir>[0]): { dir: string, env: NodeJS.ProcessEnv, db: string } {
  const dir = tempDir(t)
  return { dir, db: join(dir, 'history.db'), env: isolatedEnv(dir, { RUSTORY_DEVICE_ID: 'laptop', RUSTORY_USER_ID: 'ann' }) }
}

async function history (db: string, env: NodeJS.ProcessEnv): Promise<Row[]> {
  const r = await rr(['--db-path', db, 'history', '--format', 'jsonl'], { env })
  if (r.code !== 0) throw new Error(r.stderr)
  return r.stdout === '' ? [] : r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Row)
}

function summaryCount (out: string, label: string): number {
  const m = new RegExp(`${label}:\\s+(\\d+)`).exec(out)
  if (m == null) throw new Error(`no "${label}" in summary:\n${out}`)
  return Number(m[1])
}

const metafiedArrow = Buffer.from([0xe2, 0x83, 0xa6, 0x83, 0xb2])

test('zsh extended history imports whole multi-line commands, durations, metafied and invalid bytes; twice inserts nothing', async (t) => {
  const { dir, env, db } = setup(t)
  const file = join(dir, 'zsh_history')
  writeFileSync(file, Buffer.concat([
    Buffer.from(': 1700000000:3;make test\n'),
    Buffer.from(': 1700000001:0;for f in *; do\\\n  echo "$f"\\\ndone\n'),
    Buffer.from(': 1700000002:0;echo '), metafiedArrow, Buffer.from('\n'),
    Buffer.from(': 1700000003:0;echo caf'), Buffer.from([0xe9]), Buffer.from('\n'),
    Buffer.from(': 1700000004:0;make test\n'),
    Buffer.from(': 1700000004:0;make test\n'),
    Buffer.from(': 1700000005:0;   \n'),
    Buffer.from(': 1700000006:0;export GITHUB_TOKEN=ghp_' + 'a'.repeat(36) + '\n')
  ]))
  const first = await rr(['--db-path', db, 'import', 'zsh', '--path', file], { env })
  t.is(first.code, 0, first.stderr)
  t.is(summaryCount(first.stdout, 'read'), 8)
  t.is(summaryCount(first.stdout, 'inserted'), 6)
  t.is(summaryCount(first.stdout, 'skipped'), 2)
  t.regex(first.stdout, /empty: 1/)
  t.regex(first.stdout, /secret_github_token: 1/)
  t.regex(first.stdout, /not UTF-8:\s+1/)

  const rows = await history(db, env)
  t.deepEqual(rows.map((r) => [r.ts, r.cmd, r.duration_ms]), [
    ['2023-11-14T22:13:24.001Z', 'make test', 0],
    ['2023-11-14T22:13:24.000Z', 'make test', 0],
    ['2023-11-14T22:13:23.000Z', 'echo café', 0],
    ['2023-11-14T22:13:22.000Z', 'echo →', 0],
    ['2023-11-14T22:13:21.000Z', 'for f in *; do\n  echo "$f"\ndone', 0],
    ['2023-11-14T22:13:20.000Z', 'make test', 3000]
  ])
  for (const r of rows) {
    t.like(r, { cwd: '', exit_code: 0, shell: 'zsh', device_id: 'laptop', user_id: 'ann' })
    t.regex(r.entry_id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  }

  const second = await rr(['--db-path', db, 'import', 'zsh', '--path', file], { env })
  t.is(second.code, 0, second.stderr)
  t.is(summaryCount(second.stdout, 'inserted'), 0)
  t.is(summaryCount(second.stdout, 'already present'), 6)
  t.is((await history(db, env)).length, 6)
})

test('bash history: HISTTIMEFORMAT entries keep their times, untimed lines before the first timed one sit just before it, in order', async (t) => {
  const { dir, env, db } = setup(t)
  const file = join(dir, 'bash_history')
  writeFileSync(file, 'ls\ncd /tmp\n#1700000000\nmake\n#1700000100\nfor i in 1 2\ndo echo $i\ndone\n')
  const mtime = new Date('2026-02-01T00:00:00.000Z')
  utimesSync(file, mtime, mtime)
  const r = await rr(['--db-path', db, 'import', 'bash', '--path', file], { env })
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /untimed:\s+2 /)
  const rows = await history(db, env)
  t.deepEqual(rows.map((x) => x.cmd), ['for i in 1 2\ndo echo $i\ndone', 'make', 'cd /tmp', 'ls'])
  t.is(rows[0]!.ts, '2023-11-14T22:15:00.000Z')
  t.is(rows[1]!.ts, '2023-11-14T22:13:20.000Z')
  t.is(rows[2]!.ts, '2023-11-14T22:13:19.999Z')
  t.is(rows[3]!.ts, '2023-11-14T22:13:19.998Z')
  const again = await rr(['--db-path', db, 'import', 'bash', '--path', file], { env })
  t.is(summaryCount(again.stdout, 'inserted'), 0)
})

test('commands timed to the same second keep their file order, a millisecond apart', async (t) => {
  const { dir, env, db } = setup(t)
  const file = join(dir, 'bash_history')
  writeFileSync(file, '#1700000000\ncd project\n#1700000000\nmake\n#1700000000\nexit\n#1700000001\nls\n')
  const r = await rr(['--db-path', db, 'import', 'bash', '--path', file], { env })
  t.is(r.code, 0, r.stderr)
  const rows = await history(db, env)
  t.deepEqual(rows.map((x) => [x.ts, x.cmd]), [
    ['2023-11-14T22:13:21.000Z', 'ls'],
    ['2023-11-14T22:13:20.002Z', 'exit'],
    ['2023-11-14T22:13:20.001Z', 'make'],
    ['2023-11-14T22:13:20.000Z', 'cd project']
  ])
})

test('plain bash history trimmed at the head and grown at the tail: a re-import adds only the new uses', async (t) => {
  const { dir, env, db } = setup(t)
  const file = join(dir, 'bash_history')
  writeFileSync(file, 'git pull\nmake\ngit pull\nls\n')
  t.is(summaryCount((await rr(['--db-path', db, 'import', 'bash', '--path', file], { env })).stdout, 'inserted'), 4)
  // bash's HISTFILESIZE dropped the first line; two commands were appended.
  writeFileSync(file, 'make\ngit pull\nls\nmake\nvim x\n')
  const again = await rr(['--db-path', db, 'import', 'bash', '--path', file], { env })
  t.is(summaryCount(again.stdout, 'inserted'), 2, again.stdout)
  t.is(summaryCount(again.stdout, 'already present'), 3)
})

test('fish history with escapes and paths imports; the default path is used without --path', async (t) => {
  const { dir, env, db } = setup(t)
  mkdirSync(join(dir, '.local', 'share', 'fish'), { recursive: true })
  writeFileSync(join(dir, '.local', 'share', 'fish', 'fish_history'),
    '- cmd: echo first\\necho second\n  when: 1700000000\n- cmd: printf \'%s\\\\n\' x\n  when: 1700000001\n  paths:\n    - x\n')
  const r = await rr(['--db-path', db, 'import', 'fish'], { env })
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /fish_history/)
  t.deepEqual((await history(db, env)).map((x) => x.cmd), ["printf '%s\\n' x", 'echo first\necho second'])
})

test('a 300 KB command is stored truncated with the marker, next to ordinary ones', async (t) => {
  const { dir, env, db } = setup(t)
  const file = join(dir, 'zsh_history')
  writeFileSync(file, `: 1700000000:0;echo before\n: 1700000001:0;echo ${'z'.repeat(300 * 1024)}\n: 1700000002:0;echo after\n`)
  const r = await rr(['--db-path', db, 'import', 'zsh', '--path', file], { env })
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /truncated:\s+1/)
  const rows = await history(db, env)
  t.deepEqual(rows.map((x) => x.cmd.slice(0, 12)), ['echo after', 'echo zzzzzzz', 'echo before'])
  t.true(rows[1]!.cmd.endsWith('[rustory: truncated]'))
  t.true(Buffer.byteLength(rows[1]!.cmd) <= 64 * 1024 + 64)
})

test('zsh import reads $HISTFILE by default, and a missing file is a clear error', async (t) => {
  const { dir, env, db } = setup(t)
  const file = join(dir, 'custom_hist')
  writeFileSync(file, ': 1700000000:0;echo from histfile\n')
  const r = await rr(['--db-path', db, 'import', 'zsh'], { env: { ...env, HISTFILE: file } })
  t.is(r.code, 0, r.stderr)
  t.is(summaryCount(r.stdout, 'inserted'), 1)
  const missing = await rr(['--db-path', db, 'import', 'bash'], { env })
  t.is(missing.code, 1)
  t.regex(missing.stderr, /bash history file not found: .*\.bash_history \(give its location with --path FILE\)/)
  const badShell = await rr(['--db-path', db, 'import', 'tcsh'], { env })
  t.not(badShell.code, 0)
})

test('a 100k-line zsh history imports in batches and is searchable', async (t) => {
  const { dir, env, db } = setup(t)
  const file = join(dir, 'zsh_history')
  const lines: string[] = []
  for (let i = 0; i < 100_000; i++) lines.push(`: ${1600000000 + i}:0;cmd number ${i % 50_000}`)
  writeFileSync(file, lines.join('\n') + '\n')
  const r = await rr(['--db-path', db, 'import', 'zsh', '--path', file], { env, timeoutMs: 120_000 })
  t.is(r.code, 0, r.stderr)
  t.is(summaryCount(r.stdout, 'inserted'), 100_000)
  const f = await rr(['--db-path', db, 'search', '--filter', '4999$ !^cmd\\ number\\ 4', '--limit', '100000'], { env })
  t.is(f.stdout, 'cmd number 34999\ncmd number 24999\ncmd number 14999\n')
})
