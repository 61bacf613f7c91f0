// The graph of relative imports between the files of src/, and the two checks that keep
// it a ladder: no cycle (gVisor cannot have one, Go forbids it; an ES module cycle runs,
// but a student can no longer read the files bottom up), and imports only down the
// layers of docs/STYLE.md. test/tools/import-graph.test.ts runs both; by hand:
//
//   node --import tsx tools/import-graph.ts          every cycle and every upward import, exit 1 if any
//
// Two graphs: the imports that run (what Node loads, and in which order it evaluates the
// modules), and with them the `import type` lines, which TypeScript erases but a reader
// still follows. The first must have no cycle at all; the second only the ones listed in
// TYPE_CYCLES, each with its reason.

import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** One file's relative imports: repository paths of the .ts files they name. */
export type ImportGraph = Map<string, string[]>

/** Every `.ts` file under `dir` (repository-relative, with forward slashes). */
function tsFiles(dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`
    if (entry.isDirectory()) out.push(...tsFiles(path))
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path)
  }
  return out
}

// A top-level import or re-export, perhaps over several lines: `import { a,\n b } from './x.js'`,
// `export * from './y.js'`, `import './z.js'`. The clause holds only names, braces, commas and
// `* as`, and no second import or export, so a match never runs into the next statement.
const IMPORT = /^(?:import|export)\s+(type\s+)?(?:(?:(?!\b(?:import|export)\b)[\w$*{},\s])*?\s*from\s*)?'(\.{1,2}\/[^']+)'/gm

/**
 * The imports of every file under src/: `./x.js` names the source `./x.ts` (NodeNext
 * resolution). `types`: count `import type` and `export type` too.
 */
export function importGraph(types: boolean, dir = 'src'): ImportGraph {
  const files = tsFiles(dir)
  const known = new Set(files)
  const graph: ImportGraph = new Map()
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8')
    const to: string[] = []
    for (const m of text.matchAll(IMPORT)) {
      if (m[1] !== undefined && !types) continue
      const target = relative(ROOT, resolve(ROOT, dirname(file), m[2]!.replace(/\.js$/, '.ts'))).split('\\').join('/')
      if (known.has(target) && !to.includes(target)) to.push(target)
    }
    graph.set(file, to)
  }
  return graph
}

/** A set of files that all import each other, directly or not, and one shortest round through them. */
export interface Cycle {
  files: string[]
  round: string[]
}

/**
 * The cycles: one per strongly connected component of more than one file (Tarjan), with
 * the shortest round from the component's first file back to itself.
 */
export function findCycles(graph: ImportGraph): Cycle[] {
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const components: string[][] = []
  const visit = (v: string) => {
    index.set(v, counter)
    low.set(v, counter++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) !== index.get(v)) return
    const component: string[] = []
    for (let w = ''; w !== v;) {
      w = stack.pop()!
      onStack.delete(w)
      component.push(w)
    }
    const selfLoop = graph.get(v)?.includes(v) === true
    if (component.length > 1 || selfLoop) components.push(component.sort())
  }
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v)
  return components.map(files => ({ files, round: shortestRound(graph, files[0]!, new Set(files)) }))
}

/** Breadth first from `start` inside the component, back to `start`. */
function shortestRound(graph: ImportGraph, start: string, within: Set<string>): string[] {
  const from = new Map<string, string>()
  const queue = [start]
  while (queue.length > 0) {
    const v = queue.shift()!
    for (const w of graph.get(v) ?? []) {
      if (!within.has(w)) continue
      if (w === start) {
        const path = [start]
        for (let at = v; at !== start; at = from.get(at)!) path.splice(1, 0, at)
        return [...path, start]
      }
      if (!from.has(w)) {
        from.set(w, v)
        queue.push(w)
      }
    }
  }
  return [start, start]
}

/**
 * The layers of docs/STYLE.md, top down, as folders of src/ (longest prefix wins). A file
 * may import its own layer and the layers listed for it; `wire` and `time` import nothing
 * of ours but the two leaves (counters, random). Files elsewhere (bin, testkit, viz, the
 * stack's own root files such as stack.ts, which wires the layers) are not judged.
 */
export const LAYERS: { name: string; folders: string[]; mayImport: string[] }[] = [
  { name: 'forward', folders: ['src/forward/'], mayImport: ['socket', 'tcp', 'ip', 'wire', 'time', 'leaves'] },
  { name: 'apps', folders: ['src/apps/'], mayImport: ['socket', 'tcp', 'ip', 'wire', 'time', 'leaves'] },
  { name: 'socket', folders: ['src/stack/socket/'], mayImport: ['tcp', 'ip', 'wire', 'time', 'leaves'] },
  { name: 'tcp', folders: ['src/stack/tcp/'], mayImport: ['ip', 'wire', 'time', 'leaves'] },
  { name: 'ip', folders: ['src/stack/ip/'], mayImport: ['wire', 'time', 'leaves'] },
  { name: 'wire', folders: ['src/stack/wire/'], mayImport: ['leaves'] },
  { name: 'time', folders: ['src/stack/time/'], mayImport: ['leaves'] },
  { name: 'tun', folders: ['src/tun/'], mayImport: ['wire', 'time', 'leaves'] },
  { name: 'leaves', folders: ['src/stack/counters.ts', 'src/stack/random.ts'], mayImport: ['wire'] },
]

function layerOf(file: string): string | undefined {
  let best: { name: string; length: number } | undefined
  for (const layer of LAYERS) {
    for (const folder of layer.folders) {
      if (file.startsWith(folder) && folder.length > (best?.length ?? 0)) best = { name: layer.name, length: folder.length }
    }
  }
  return best?.name
}

/** Imports that go up, or sideways into a layer not listed below: `from -> to (layer -> layer)`. */
export function upwardImports(graph: ImportGraph): string[] {
  const out: string[] = []
  for (const [from, tos] of graph) {
    const a = layerOf(from)
    if (a === undefined) continue
    const allowed = LAYERS.find(l => l.name === a)!.mayImport
    for (const to of tos) {
      const b = layerOf(to)
      if (b !== undefined && b !== a && !allowed.includes(b)) out.push(`${from} -> ${to} (${a} -> ${b})`)
    }
  }
  return out.sort()
}

/**
 * Cycles through `import type` that are meant, as `files` sorted, with why. A type names
 * what it describes; nothing runs in such a cycle, and the ladder of the imports that run stays.
 */
export const TYPE_CYCLES: { files: string[]; why: string }[] = [
  {
    files: ['src/stack/tcp/tcb.ts', 'src/stack/tcp/time-wait.ts'],
    why: 'a TCB in TIME-WAIT points at the compact entry that replaced it; the entry is made from the TCB',
  },
]

/** Every cycle of the imports that run, and every cycle through `import type` not in TYPE_CYCLES. */
export function unwantedCycles(): { kind: 'runtime' | 'type'; cycle: Cycle }[] {
  const meant = new Set(TYPE_CYCLES.map(c => c.files.join(' ')))
  const runtime = findCycles(importGraph(false)).map(cycle => ({ kind: 'runtime' as const, cycle }))
  const typed = findCycles(importGraph(true))
    .filter(c => !meant.has(c.files.join(' ')) && !runtime.some(r => r.cycle.files.join(' ') === c.files.join(' ')))
    .map(cycle => ({ kind: 'type' as const, cycle }))
  return [...runtime, ...typed]
}

/** One line per cycle: the shortest round, then every file of it. */
export function describeCycle(c: Cycle): string {
  return `${c.round.join(' -> ')}  (${c.files.length} files import each other: ${c.files.join(' ')})`
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const cycles = unwantedCycles()
  const upward = upwardImports(importGraph(true))
  for (const { kind, cycle } of cycles) console.log(`${kind} cycle: ${describeCycle(cycle)}`)
  for (const u of upward) console.log(`upward: ${u}`)
  console.log(`${importGraph(true).size} files, ${cycles.length} cycles, ${upward.length} upward imports`)
  process.exitCode = cycles.length + upward.length > 0 ? 1 : 0
}
