import { execFile } from 'node:child_process'
import test from 'ava'
import { fzfDefaultOpts, fzfLoadsRest, deleteKeyArgs, fzfArgs, parseFzfVersion } from '../../src/search/fzf.js'
import { previewCommand } from '../../src/search/rows.js'

test('fzf versions parse from the forms distributions print', (t) => {
  t.deepEqual(parseFzfVersion('0.38.0 (debian)'), [0, 38, 0])
  t.deepEqual(parseFzfVersion('0.44.1 (d7d2ac3)\n'), [0, 44, 1])
  t.deepEqual(parseFzfVersion('0.29 (brew)'), [0, 29, 0])
  t.is(parseFzfVersion('garbage'), undefined)
})

test('fzf gets NUL records in and out and newest-first ties; the initial query is never an argument', (t) => {
  const args = fzfArgs({ version: [0, 38, 0] })
  for (const a of ['--read0', '--print0', '--tiebreak=index', '--scheme=history']) t.true(args.includes(a), a)
  t.false(args.some((a) => a.startsWith('--query')), 'the query would be in the process list')
})

test('the initial query reaches the real fzf whole through FZF_DEFAULT_OPTS, after the user\'s own options', async (t) => {
  const query = 'curl -H "Authorization: Bearer it\'s" $HOME \\ `x` \'\'; a'
  const opts = fzfDefaultOpts('--exact', query)
  t.true(opts.startsWith('--exact '))
  const out = await new Promise<string>((resolve, reject) => {
    const child = execFile('fzf', ['--print-query', '--select-1', '--exit-0'], { env: { ...process.env, FZF_DEFAULT_OPTS: opts }, timeout: 10_000 }, (err, stdout) => {
      if (err != null && stdout === '') reject(err)
      else resolve(stdout)
    })
    child.stdin!.end(`${query}\nother line\n`)
  })
  t.deepEqual(out.split('\n').slice(0, 2), [query, query], 'fzf printed the query, then the one line it matched')
})

test('--scheme is left out for fzf older than 0.33', (t) => {
  t.false(fzfArgs({ version: [0, 32, 1] }).includes('--scheme=history'))
  t.true(fzfArgs({ version: [1, 0, 0] }).includes('--scheme=history'))
})

test('ctrl-d runs rr delete --command-of on the highlighted row\'s entry id (field 1), then reloads in the same mode', (t) => {
  const [bind, header] = deleteKeyArgs("'/usr/bin/node' '/opt/rr/bin/rr' 'delete'", "'rr' 'search' '--reload-state' '/tmp/s' '--reload-keep'")
  t.is(bind, "--bind=ctrl-d:execute('/usr/bin/node' '/opt/rr/bin/rr' 'delete' --command-of {1})+reload('rr' 'search' '--reload-state' '/tmp/s' '--reload-keep')")
  t.regex(header!, /^--header=ctrl-d: delete/)
})

test('where fzf has the load event (0.36+), the whole list is loaded by fzf after the first screen, once', (t) => {
  const rest = "'node' 'rr' 'search' '--reload-keep'"
  t.true(fzfArgs({ version: [0, 38, 0] }, { rest }).includes(`--bind=load:reload-sync(${rest})+unbind(load)`))
  t.false(fzfArgs({ version: [0, 35, 1] }, { rest }).some((a) => a.startsWith('--bind=load:')), 'older fzf: the list comes on the input')
  t.false(fzfArgs({ version: [0, 38, 0] }).some((a) => a.startsWith('--bind=load:')))
  t.true(fzfLoadsRest({ version: [0, 36, 0] }))
  t.false(fzfLoadsRest({ version: [0, 35, 9] }))
})

test('the preview gets every field from a file fzf writes ({f…}), never as an argument of sh (the process list)', (t) => {
  const placeholders = previewCommand.match(/\{[^}]*\}/g) ?? []
  t.true(placeholders.length >= 2)
  for (const p of placeholders) t.regex(p, /^\{\+?s?f/, p)
})
