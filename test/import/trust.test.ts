/** Imports you can trust: format refusal (nothing inserted), untimed lines, batch ids and undo, secrets counted. */
import test from 'ava'
import { statSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { sniffHistory } from '../../src/import/sniff.js'
import { isolatedEnv, rr } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

function setup (t: Parameters<typeof tempDir>[0]): { dir: string, env: NodeJS.ProcessEnv, db: string } {
  const dir = tempDir(t)
  return { dir, db: join(dir, 'history.db'), env: isolatedEnv(dir, { RUSTORY_DEVICE_ID: 'laptop', RUSTORY_USER_ID: 'ann' }) }
}

function count (db: string, sql = 'SELECT COUNT(*) FROM entries'): number {
  try {
    statSync(db)
  } catch {
    return 0
  }
  const h = new Database(db, { readonly: true })
  try {
    return h.prepare(sql).pluck().get() as number
  } finally {
    h.close()
  }
}

const fishFile = Array.from({ length: 50 }, (_, i) => `- cmd: echo fish ${i}\n  when: ${1700000000 + i}\n  paths:\n    - /tmp/x${i}\n`).join('')
const zshFile = Array.from({ length: 50 }, (_, i) => `: ${1700000000 + i}:0;echo zsh ${i}\n`).join('')
const bashTimed = Array.from({ length: 50 }, (_, i) => `#${1700000000 + i}\necho bash ${i}\n`).join('')

test('the wrong shell, binary data and a file where nothing parses are refused, naming what was seen, and insert nothing', async (t) => {
  const { dir, env, db } = setup(t)
  const cases: Array<[shell: string, content: string | Buffer, seen: RegExp]> = [
    ['zsh', fishFile, /does not look like zsh history: fish history \(\d+% of the first 200 lines are `- cmd:`\/`when:` records\): use `rr import fish`; nothing was imported/],
    ['bash', fishFile, /does not look like bash history: fish history/],
    ['bash', zshFile, /does not look like bash history: zsh extended history .*use `rr import zsh`/],
    ['zsh', bashTimed, /does not look like zsh history: bash history with timestamps .*use `rr import bash`/],
    ['fish', zshFile, /does not look like fish history: no `- cmd:` record in the first 50 lines: not fish history \(it looks like zsh history: use `rr import zsh`\)/],
    ['fish', 'ls\ncd /tmp\n', /does not look like fish history: no `- cmd:` record/],
    ['bash', statSync(process.execPath).isFile() ? Buffer.concat([Buffer.from('\u007fELF\u0002\u0001\u0001\u0000'), Buffer.alloc(4096, 0), Buffer.from('ls\n')]) : '', /does not look like bash history: binary data \(\d+ NUL and \d+ other control bytes/]
  ]
  for (const [shell, content, seen] of cases) {
    const file = join(dir, `wrong-${shell}`)
    writeFileSync(file, content)
    const r = await rr(['--db-path', db, 'import', shell, '--path', file], { env })
    t.is(r.code, 1, `${shell}: ${r.stdout}`)
    t.regex(r.stderr, seen)
    t.is(r.stderr.trim().split('\n').length, 1, 'one line')
    t.is(count(db), 0, 'nothing inserted')
  }
  // A real binary, as in the report (`rr import bash --path /usr/bin/ls`).
  const ls = await rr(['--db-path', db, 'import', 'bash', '--path', '/usr/bin/ls'], { env })
  t.is(ls.code, 1)
  t.regex(ls.stderr, /binary data/)
  t.is(count(db), 0)
  // The right shell for each file imports.
  const ok = join(dir, 'fish_history')
  writeFileSync(ok, fishFile)
  t.is((await rr(['--db-path', db, 'import', 'fish', '--path', ok], { env })).code, 0)
  t.is(count(db), 50)
})

test('sniffing accepts plain and mixed histories of the named shell', (t) => {
  const plain = Buffer.from('ls\ncd /tmp\ngit status\n')
  for (const shell of ['bash', 'zsh'] as const) t.true(sniffHistory(plain, shell).ok)
  // zsh with EXTENDED_HISTORY turned on half way; bash with HISTTIMEFORMAT set later.
  t.true(sniffHistory(Buffer.from(`ls\ncd /tmp\n${zshFile}`), 'zsh').ok)
  t.true(sniffHistory(Buffer.from(`ls\ncd /tmp\n${bashTimed}`), 'bash').ok)
  t.true(sniffHistory(Buffer.from(fishFile), 'fish').ok)
  // zsh's metafied bytes (0x83) are not "binary".
  t.true(sniffHistory(Buffer.from([0x65, 0x63, 0x68, 0x6f, 0x20, 0xe2, 0x83, 0xa6, 0x0a]), 'zsh').ok)
  t.true(sniffHistory(new Uint8Array(), 'bash').ok)
})

test('a file with no timestamps is dated in file order ending at its mtime, marked untimed, and --since leaves it out', async (t) => {
  const { dir, env, db } = setup(t)
  const file = join(dir, 'bash_history')
  writeFileSync(file, 'old-one\nold-two\nold-three\n')
  const now = new Date()
  utimesSync(file, now, now)
  const r = await rr(['--db-path', db, 'import', 'bash', '--path', file], { env })
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /untimed:\s+3 \(no timestamp/)
  const rows = (await rr(['--db-path', db, 'history', '--format', 'jsonl'], { env })).stdout.trim().split('\n').map((l) => JSON.parse(l) as { cmd: string, ts: string })
  t.deepEqual(rows.map((x) => x.cmd), ['old-three', 'old-two', 'old-one'])
  t.true(rows.every((x) => Date.parse(x.ts) <= now.getTime() && Date.parse(x.ts) > now.getTime() - 1000))
  t.is(count(db, 'SELECT COUNT(*) FROM import_batch_entries WHERE untimed = 1'), 3)
  // Dated within the last second, yet not "recent": --since skips them in history, search and delete.
  t.is((await rr(['--db-path', db, 'history', '--since', '1h'], { env })).stdout, '')
  t.is((await rr(['--db-path', db, 'search', '--filter', '', '--since', '1h'], { env })).stdout, '')
  t.is((await rr(['--db-path', db, 'history'], { env })).stdout.trim().split('\n').length, 3)
  // A command recorded now is timed, and --since shows it.
  await rr(['--db-path', db, 'record', '--cmd', 'fresh', '--cwd', '/tmp', '--exit-code', '0', '--duration-ms', '1', '--shell', 'bash'], { env })
  t.regex((await rr(['--db-path', db, 'history', '--since', '1h'], { env })).stdout, /fresh/)
})

test('zsh lines without an EXTENDED_HISTORY header take their time from the previous timed line', async (t) => {
  const { dir, env, db } = setup(t)
  const file = join(dir, 'zsh_history')
  writeFileSync(file, ': 1700000000:0;timed one\nplain after\n: 1700000100:0;timed two\n')
  utimesSync(file, new Date(), new Date())
  t.is((await rr(['--db-path', db, 'import', 'zsh', '--path', file], { env })).code, 0)
  const rows = (await rr(['--db-path', db, 'history', '--format', 'jsonl'], { env })).stdout.trim().split('\n').map((l) => JSON.parse(l) as { cmd: string, ts: string })
  t.deepEqual(rows.map((x) => [x.cmd, x.ts]), [
    ['timed two', '2023-11-14T22:15:00.000Z'],
    ['plain after', '2023-11-14T22:13:20.001Z'],
    ['timed one', '2023-11-14T22:13:20.000Z']
  ])
})

test('every import prints its batch id, and rr delete --import undoes exactly what it inserted, for good', async (t) => {
  const { dir, env, db } = setup(t)
  const first = join(dir, 'first')
  writeFileSync(first, ': 1700000000:0;shared\n: 1700000001:0;only-first\n')
  const r1 = await rr(['--db-path', db, 'import', 'zsh', '--path', first], { env })
  const b1 = /batch:\s+([0-9a-f-]{36}) \(undo with: rr delete --import \1\)/.exec(r1.stdout)?.[1]
  t.truthy(b1, r1.stdout)
  // A wrong file imported by mistake: shares one command with the first import.
  const wrong = join(dir, 'wrong')
  writeFileSync(wrong, ': 1700000000:0;shared\n: 1700000005:0;junk-a\n: 1700000006:0;junk-b\n')
  const r2 = await rr(['--db-path', db, 'import', 'zsh', '--path', wrong], { env })
  const b2 = /batch:\s+([0-9a-f-]{36})/.exec(r2.stdout)?.[1]
  t.truthy(b2)
  t.not(b1, b2)
  t.is(count(db), 4)

  const dry = await rr(['--db-path', db, 'delete', '--import', b2!, '--dry-run'], { env })
  t.is(dry.code, 0, dry.stderr)
  t.regex(dry.stderr, /2 entries would be deleted/)
  t.regex(dry.stdout, /junk-a/)
  t.notRegex(dry.stdout, /shared/, 'the shared command came from the first import, not this batch')
  // Not on a terminal: --yes is required.
  const refused = await rr(['--db-path', db, 'delete', '--import', b2!], { env })
  t.is(refused.code, 2)
  t.regex(refused.stderr, /add --yes/)
  t.is(count(db), 4)
  const undo = await rr(['--db-path', db, 'delete', '--import', b2!, '--yes'], { env })
  t.is(undo.code, 0, undo.stderr)
  t.regex(undo.stdout, /deleted 2 entries/)
  t.deepEqual((await rr(['--db-path', db, 'history', '--format', 'jsonl'], { env })).stdout.trim().split('\n').map((l) => (JSON.parse(l) as { cmd: string }).cmd).sort(), ['only-first', 'shared'].sort())
  // Importing the same wrong file again brings nothing back: the tombstones refuse it.
  const again = await rr(['--db-path', db, 'import', 'zsh', '--path', wrong], { env })
  t.regex(again.stdout, /inserted:\s+0/)
  t.is(count(db), 2)
  const unknown = await rr(['--db-path', db, 'delete', '--import', 'no-such-batch', '--yes'], { env })
  t.is(unknown.code, 2)
  t.regex(unknown.stderr, /no import batch no-such-batch/)
})

test('rr import counts what it skipped as secrets, and --keep-secrets keeps them for that run', async (t) => {
  const { dir, env, db } = setup(t)
  const file = join(dir, 'zsh_history')
  writeFileSync(file, ': 1700000000:0;mysql -u root -pSup3rS3cret!\n: 1700000001:0;ls\n: 1700000002:0;curl -u bob:hunter2 https://x\n')
  const r = await rr(['--db-path', db, 'import', 'zsh', '--path', file], { env })
  t.regex(r.stdout, /secrets:\s+2 skipped as secrets \(--keep-secrets keeps them\)/)
  t.is(count(db), 1)
  const kept = await rr(['--db-path', db, 'import', 'zsh', '--path', file, '--keep-secrets'], { env })
  t.regex(kept.stdout, /secrets:\s+kept/)
  t.regex(kept.stdout, /inserted:\s+2/)
  t.is(count(db), 3)
  // rr redact --secrets then forgets them everywhere.
  const redact = await rr(['--db-path', db, 'redact', '--secrets', '--yes'], { env })
  t.is(redact.code, 0, redact.stderr)
  t.regex(redact.stdout, /deleted 2 entries/)
  t.is(count(db), 1)
  t.is(count(db, 'SELECT COUNT(*) FROM tombstones'), 2)
})
