import test from 'ava'
import { join } from 'node:path'
import { hasControls, jsonForTerminal, showControls } from '../../src/core/escape.js'
import { encodeRecords, resolveSelection } from '../../src/search/feed.js'
import { formatEntry } from '../../src/search/history.js'
import { formatRecord } from '../../src/search/rows.js'
import { renderStats } from '../../src/search/stats.js'
import { openDatabase } from '../../src/store/db.js'
import { insertEntries } from '../../src/store/entries.js'
import { tempDir } from '../helpers/tmp.js'
import { entry } from '../store/fixtures.js'

const clear = 'echo hi\u001b[2J\u001b[H'
const title = 'ls\u001b]0;PWNED\u0007'
const clipboard = 'true\u001b]52;c;Y3VybCBldmlsIHwgc2g=\u0007'
const c1 = 'x\u009b31m and \u202egnp.exe'

test('every control character a terminal acts on is shown as text; tab and newline stay', (t) => {
  t.is(showControls(clear), 'echo hi␛[2J␛[H')
  t.is(showControls(title), 'ls␛]0;PWNED␇')
  t.is(showControls('a\rb\u007fc'), 'a␍b␡c')
  t.is(showControls(c1), 'x<U+009B>31m and <U+202E>gnp.exe')
  t.is(showControls('for i in 1 2\n\tdo echo $i; done'), 'for i in 1 2\n\tdo echo $i; done')
  for (let code = 0; code < 0x20; code++) {
    if (code === 9 || code === 10) continue
    t.false(/[\u0000-\u001f]/.test(showControls(`a${String.fromCharCode(code)}b`).replace(/\t|\n/g, '')), `U+${code.toString(16)}`)
  }
  t.false(hasControls('plain ünïcode ✓'))
})

test('JSON for a terminal parses to exactly the same value, with no raw control character in it', (t) => {
  const value = { cmd: `${clear}${title}${clipboard}${c1}\u007f` }
  const text = jsonForTerminal(value)
  t.deepEqual(JSON.parse(text), value)
  t.false(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(text))
})

test('history text, stats and fzf records show escapes; history JSON keeps the command exact', (t) => {
  const e = entry({ cmd: title })
  t.is(formatEntry(e, 'text', true), `${e.ts.slice(0, 10)} ${e.ts.slice(11, 19)}Z  ls␛]0;PWNED␇\n`)
  // ctrl+r rows: command, directory, host and device shown escaped; only the record's own separators stay raw.
  const record = formatRecord([clear, e.ts, 'dev\u001b]0;x\u0007', e.entry_id, '/\u001b[2J', 1, 5, 'h\u009b1m'], { nowMs: Date.parse(e.ts), cwd: '/', hostname: 'here', home: '/home/u' })
  t.false(/[\u0000-\u0008\u000b-\u001e\u007f-\u009f]/.test(record), record)
  t.is(JSON.parse(formatEntry(e, 'jsonl')).cmd, title)
  const stats = renderStats({ total: 1, failed: 0, failureRate: 0, firstTs: e.ts, lastTs: e.ts, devices: [{ deviceId: 'd\u001b]0;x\u0007', count: 1, lastTs: e.ts, keys: 2, unverified: 1 }], topCommands: [{ cmd: clipboard, count: 1 }], topDirectories: [{ cwd: '/\u001b[2J', count: 1 }] })
  t.false(stats.includes('\u001b'))
  t.false(stats.includes('\u0007'))
  t.regex(stats, /1 unverified; signed by 2 different keys/)
  t.is(new TextDecoder().decode(encodeRecords([clear, 'plain'])), 'echo hi␛[2J␛[H\0plain\0')
})

test('a command chosen in fzf by its escaped line comes back exactly as recorded', (t) => {
  const dbPath = join(tempDir(t), 'h.db')
  const db = openDatabase(dbPath)
  insertEntries(db, [entry({ cmd: clear }), entry({ cmd: 'echo ␛ literal' })])
  db.close()
  t.is(resolveSelection(dbPath, {}, showControls(clear)), clear)
  t.is(resolveSelection(dbPath, {}, 'echo ␛ literal'), 'echo ␛ literal')
  t.is(resolveSelection(dbPath, {}, 'plain'), 'plain')
})
