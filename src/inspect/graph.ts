/**
 * The inspector's diagrams, generated from the machine definitions themselves (never drawn by hand, so they cannot
 * drift): walks xstate's state nodes and transitions into a graph, then lays it out as boxes and curves the page
 * draws as SVG. Top-level states go in rows by longest path from the initial state (back edges loop around the
 * right side); compound states hold their children in a row, parallel regions stack. Pure: no I/O.
 */
import type { AnyStateMachine } from 'xstate'
import { createPeerSyncMachine, type PeerSyncDependencies } from '../../machines/peer-sync.machine.js'
import { createRootMachine } from '../../machines/root.machine.js'

export interface GraphNode {
  /** Dotted path without the machine id: 'dialingDirect.attempting'. */
  id: string
  key: string
  parent?: string
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history'
  /** The parent's (or the machine's) initial state. */
  initial: boolean
  x: number
  y: number
  w: number
  h: number
}

export interface GraphEdge {
  from: string
  to: string
  /** Short labels of the events (and guards) that take this edge. */
  labels: string[]
  /** SVG path data. */
  d: string
  /** Where the label goes. */
  lx: number
  ly: number
}

export interface MachineGraph {
  machine: string
  width: number
  height: number
  nodes: GraphNode[]
  edges: GraphEdge[]
}

interface StateNodeLike {
  id: string
  key: string
  type: GraphNode['type']
  states: Record<string, StateNodeLike>
  initial?: { target?: StateNodeLike[] }
  transitions: Map<string, TransitionLike[]>
  always?: TransitionLike[]
}
interface TransitionLike { eventType: string, target?: StateNodeLike[], guard?: unknown, delay?: unknown }

const leafH = 28
const gap = 14
const pad = 10
const header = 18
const charW = 6.6

function local (id: string): string {
  const dot = id.indexOf('.')
  return dot < 0 ? '' : id.slice(dot + 1)
}

function guardName (guard: unknown): string | undefined {
  if (typeof guard === 'string') return guard
  if (guard != null && typeof guard === 'object' && typeof (guard as { type?: unknown }).type === 'string') return (guard as { type: string }).type
  if (typeof guard === 'function') return 'guard'
  return undefined
}

/** A short label for an event type as the diagram shows it. */
export function eventLabel (eventType: string, delay?: unknown): string {
  if (eventType === '') return 'always'
  if (eventType.startsWith('xstate.done.actor.')) return 'done'
  if (eventType.startsWith('xstate.error.actor.')) return 'error'
  if (eventType.startsWith('xstate.after.')) return `after ${typeof delay === 'string' ? delay : eventType.split('.')[2] ?? ''}`
  return eventType
}

interface Box { node: StateNodeLike, w: number, h: number, children: Array<{ box: Box, dx: number, dy: number }> }

function measure (node: StateNodeLike): Box {
  const kids = Object.values(node.states)
  const labelW = node.key.length * charW + 24
  if (kids.length === 0) return { node, w: Math.max(74, labelW), h: leafH, children: [] }
  const boxes = kids.map(measure)
  const children: Box['children'] = []
  if (node.type === 'parallel') {
    let y = header + pad
    for (const box of boxes) { children.push({ box, dx: pad, dy: y }); y += box.h + gap }
    const w = Math.max(labelW, ...boxes.map((b) => b.w)) + 2 * pad
    return { node, w, h: y - gap + pad, children }
  }
  let x = pad
  for (const box of boxes) { children.push({ box, dx: x, dy: header + pad }); x += box.w + gap }
  return { node, w: Math.max(labelW, x - gap + pad), h: header + pad + Math.max(...boxes.map((b) => b.h)) + pad, children }
}

/** Every transition of the machine as (source, targets, label). */
function transitionsOf (root: StateNodeLike): Array<{ from: string, to: string, label: string }> {
  const out: Array<{ from: string, to: string, label: string }> = []
  const walk = (node: StateNodeLike): void => {
    const all: TransitionLike[] = [...[...node.transitions.values()].flat(), ...(node.always ?? []).map((t) => ({ ...t, eventType: '' }))]
    for (const t of all) {
      const guard = guardName(t.guard)
      for (const target of t.target ?? []) {
        out.push({ from: local(node.id), to: local(target.id), label: `${eventLabel(t.eventType, t.delay)}${guard != null ? ` [${guard}]` : ''}` })
      }
    }
    for (const child of Object.values(node.states)) walk(child)
  }
  walk(root)
  return out.filter((t) => t.from !== '' && t.to !== '')
}

const top = (id: string): string => id.split('.')[0]!

/** Rows for the top-level states: longest path from the initial state, ignoring edges that close a cycle. */
function ranks (root: StateNodeLike, edges: Array<{ from: string, to: string }>): Map<string, number> {
  const keys = Object.keys(root.states)
  const next = new Map<string, string[]>(keys.map((k) => [k, []]))
  for (const e of edges) {
    const a = top(e.from)
    const b = top(e.to)
    if (a !== b && !next.get(a)!.includes(b)) next.get(a)!.push(b)
  }
  const initial = local(root.initial?.target?.[0]?.id ?? '') || keys[0]!
  // Back edges by DFS from the initial state, in definition order.
  const back = new Set<string>()
  const onStack = new Set<string>()
  const seen = new Set<string>()
  const dfs = (k: string): void => {
    seen.add(k); onStack.add(k)
    for (const n of next.get(k) ?? []) {
      if (onStack.has(n)) back.add(`${k}>${n}`)
      else if (!seen.has(n)) dfs(n)
    }
    onStack.delete(k)
  }
  dfs(initial)
  for (const k of keys) if (!seen.has(k)) dfs(k)
  const rank = new Map<string, number>(keys.map((k) => [k, 0]))
  for (let changed = true, guard = 0; changed && guard < keys.length + 2; guard++) {
    changed = false
    for (const [a, ns] of next) {
      for (const b of ns) {
        if (back.has(`${a}>${b}`)) continue
        if (rank.get(b)! < rank.get(a)! + 1) { rank.set(b, rank.get(a)! + 1); changed = true }
      }
    }
  }
  return rank
}

/** Lays out a machine and its transitions as a graph the page can draw. */
export function machineGraph (machine: AnyStateMachine): MachineGraph {
  const root = machine.root as unknown as StateNodeLike
  const raw = transitionsOf(root)
  const rank = ranks(root, raw)
  const tops = Object.values(root.states).map(measure)
  const rows: Box[][] = []
  for (const box of tops) (rows[rank.get(box.node.key)!] ??= []).push(box)
  const nodes: GraphNode[] = []
  const place = (box: Box, x: number, y: number, parent: StateNodeLike): void => {
    const id = local(box.node.id)
    const parentId = local(parent.id)
    nodes.push({
      id,
      key: box.node.key,
      type: box.node.type,
      ...(parentId !== '' ? { parent: parentId } : {}),
      initial: parent.initial?.target?.some((t) => t.id === box.node.id) === true,
      x,
      y,
      w: box.w,
      h: box.h
    })
    for (const c of box.children) place(c.box, x + c.dx, y + c.dy, box.node)
  }
  const rowGap = 34
  const widths = rows.map((r) => (r ?? []).reduce((s, b) => s + b.w, 0) + gap * 3 * Math.max(0, (r ?? []).length - 1))
  const inner = Math.max(...widths)
  const loopMargin = 70
  let y = 10
  rows.forEach((row, i) => {
    if (row == null) return
    let x = 10 + (inner - widths[i]!) / 2
    for (const box of row) { place(box, x, y, root); x += box.w + gap * 3 }
    y += Math.max(...row.map((b) => b.h)) + rowGap
  })
  const width = 10 + inner + loopMargin
  const height = y - rowGap + 14
  const byId = new Map(nodes.map((n) => [n.id, n]))
  // One edge per (from, to), every label on it.
  const merged = new Map<string, { from: string, to: string, labels: string[] }>()
  for (const t of raw) {
    const key = `${t.from}>${t.to}`
    const e = merged.get(key) ?? { from: t.from, to: t.to, labels: [] }
    if (!e.labels.includes(t.label)) e.labels.push(t.label)
    merged.set(key, e)
  }
  const edges: GraphEdge[] = []
  let loops = 0
  for (const e of merged.values()) {
    const a = byId.get(e.from)
    const b = byId.get(e.to)
    if (a == null || b == null) continue
    edges.push({ ...e, ...route(a, b, width, loops) })
    if (b.y + b.h <= a.y || (b.y < a.y && b.id !== a.id && !a.id.startsWith(`${b.id}.`))) loops++
  }
  return { machine: machine.id, width, height, nodes, edges }
}

const f = (n: number): string => (Math.round(n * 10) / 10).toString()

/** A curve from box a to box b: down when b is lower, sideways in a row, around the right side when going back up. */
function route (a: GraphNode, b: GraphNode, width: number, loop: number): { d: string, lx: number, ly: number } {
  const acx = a.x + a.w / 2
  const bcx = b.x + b.w / 2
  if (a.id === b.id) {
    const x = a.x + a.w
    const y = a.y + a.h / 2
    return { d: `M${f(x)},${f(y - 6)} C${f(x + 30)},${f(y - 22)} ${f(x + 30)},${f(y + 22)} ${f(x)},${f(y + 6)}`, lx: x + 30, ly: y }
  }
  if (b.y >= a.y + a.h) {
    const x1 = acx; const y1 = a.y + a.h; const x2 = bcx; const y2 = b.y
    const dy = Math.max(20, (y2 - y1) / 2)
    return { d: `M${f(x1)},${f(y1)} C${f(x1)},${f(y1 + dy)} ${f(x2)},${f(y2 - dy)} ${f(x2)},${f(y2)}`, lx: (x1 + x2) / 2, ly: (y1 + y2) / 2 }
  }
  const sameRow = Math.abs(a.y - b.y) < 1 || (b.y < a.y + a.h && a.y < b.y + b.h)
  if (sameRow && b.x >= a.x + a.w) {
    const x1 = a.x + a.w; const x2 = b.x; const y1 = a.y + a.h / 2; const y2 = b.y + b.h / 2
    return { d: `M${f(x1)},${f(y1)} C${f(x1 + 12)},${f(y1)} ${f(x2 - 12)},${f(y2)} ${f(x2)},${f(y2)}`, lx: (x1 + x2) / 2, ly: Math.min(y1, y2) - 4 }
  }
  if (sameRow && a.x >= b.x + b.w) {
    // Back along a row: an arc under both boxes.
    const x1 = acx; const y1 = a.y + a.h; const x2 = bcx; const y2 = b.y + b.h
    const low = Math.max(y1, y2) + 16
    return { d: `M${f(x1)},${f(y1)} C${f(x1)},${f(low)} ${f(x2)},${f(low)} ${f(x2)},${f(y2)}`, lx: (x1 + x2) / 2, ly: low - 2 }
  }
  // Back up the rows: out of the right side, around, into the target's right side.
  const x1 = a.x + a.w; const y1 = a.y + a.h / 2; const x2 = b.x + b.w; const y2 = b.y + b.h / 2
  const out = width - 8 - (loop % 4) * 12
  return { d: `M${f(x1)},${f(y1)} C${f(out)},${f(y1)} ${f(out)},${f(y2)} ${f(x2)},${f(y2)}`, lx: out - 4, ly: (y1 + y2) / 2 }
}

/** The graphs the inspector draws: the peer-sync machine and the root supervisor. */
export function inspectorGraphs (): { peer: MachineGraph, root: MachineGraph } {
  const peerMachine = createPeerSyncMachine({} as PeerSyncDependencies)
  const rootMachine = createRootMachine({ discoverPeers: async () => ({ targets: [] }), peerMachine, random: Math.random })
  return { peer: machineGraph(peerMachine), root: machineGraph(rootMachine) }
}
