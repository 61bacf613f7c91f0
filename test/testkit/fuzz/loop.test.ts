import { describe, expect, it } from 'vitest'
import { crashSignature, fuzzLoop } from '../../../src/testkit/fuzz/loop'
import type { FuzzTarget } from '../../../src/testkit/fuzz/target'

/** A planted bug behind a four-byte magic: blind mutation almost never finds it, feedback does. */
const MAGIC = [0x54, 0x43, 0x50, 0x21] // 'TCP!'
const planted: FuzzTarget = {
  name: 'planted',
  run(data) {
    let matched = 0
    while (matched < MAGIC.length && data[matched] === MAGIC[matched]) matched++
    if (matched === MAGIC.length) throw new Error('found the planted bug')
    return new Set([`prefix:${matched}`])
  },
}

describe('fuzzLoop', () => {
  it('finds a bug behind a magic prefix by keeping inputs that reach new features', async () => {
    const result = await fuzzLoop({ target: planted, corpus: [new Uint8Array(4)], seed: 1, maxRuns: 200_000 })
    expect(result.crash).not.toBeNull()
    expect(Array.from(result.crash!.input.subarray(0, 4))).toEqual(MAGIC)
    expect(String(result.crash!.error)).toBe('Error: found the planted bug')
    expect(result.features.has('prefix:3')).toBe(true)
  })

  it('finds it again at the same execution with the same seed', async () => {
    const one = await fuzzLoop({ target: planted, corpus: [new Uint8Array(4)], seed: 42, maxRuns: 200_000 })
    const two = await fuzzLoop({ target: planted, corpus: [new Uint8Array(4)], seed: 42, maxRuns: 200_000 })
    expect(two.crash!.run).toBe(one.crash!.run)
    expect(two.crash!.input).toEqual(one.crash!.input)
  })

  it('stops clean after maxRuns, replaying the corpus first', async () => {
    const seen: number[] = []
    const counting: FuzzTarget = { name: 'counting', run: data => { seen.push(data.length); return new Set(['one']) } }
    const result = await fuzzLoop({ target: counting, corpus: [new Uint8Array(7), new Uint8Array(9)], seed: 1, maxRuns: 50 })
    expect(result).toMatchObject({ runs: 50, crash: null, corpusSize: 2 })
    expect(seen.slice(0, 2)).toEqual([7, 9])
  })

  it('reports a crash in the corpus itself before mutating anything', async () => {
    const result = await fuzzLoop({ target: planted, corpus: [Uint8Array.from(MAGIC)], seed: 1, maxRuns: 10 })
    expect(result.crash?.run).toBe(1)
    expect(result.runs).toBe(1)
  })

  it('with keepGoing, reports each kind of crash once and runs on', async () => {
    const twoBugs: FuzzTarget = {
      name: 'two-bugs',
      run(data) {
        if (data[0] === 1) throw new Error(`first bug in ${data.length} bytes`)
        if (data[0] === 2) throw new Error('second bug')
        return new Set([`byte:${data[0]}`])
      },
    }
    const result = await fuzzLoop({ target: twoBugs, corpus: [new Uint8Array(2)], seed: 3, maxRuns: 5_000, keepGoing: true })
    expect(result.runs).toBe(5_000)
    expect(result.crashes.map(c => crashSignature(c.error)).sort()).toEqual(['Error: first bug in N bytes', 'Error: second bug'])
    expect(result.crash).toBe(result.crashes[0])
  })

  it('tells crashes apart by the finding, not the context line before it', () => {
    expect(crashSignature(new Error('from ESTABLISHED, after {"seq":5}:\n  ACK 12 acknowledges an octet'))).toBe('ACK N acknowledges an octet')
  })
})
