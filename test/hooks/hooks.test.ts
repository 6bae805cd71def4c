/**
 * The hook scripts as shells load them: `rr init` output, how they join what a user already has (PROMPT_COMMAND
 * string or array, PS0, zsh hook arrays), loading twice, and (in tmux) the array form recording for real.
 */
import test from 'ava'
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { rrBinPath } from '../../src/doctor/shell-hooks.js'
import { isolatedEnv, repoRoot, rr } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'
import { sleep, startShell } from '../helpers/tmux.js'
import { readRows } from '../helpers/db.js'

async function sh (program: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number, stdout: string, stderr: string }> {
  return await new Promise((resolve) => {
    execFile(program, args, { env, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err == null ? 0 : (typeof err.code === 'number' ? err.code : 1), stdout, stderr })
    })
  })
}

async function hookFile (t: Parameters<typeof tempDir>[0], shell: 'zsh' | 'bash', extraEnv: Record<string, string> = {}): Promise<{ path: string, text: string, env: NodeJS.ProcessEnv, dir: string }> {
  const dir = tempDir(t)
  const env = isolatedEnv(dir, extraEnv)
  const r = await rr(['init', shell], { env })
  t.is(r.code, 0, r.stderr)
  const path = join(dir, `hook.${shell}`)
  writeFileSync(path, r.stdout)
  return { path, text: r.stdout, env, dir }
}

for (const shell of ['zsh', 'bash'] as const) {
  test(`rr init ${shell} prints valid ${shell} that runs this rr by absolute paths`, async (t) => {
    const { path, text, env } = await hookFile(t, shell)
    t.true(text.includes(`'${process.execPath}' '${rrBinPath}'`))
    t.false(text.includes('__RUSTORY_RR__'))
    const check = await sh(shell, ['-n', path], env)
    t.is(check.code, 0, check.stderr)
  })

  test(`rr init ${shell} uses RUSTORY_BIN when it is set`, async (t) => {
    const { text } = await hookFile(t, shell, { RUSTORY_BIN: "/opt/it's/rr" })
    t.true(text.includes('_rustory_rr=(\'/opt/it\'\\\'\'s/rr\')'))
  })
}

test('rr init rejects other shells with exit 2', async (t) => {
  const r = await rr(['init', 'tcsh'], { env: isolatedEnv(tempDir(t)) })
  t.is(r.code, 2)
  t.regex(r.stderr, /zsh, bash, fish/)
})

test('bash: a string PROMPT_COMMAND and PS0 are kept, the hook goes first, and loading twice adds nothing', async (t) => {
  const { path, env } = await hookFile(t, 'bash')
  const r = await sh('bash', ['--norc', '--noprofile', '-c', `PROMPT_COMMAND='mine "$?"'; PS0='ps0-mine'; source ${path}; source ${path}; declare -p PROMPT_COMMAND; printf '%s\\n' "$PS0"`], env)
  t.is(r.code, 0, r.stderr)
  const [pc, ps0] = r.stdout.trim().split('\n')
  t.is(pc, 'declare -- PROMPT_COMMAND="_rustory_prompt; mine \\"\\$?\\""')
  t.true(ps0!.startsWith('ps0-mine${_rustory_void['))
  t.is(ps0!.split('_rustory_start_us').length, 2)
})

test('bash 5.1+: an array PROMPT_COMMAND stays an array with the hook first, once', async (t) => {
  const { path, env } = await hookFile(t, 'bash')
  const r = await sh('bash', ['--norc', '--noprofile', '-c', `PROMPT_COMMAND=(first second); source ${path}; source ${path}; declare -p PROMPT_COMMAND`], env)
  t.is(r.code, 0, r.stderr)
  t.is(r.stdout.trim(), 'declare -a PROMPT_COMMAND=([0]="_rustory_prompt" [1]="first" [2]="second")')
})

test('bash: the PS0 part prints nothing and takes the start time and directory', async (t) => {
  const { path, env, dir } = await hookFile(t, 'bash')
  const r = await sh('bash', ['--norc', '--noprofile', '-c', `source ${path}; cd ${JSON.stringify(dir)}; out="\${_rustory_ps0@P}"; printf '[%s] %s %s\\n' "$out" "$_rustory_start_us" "$_rustory_cwd"`], env)
  t.is(r.code, 0, r.stderr)
  const m = /^\[\] (\d+) (.+)$/.exec(r.stdout.trim())
  t.truthy(m, r.stdout)
  t.true(Math.abs(Number(m![1]) / 1000 - Date.now()) < 60_000)
  t.is(m![2], dir)
})

test('zsh: hooks already in precmd_functions/preexec_functions stay, and loading twice adds nothing', async (t) => {
  const { path, env } = await hookFile(t, 'zsh')
  const r = await sh('zsh', ['-f', '-c', `mine() {}; precmd_functions=(mine); preexec_functions=(mine); source ${path}; source ${path}; print -r -- "$precmd_functions|$preexec_functions"`], env)
  t.is(r.code, 0, r.stderr)
  t.is(r.stdout.trim(), 'mine _rustory_precmd|mine _rustory_preexec')
})

test('bash with an array PROMPT_COMMAND records for real, and the user\'s prompt command still sees the exit status', async (t) => {
  const marks = join(tempDir(t), 'marks')
  const sh = await startShell(t, 'bash', '', `mine() { echo "status=$?" >> ${JSON.stringify(marks)}; }\nPROMPT_COMMAND=(mine)`)
  await sh.run('sh -c "exit 7"')
  await sh.run('echo array-ok')
  const deadline = Date.now() + 15_000
  let cmds: string[] = []
  while (Date.now() < deadline) {
    try {
      cmds = readRows(sh.dbPath, 'ts').map((r) => r.cmd)
    } catch {}
    if (cmds.length >= 2) break
    await sleep(50)
  }
  t.deepEqual(cmds, ['sh -c "exit 7"', 'echo array-ok'])
  t.true(readFileSync(marks, 'utf8').includes('status=7'))
})

for (const shell of ['zsh', 'bash'] as const) {
  test(`${shell}: rr doctor run from a shell with the hook sees it`, async (t) => {
    const out = join(tempDir(t), 'doctor.json')
    const s = await startShell(t, shell)
    await s.run(`${JSON.stringify(process.execPath)} ${JSON.stringify(rrBinPath)} doctor --json > ${JSON.stringify(out)}`)
    const report = JSON.parse(readFileSync(out, 'utf8')) as { hook: { active?: string, detected: boolean } }
    t.is(report.hook.active, shell)
    t.true(report.hook.detected)
  })
}

for (const shell of ['bash', 'zsh', 'fish'] as const) {
  test(`rr init ${shell} --write writes a static file that loads the installed hook with this rr, and prints the line that sources it`, async (t) => {
    const dir = tempDir(t)
    const env = isolatedEnv(dir)
    const r = await rr(['init', shell, '--write'], { env })
    t.is(r.code, 0, r.stderr)
    const file = join(dir, '.rustory', `init.${shell}`)
    t.is(r.stdout, `source '${file}'\n`)
    t.true(readFileSync(file, 'utf8').includes(join(repoRoot, 'hooks', `rr.${shell}`)), 'it sources the installed hook, which upgrades replace in place')
    // Sourced in a real interactive shell: the hook is loaded and runs this node and this bin/rr.
    const show = shell === 'fish' ? 'printf "%s\\n" $_rustory_rr; functions -q _rustory_search; and echo bound' : 'printf "%s\\n" "${_rustory_rr[@]}"; typeset -f _rustory_exec >/dev/null && echo bound'
    const args = shell === 'bash' ? ['--norc', '--noprofile', '-i', '-c'] : shell === 'zsh' ? ['-f', '-i', '-c'] : ['--no-config', '-i', '-c']
    const out = await sh(shell, [...args, `${r.stdout.trim()}; ${show}`], env)
    t.is(out.code, 0, out.stderr)
    t.deepEqual(out.stdout.trim().split('\n').slice(-3), [process.execPath, rrBinPath, 'bound'])
  })
}
