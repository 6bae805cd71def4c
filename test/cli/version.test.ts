import test from 'ava'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { rustoryVersion, version } from '../../src/version.js'
import { repoRoot } from '../helpers/cli.js'

test('the version compiled into rr (stamped on every entry) is package.json\'s', (t) => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }
  t.is(version, pkg.version)
  t.is(rustoryVersion(), pkg.version)
})
