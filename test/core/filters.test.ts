import test from 'ava'
import fc from 'fast-check'
import { secretPatterns, skipReason } from '../../src/core/filters.js'

// Fake credentials of each kind, assembled so no scanner mistakes this file for a leak.
const samples: Record<string, string> = {
  aws_access_key: `aws s3 ls --profile x # ${'AKIA'}${'ABCDEFGHIJKLMNOP'}`,
  aws_secret_key: `export AWS_SECRET_ACCESS_KEY=${'a'.repeat(20)}${'B/+9'.repeat(5)}`,
  github_token: `git clone https://${'ghp_'}${'x'.repeat(36)}@github.com/o/r`,
  gitlab_token: `curl -H "PRIVATE-TOKEN: ${'glpat-'}${'Ab1_'.repeat(5)}" https://gitlab.example`,
  slack_token: `curl -d token=${'xoxb-'}${'1234567890-abcdef'} https://slack.com/api`,
  slack_webhook: `curl -X POST https://${'hooks.slack.com'}/services/T0000/B1111/${'z'.repeat(24)}`,
  stripe_key: `stripe login --api-key ${'sk_live_'}${'9'.repeat(24)}`,
  npm_token: `npm config set //registry.npmjs.org/:_authToken ${'npm_'}${'Q'.repeat(36)}`,
  bearer_token: `curl -H "Authorization: Bearer ${'eyJhbGciOi'}.payload.sig" https://api.example`,
  private_key: `echo "-----BEGIN ${'OPENSSH'} PRIVATE KEY-----" > k`
}

test('every built-in secret kind has a sample here', (t) => {
  t.deepEqual(Object.keys(samples).sort(), secretPatterns.map((p) => p.name).sort())
})

for (const [name, cmd] of Object.entries(samples)) {
  test(`a command carrying a ${name.replace(/_/g, ' ')} is skipped as secret_${name}`, (t) => {
    t.is(skipReason(cmd), `secret_${name}`)
  })
}

test('every secret pattern holds one of its hints in each match (so skipping a command without hints loses nothing)', (t) => {
  for (const { name, hints } of secretPatterns) {
    t.true(hints.every((h) => h === h.toLowerCase()), name)
    t.true(hints.some((h) => samples[name]!.toLowerCase().includes(h)), name)
  }
  // Commands made of pieces of the samples, cut and mixed at random (case flipped too): whenever a pattern matches
  // one, the command holds a hint of that pattern.
  const pieces = Object.values(samples).flatMap((s) => s.split(/(?=[ /_:.=-])/))
  const piece = fc.oneof(fc.constantFrom(...pieces), fc.string({ maxLength: 6 }), fc.constantFrom(...pieces).map((p) => p.toUpperCase()))
  fc.assert(fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
    const cmd = parts.join('')
    for (const { pattern, hints } of secretPatterns) {
      if (pattern.test(cmd) && !hints.some((h) => cmd.toLowerCase().includes(h))) return false
    }
    return true
  }), { numRuns: 2000 })
  t.pass()
})

test('the secrets filter can be turned off', (t) => {
  t.is(skipReason(samples.aws_access_key!, { secretsFilter: false }), undefined)
})

test('ordinary commands are recorded, including ones that look a little like secrets', (t) => {
  for (const cmd of [
    'git commit -m "fix AKIA parsing"',
    'echo AKIA1234', // too short for a key
    'curl -H "Authorization: Basic"',
    'ssh-keygen -t ed25519',
    'grep -r "BEGIN PUBLIC KEY" .',
    'export GITHUB_TOKEN=$(cat ~/.token)',
    'npm install',
    'ls -la\necho two lines'
  ]) t.is(skipReason(cmd), undefined, cmd)
})

test('a command typed with a leading space is skipped', (t) => {
  t.is(skipReason(' echo private'), 'leading_space')
  t.is(skipReason('echo public'), undefined)
})

test('the ignore regex skips what matches it, before the secrets filter', (t) => {
  const ignoreRegex = /^(ls|cd)( |$)/
  t.is(skipReason('ls -la', { ignoreRegex }), 'ignore_regex')
  t.is(skipReason('cd', { ignoreRegex }), 'ignore_regex')
  t.is(skipReason('lsblk', { ignoreRegex }), undefined)
  t.is(skipReason(`cd /x && echo ${samples.aws_access_key!}`, { ignoreRegex }), 'ignore_regex')
})

test('empty and blank commands are skipped as empty', (t) => {
  t.is(skipReason(''), 'empty')
  t.is(skipReason('\n\t'), 'empty')
})
