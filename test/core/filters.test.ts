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
  private_key: `echo "-----BEGIN ${'OPENSSH'} PRIVATE KEY-----" > k`,
  github_app_token: `curl -H "Authorization: token ${'v1.'}${'0123456789abcdef'.repeat(2)}01234567" https://api.github.com`,
  pypi_token: `twine upload -p ${'pypi-AgE'}${'IcHlwaS5vcmc'.repeat(5)} dist/*`,
  openai_key: `OPENAI=${'sk-proj-'}${'Ab3dEf6hIj9k'.repeat(4)} python app.py`,
  netlify_token: `netlify deploy --auth ${'nfp_'}${'nBh7BdJxUw'.repeat(3)}yaBBwF`,
  pulumi_token: `pulumi login --token ${'pul-'}${'683c2770662c51d960d7'.repeat(2)}`,
  google_api_key: `curl "https://maps.googleapis.com/x?key=${'AIza'}${'SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY'}"`,
  huggingface_token: `huggingface-cli login --token ${'hf_'}${'AbCdEfGhIjKlMnOpQrStUvWxYz01234567'}`,
  jwt: `http GET api.example/me Cookie:session=${'eyJ'}hbGciOiJIUzI1NiJ9.${'eyJ'}zdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U`,
  mysql_password: 'mysql -u root -pSup3rS3cret!',
  curl_credentials: 'curl -u admin:hunter2 https://intranet.example/api',
  url_credentials: 'git clone https://bob:hunter2@git.example.com/repo.git',
  sshpass_password: 'sshpass -p hunter2 ssh bob@host',
  docker_login_password: 'docker login -u bob -p hunter2 registry.example',
  atuin_login: 'atuin login -u bob -p hunter2',
  env_credential: 'export DEPLOY_TOKEN=abc123def',
  password_flag: 'psql --password=hunter2 -h db'
}

/**
 * The table of every case: each command with the reason it is skipped for, or undefined when it must be recorded.
 * Positives cover every kind (several forms each); negatives are the look-alikes a user types every day.
 */
const table: Array<[cmd: string, expected: string | undefined]> = [
  // mysql and friends: a password glued to -p, or --password=.
  ['mysql -u root -pSup3rS3cret!', 'secret_mysql_password'],
  ['mysqldump -uroot -phunter2 shop > shop.sql', 'secret_mysql_password'],
  ['mariadb -h db --password=hunter2', 'secret_mysql_password'],
  ['mysql -u root -p', undefined],
  ['mysql -u root -p shop', undefined],
  ['mysql -h db -P 3306 -u root -p', undefined],
  ['mysql --port=3306 -u app shop', undefined],
  // curl credentials.
  ['curl -u admin:hunter2 https://intranet.example/api', 'secret_curl_credentials'],
  ['curl --user "admin:hunter2" https://x.example', 'secret_curl_credentials'],
  ['curl -u admin https://x.example', undefined],
  ['curl -sSL https://get.example.sh | sh', undefined],
  // user:password@host in any URL.
  ['git clone https://bob:hunter2@git.example.com/repo.git', 'secret_url_credentials'],
  ['psql postgres://app:s3cret@db:5432/shop', 'secret_url_credentials'],
  ['redis-cli -u redis://default:pw@cache:6379', 'secret_url_credentials'],
  ['git clone git@github.com:owner/repo.git', undefined],
  ['ssh://git@host:22/repo', undefined],
  ['curl http://localhost:8080/health', undefined],
  ['open https://example.com/@user:name', undefined],
  // sshpass, docker login, atuin login.
  ['sshpass -p hunter2 ssh bob@host', 'secret_sshpass_password'],
  ['sshpass -phunter2 scp f bob@host:', 'secret_sshpass_password'],
  ['sshpass -f ~/.pw ssh bob@host', undefined],
  ['docker login -u bob -p hunter2 registry.example', 'secret_docker_login_password'],
  ['docker login --password=hunter2 registry.example', 'secret_docker_login_password'],
  ['docker login -u bob --password-stdin registry.example', undefined],
  ['atuin login -u bob -p hunter2', 'secret_atuin_login'],
  ['atuin login -u bob', undefined],
  // Credentials in variables.
  ['export DEPLOY_TOKEN=abc123def', 'secret_env_credential'],
  ['export AWS_SESSION_TOKEN=IQoJb3JpZ2luX2Vj', 'secret_env_credential'],
  ['export AZURE_STORAGE_ACCOUNT_KEY=KEYDATA', 'secret_env_credential'],
  ['export GOOGLE_SERVICE_ACCOUNT_KEY=KEYDATA', 'secret_env_credential'],
  ['export DB_PASSWORD="hunter2"', 'secret_env_credential'],
  ['PGPASSWORD=hunter2 psql -h db', 'secret_env_credential'],
  ['kubectl create secret generic db --from-literal=password=hunter2', 'secret_env_credential'],
  ['export GITHUB_TOKEN=$(cat ~/.token)', undefined],
  ['export NPM_TOKEN=$NPM_TOKEN_CI', undefined],
  ['export SKIP_TOKEN_CHECK=1', undefined],
  ['MAX_TOKENS=100 python run.py', undefined],
  ['export PASSWORD_FILE=/run/secrets/db', undefined],
  ['echo $GITHUB_TOKEN', undefined],
  ['unset AWS_SECRET_ACCESS_KEY', undefined],
  ['grep -r TOKEN= .env.example', undefined],
  // Flags.
  ['psql --password=hunter2 -h db', 'secret_password_flag'],
  ['gh api --token=ghx1234 /user', 'secret_password_flag'],
  ['vault login --password-file ~/.pw', undefined],
  ['gh auth login --with-token < token.txt', undefined],
  // The everyday -p look-alikes.
  ['docker run -p 8080:80 nginx', undefined],
  ['docker run -p 8080 nginx', undefined],
  ['git log -p', undefined],
  ['git add -p', undefined],
  ['ssh -p 22 bob@host', undefined],
  ['scp -P 2222 f bob@host:', undefined],
  ['mkdir -p build/out', undefined],
  ['python -m http.server -p 8000', undefined],
  ['ps -p 1234 -o pid,cmd', undefined],
  // Shaped tokens and their look-alikes.
  [samples.aws_access_key!, 'secret_aws_access_key'],
  ['echo AKIA1234', undefined],
  [samples.openai_key!, 'secret_openai_key'],
  [`curl https://api.anthropic.com -H "x-api-key: ${'sk-ant-api03-'}${'Xy9_'.repeat(10)}"`, 'secret_openai_key'],
  ['git checkout sk-feature-branch-with-a-long-name-here', undefined],
  ['git checkout -b sk-2024-new-login-flow-for-mobile-users', undefined],
  [samples.jwt!, 'secret_jwt'],
  ['echo eyJhbGciOi', undefined],
  [samples.pypi_token!, 'secret_pypi_token'],
  ['pip install pypi-simple', undefined],
  [samples.github_token!, 'secret_github_token'],
  ['git checkout ghp_fix', undefined],
  [samples.private_key!, 'secret_private_key'],
  ['grep -r "BEGIN PUBLIC KEY" .', undefined],
  ['ssh-keygen -t ed25519', undefined],
  ['npm install', undefined]
]

for (const [cmd, expected] of table) {
  test(`table: ${JSON.stringify(cmd.length > 70 ? `${cmd.slice(0, 67)}...` : cmd)} is ${expected ?? 'recorded'}`, (t) => {
    t.is(skipReason(cmd) as string | undefined, expected)
  })
}

test('the table has a positive for every kind of secret', (t) => {
  const kinds = new Set(table.map(([, e]) => e).filter((e) => e != null))
  for (const { name } of secretPatterns) {
    if (!kinds.has(`secret_${name}`)) t.true(samples[name] != null, name)
  }
  t.true(table.filter(([, e]) => e == null).length >= 30, 'look-alike negatives')
})

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
