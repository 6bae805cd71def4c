import test from 'ava'
import { ImportIds, uuidV5 } from '../../src/import/ids.js'

test('uuidV5 matches the RFC test vector (DNS namespace, www.example.com)', (t) => {
  const dns = Buffer.from('6ba7b8109dad11d180b400c04fd430c8', 'hex')
  t.is(uuidV5('www.example.com', dns), '2ed6657d-e927-568b-95e1-2665a8aea6a2')
})

test('ids are deterministic and depend on device, shell, time, command and position', (t) => {
  const ids = (): ImportIds => new ImportIds('dev', 'zsh')
  const a = ids()
  const first = [a.next('ls', 100), a.next('ls', 100), a.next('ls', 101), a.next('pwd', 101)]
  const b = ids()
  t.deepEqual([b.next('ls', 100), b.next('ls', 100), b.next('ls', 101), b.next('pwd', 101)], first)
  t.is(new Set(first).size, 4, 'the same command twice in one second gets two ids')
  t.not(new ImportIds('other', 'zsh').next('ls', 100), first[0])
  t.not(new ImportIds('dev', 'bash').next('ls', 100), first[0])
})

test('untimed ids count repeats of a command, so a trimmed and grown file maps onto the same ids', (t) => {
  const before = new ImportIds('dev', 'bash')
  const old = ['a', 'b', 'a', 'c'].map((c) => before.next(c, undefined))
  // The shell dropped the first line and appended "a" and "d".
  const after = new ImportIds('dev', 'bash')
  const now = ['b', 'a', 'c', 'a', 'd'].map((c) => after.next(c, undefined))
  const known = new Set(old)
  t.deepEqual(now.map((id) => known.has(id)), [true, true, true, true, false])
})

test('a long command is counted by digest yet keeps distinct ids per position', (t) => {
  const ids = new ImportIds('dev', 'bash')
  const long = 'y'.repeat(10_000)
  t.not(ids.next(long, undefined), ids.next(long, undefined))
})
