/**
 * The import direction: lower layers never import higher ones. Each folder (src/<name>, actors, machines, workers)
 * has a layer; a module may import its own folder and folders of lower layers only. The data flow this keeps
 * readable is drawn in README.md's Layout section.
 */
import test from 'ava'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { repoRoot } from './helpers/cli.js'

/** Bottom to top. A folder missing here fails the test: a new one must be given its place. */
export const layers: ReadonlyArray<readonly string[]> = [
  ['src/core', 'src/polyfill', 'src/version'],
  ['src/config', 'src/protocol', 'src/lifecycle', 'src/daemon'],
  ['src/store', 'src/service'],
  ['src/search', 'src/status', 'src/record', 'workers'],
  ['src/sync'],
  ['src/http', 'src/doctor', 'src/forget', 'src/import'],
  ['src/tracker', 'src/init'],
  ['src/p2p', 'machines'],
  ['actors', 'src/inspect'],
  ['src/run'],
  ['src/cli'],
  ['src/commands']
]

const rank = new Map(layers.flatMap((names, i) => names.map((n) => [n, i] as const)))

/** src/<name> for anything under src/, else the top-level folder. */
function folderOf (path: string): string {
  const parts = path.split('/')
  return parts[0] === 'src' ? `src/${parts[1]!.replace(/\.(ts|js)$/, '')}` : parts[0]!
}

function sourceFiles (dir: string): string[] {
  return readdirSync(join(repoRoot, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(repoRoot, join(e.parentPath, e.name)))
}

export interface Import { from: string, to: string }

/** Every relative import (static, dynamic, re-export) between two folders. */
export function crossImports (files: readonly string[], read: (path: string) => string): Import[] {
  const found: Import[] = []
  for (const file of files) {
    for (const m of read(file).matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)'(\.{1,2}\/[^']+)'/g)) {
      const target = normalize(join(dirname(file), m[1]!))
      if (folderOf(target) !== folderOf(file)) found.push({ from: file, to: target })
    }
  }
  return found
}

/** The imports that go sideways or up, with the reason. */
export function violations (imports: readonly Import[]): string[] {
  const bad: string[] = []
  for (const { from, to } of imports) {
    const a = rank.get(folderOf(from))
    const b = rank.get(folderOf(to))
    if (a == null) bad.push(`${from}: folder ${folderOf(from)} has no layer`)
    else if (b == null) bad.push(`${from} imports ${to}: folder ${folderOf(to)} has no layer`)
    else if (b >= a) bad.push(`${from} imports ${to}: layer ${b} (${folderOf(to)}) is not below layer ${a} (${folderOf(from)})`)
  }
  return bad
}

test('every import goes down the layers', (t) => {
  const files = ['src', 'actors', 'machines', 'workers'].flatMap(sourceFiles)
  const imports = crossImports(files, (p) => readFileSync(join(repoRoot, p), 'utf8'))
  t.true(imports.length > 100, `found only ${imports.length} imports between folders: the scan is broken`)
  t.deepEqual(violations(imports), [])
})

test('the check catches an import that goes up, one that goes sideways, and a folder with no layer', (t) => {
  const sources: Record<string, string> = {
    'src/store/db.ts': "import { x } from '../search/feed.js'",
    'src/search/feed.ts': "const m = await import('../record/x.js')",
    'src/newthing/a.ts': "export { y } from '../core/entry.js'",
    'src/cli/main.ts': "import { z } from '../commands/search.js'\nimport { w } from '../core/errors.js'"
  }
  const imports = crossImports(Object.keys(sources), (p) => sources[p]!)
  t.deepEqual(violations(imports), [
    'src/store/db.ts imports src/search/feed.js: layer 3 (src/search) is not below layer 2 (src/store)',
    'src/search/feed.ts imports src/record/x.js: layer 3 (src/record) is not below layer 3 (src/search)',
    'src/newthing/a.ts: folder src/newthing has no layer',
    'src/cli/main.ts imports src/commands/search.js: layer 11 (src/commands) is not below layer 10 (src/cli)'
  ])
})
