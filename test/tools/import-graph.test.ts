// The imports of src/ form a ladder (tools/import-graph.ts; by hand:
// `node --import tsx tools/import-graph.ts`): no cycle, and only down the layers of
// docs/STYLE.md. A failure names the cycle, or the import that goes up.

import { expect, it } from 'vitest'
import { TYPE_CYCLES, describeCycle, findCycles, importGraph, unwantedCycles, upwardImports } from '../../tools/import-graph'

it('has no import cycle under src/ (type-only ones only as TYPE_CYCLES lists them)', () => {
  const found = unwantedCycles().map(({ kind, cycle }) => `${kind} cycle: ${describeCycle(cycle)}`)
  expect(found, found.join('\n')).toEqual([])
})

it('lists no type-only cycle that is not there any more', () => {
  const there = new Set(findCycles(importGraph(true)).map(c => c.files.join(' ')))
  expect(TYPE_CYCLES.filter(c => !there.has(c.files.join(' '))).map(c => c.files.join(' '))).toEqual([])
})

it('imports only go down the layers of STYLE.md (apps, socket, tcp, ip, wire and time, tun)', () => {
  const upward = upwardImports(importGraph(true))
  expect(upward, upward.join('\n')).toEqual([])
})

it('finds a cycle, with its shortest round, in a made-up graph', () => {
  const graph = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts', 'd.ts']],
    ['c.ts', ['a.ts']],
    ['d.ts', ['b.ts']],
    ['e.ts', ['a.ts']],
  ])
  expect(findCycles(graph)).toEqual([{ files: ['a.ts', 'b.ts', 'c.ts', 'd.ts'], round: ['a.ts', 'b.ts', 'c.ts', 'a.ts'] }])
})
