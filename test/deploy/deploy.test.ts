/**
 * deploy/: the Kubernetes manifests parse and hang together, and every rr command, flag and RUSTORY_* variable the
 * container build and the manifests use exists in `rr <command> --help`.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { parseAllDocuments } from 'yaml'
import { parseSwarmKey } from '../../src/config/keys.js'
import { isolatedEnv, repoRoot, rr } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

const k8sDir = join(repoRoot, 'deploy', 'k8s')

interface Doc { kind: string, metadata: { name: string, namespace?: string }, [key: string]: unknown }
interface Container { name: string, image: string, args?: string[], env?: Array<{ name: string, value?: string, valueFrom?: { secretKeyRef?: { name: string, key: string } } }>, ports?: Array<{ name: string, containerPort: number }>, readinessProbe?: Record<string, unknown> }

function manifests (): Doc[] {
  const docs: Doc[] = []
  for (const file of readdirSync(k8sDir).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(k8sDir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`)
      const value = doc.toJS() as Doc | null
      if (value != null) docs.push(value)
    }
  }
  return docs
}

function find (docs: Doc[], kind: string, name: string): Doc {
  const doc = docs.find((d) => d.kind === kind && d.metadata.name === name)
  if (doc == null) throw new Error(`no ${kind} ${name} in deploy/k8s`)
  return doc
}

function containers (d: Doc): Container[] {
  return (d as unknown as { spec: { template: { spec: { containers: Container[] } } } }).spec.template.spec.containers
}

test('the manifests parse: Deployments, Services and the Secret of the tracker and the relay, wired to each other', (t) => {
  const docs = manifests()
  for (const d of docs) t.truthy(d.apiVersion, `${d.kind} ${d.metadata.name} has an apiVersion`)
  const secret = find(docs, 'Secret', 'rustory-server') as unknown as { stringData: Record<string, string> }
  t.notThrows(() => parseSwarmKey(secret.stringData['swarm.key']!, 'secret.yaml'), 'the swarm.key placeholder has the real format')
  for (const name of ['rustory-tracker', 'rustory-relay']) {
    const deployment = find(docs, 'Deployment', name) as unknown as { spec: { selector: { matchLabels: Record<string, string> }, template: { metadata: { labels: Record<string, string> } } } }
    const service = find(docs, 'Service', name) as unknown as { spec: { selector: Record<string, string>, ports: Array<{ targetPort: string }> } }
    t.deepEqual(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels)
    t.deepEqual(service.spec.selector, deployment.spec.template.metadata.labels)
    const ports = containers(find(docs, 'Deployment', name)).flatMap((c) => (c.ports ?? []).map((p) => p.name))
    for (const p of service.spec.ports) t.true(ports.includes(p.targetPort), `${name}: service targets port ${p.targetPort}`)
    for (const c of containers(find(docs, 'Deployment', name))) {
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef
        if (ref != null) t.true(ref.name === 'rustory-server' && ref.key in secret.stringData, `${name}: secret key ${ref.key}`)
      }
    }
  }
  const tracker = containers(find(docs, 'Deployment', 'rustory-tracker'))[0]!
  t.is(tracker.args?.[tracker.args.indexOf('--bind') + 1]?.split(':')[0], '0.0.0.0', 'the tracker listens on 0.0.0.0 in the container')
  t.regex(JSON.stringify(tracker.readinessProbe), /\/api\/v1\/ping/)
  t.true(docs.every((d) => d.kind === 'Namespace' || d.metadata.namespace === 'rustory'))
})

/** Every `rr` invocation in deploy/: the container CMD, the run examples in its comments, the manifests' args. */
function invocations (): string[][] {
  const found: string[][] = []
  const containerfile = readFileSync(join(repoRoot, 'deploy', 'Containerfile'), 'utf8')
  const cmd = /^CMD (\[.*\])$/m.exec(containerfile)
  if (cmd != null) found.push(JSON.parse(cmd[1]!) as string[])
  for (const m of containerfile.matchAll(/rustory-server ((?:tracker|relay)-serve[^\n\\]*)/g)) found.push(m[1]!.trim().split(/\s+/))
  for (const d of manifests()) {
    if (d.kind !== 'Deployment') continue
    for (const c of containers(d)) if (c.args != null) found.push(c.args)
  }
  return found
}

test('every command, flag and RUSTORY_ variable used in deploy/ exists in rr <command> --help', async (t) => {
  const used = invocations()
  t.true(used.length >= 4, JSON.stringify(used))
  const env = isolatedEnv(tempDir(t))
  const variables = new Set<string>()
  for (const file of [join(repoRoot, 'deploy', 'Containerfile'), ...readdirSync(k8sDir).map((f) => join(k8sDir, f))]) {
    for (const m of readFileSync(file, 'utf8').matchAll(/RUSTORY_[A-Z_]+/g)) variables.add(m[0])
  }
  const helps = new Map<string, string>()
  for (const args of used) {
    const command = args[0]!
    if (!helps.has(command)) {
      const help = await rr([command, '--help'], { env })
      t.is(help.code, 0, `rr ${command} --help`)
      helps.set(command, help.stdout)
    }
    for (const flag of args.filter((a) => a.startsWith('--'))) {
      t.true(helps.get(command)!.includes(`${flag.split('=')[0]!}`), `rr ${command} has ${flag}`)
    }
  }
  const allHelp = [...helps.values()].join('\n')
  for (const v of variables) t.true(allHelp.includes(v), `${v} is documented in the help of the commands deploy/ runs`)
})
