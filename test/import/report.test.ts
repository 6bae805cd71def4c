import test from 'ava'
import { renderProgress, renderSummary, type ImportSummary } from '../../src/import/run.js'

const summary: ImportSummary = {
  path: '/h/.zsh_history',
  shell: 'zsh',
  lines: 1200,
  read: 1000,
  inserted: 900,
  alreadyPresent: 80,
  skipped: 20,
  skippedReasons: { empty: 5, secret_github_token: 15 },
  truncated: 1,
  repaired: 2,
  elapsedMs: 2000,
  untimed: 7,
  secrets: 15,
  secretsFilter: true,
  batchId: '11111111-2222-4333-8444-555555555555'
}

test('the summary names read, inserted, already present and skipped with reasons (most frequent first)', (t) => {
  const text = renderSummary(summary)
  t.regex(text, /read:\s+1000 commands \(1200 lines, 2\.0 s, 600 lines\/s\)/)
  t.regex(text, /inserted:\s+900\n/)
  t.regex(text, /already present:\s+80\n/)
  t.regex(text, /skipped:\s+20 \(secret_github_token: 15, empty: 5\)/)
  t.regex(text, /truncated:\s+1/)
  t.regex(text, /not UTF-8:\s+2/)
  t.regex(text, /secrets:\s+15 skipped as secrets \(--keep-secrets keeps them\)/)
  t.regex(text, /untimed:\s+7 \(no timestamp in the file/)
  t.regex(text, /batch:\s+11111111-2222-4333-8444-555555555555 \(undo with: rr delete --import 11111111-2222-4333-8444-555555555555\)/)
  t.regex(renderSummary({ ...summary, secretsFilter: false, secrets: 0 }), /secrets:\s+kept \(--keep-secrets/)
})

test('the progress bar fills with the bytes read and redraws in place', (t) => {
  t.is(renderProgress({ bytesRead: 0, totalBytes: 100, entries: 0 }, 10), '\r[          ]   0%  0 commands')
  t.is(renderProgress({ bytesRead: 50, totalBytes: 100, entries: 7 }, 10), '\r[#####     ]  50%  7 commands')
  t.is(renderProgress({ bytesRead: 0, totalBytes: 0, entries: 0 }, 10), '\r[##########] 100%  0 commands')
})
