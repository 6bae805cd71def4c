import test from 'ava'
import { deleteKeyArgs, fzfArgs, parseFzfVersion } from '../../src/search/fzf.js'

test('fzf versions parse from the forms distributions print', (t) => {
  t.deepEqual(parseFzfVersion('0.38.0 (debian)'), [0, 38, 0])
  t.deepEqual(parseFzfVersion('0.44.1 (d7d2ac3)\n'), [0, 44, 1])
  t.deepEqual(parseFzfVersion('0.29 (brew)'), [0, 29, 0])
  t.is(parseFzfVersion('garbage'), undefined)
})

test('fzf gets NUL records in and out, newest-first ties, and the initial query', (t) => {
  const args = fzfArgs({ version: [0, 38, 0] }, 'git st')
  for (const a of ['--read0', '--print0', '--tiebreak=index', '--scheme=history', '--query=git st']) t.true(args.includes(a), a)
})

test('--scheme is left out for fzf older than 0.33', (t) => {
  t.false(fzfArgs({ version: [0, 32, 1] }, '').includes('--scheme=history'))
  t.true(fzfArgs({ version: [1, 0, 0] }, '').includes('--scheme=history'))
})

test('ctrl-d runs rr delete --command-of on the highlighted row\'s entry id (field 1), then reloads in the same mode', (t) => {
  const [bind, header] = deleteKeyArgs("'/usr/bin/node' '/opt/rr/bin/rr' 'delete'", "'rr' 'search' '--reload-state' '/tmp/s' '--reload-keep'")
  t.is(bind, "--bind=ctrl-d:execute('/usr/bin/node' '/opt/rr/bin/rr' 'delete' --command-of {1})+reload('rr' 'search' '--reload-state' '/tmp/s' '--reload-keep')")
  t.regex(header!, /^--header=ctrl-d: delete/)
})
