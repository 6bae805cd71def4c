import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { repoRoot } from '../helpers/cli.js'

// npm run build writes oclif.manifest.json: with it oclif loads only the command being run (rr --version and
// rr history no longer import every command's modules, libp2p included: about 1.1 s down to about 0.25 s here).
test('oclif.manifest.json lists every built command with its flags', (t) => {
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'oclif.manifest.json'), 'utf8')) as { commands: Record<string, { flags: Record<string, unknown> }> }
  // Commands in a folder are a topic: dist/src/commands/service/install.js is `service:install` (`rr service install`).
  const built = readdirSync(join(repoRoot, 'dist', 'src', 'commands'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3).split('/').join(':')).sort()
  t.deepEqual(Object.keys(manifest.commands).sort(), built)
  t.truthy(manifest.commands.record?.flags['print-id'])
  t.truthy(manifest.commands['p2p-sync']?.flags.peers)
})
