// The fuzz targets of fuzz/targets, in CI: every seed input (fuzz/corpus) and every
// input that once crashed (fuzz/regressions) must run clean, and a short seeded
// mutation run must find nothing. Long runs: `npm run fuzz` (docs/simulation-and-fuzzing.md).

import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fuzzLoop } from '../../src/testkit/fuzz/loop'
import type { FuzzTarget } from '../../src/testkit/fuzz/target'
import { target as parseIpv4 } from '../../fuzz/targets/parse-ipv4'
import { target as parseIpv6 } from '../../fuzz/targets/parse-ipv6'
import { target as parseTcp } from '../../fuzz/targets/parse-tcp'
import { target as segment } from '../../fuzz/targets/segment'
import { target as segmentIpv6 } from '../../fuzz/targets/segment-ipv6'

const FUZZ = join(import.meta.dirname, '..', '..', 'fuzz')

function inputs(kind: string, target: string): { name: string; data: Uint8Array }[] {
  const dir = join(FUZZ, kind, target)
  if (!existsSync(dir)) return []
  return readdirSync(dir).sort().map(name => ({ name, data: new Uint8Array(readFileSync(join(dir, name))) }))
}

const CASES: { target: FuzzTarget; runs: number }[] = [
  { target: parseIpv4, runs: 20_000 },
  { target: parseIpv6, runs: 20_000 },
  { target: parseTcp, runs: 20_000 },
  { target: segment, runs: 300 },
  { target: segmentIpv6, runs: 300 },
]

for (const { target, runs } of CASES) {
  describe(`fuzz target ${target.name}`, () => {
    it('runs every corpus and regression input clean', async () => {
      const all = [...inputs('corpus', target.name), ...inputs('regressions', target.name)]
      expect(all.length).toBeGreaterThan(0)
      for (const { name, data } of all) {
        const features = await Promise.resolve().then(() => target.run(data)).catch((e: Error) => { throw new Error(`${name}: ${e.message}`) })
        expect(features.size, name).toBeGreaterThan(0)
      }
    })

    it(`survives ${runs} seeded mutations of its corpus`, async () => {
      const corpus = inputs('corpus', target.name).map(i => i.data)
      const result = await fuzzLoop({ target, corpus, seed: Number(process.env.FUZZ_SEED ?? 1), maxRuns: runs })
      if (result.crash) throw new Error(`crash at execution ${result.crash.run}: ${String(result.crash.error)}`)
      expect(result.runs).toBe(runs)
      expect(result.corpusSize).toBeGreaterThanOrEqual(corpus.length)
    }, 30_000)
  })
}

describe('the parse targets catch what they promise to', () => {
  it('parse-ipv4 accepts a valid packet and names the reason for a bad one', () => {
    const [syn] = inputs('corpus', 'parse-ipv4').filter(i => i.name === 'syn-mss.bin')
    expect([...parseIpv4.run(syn!.data)]).toContain('ok')
    const bad = syn!.data.slice()
    bad[0] = 0x65 // version 6
    expect([...parseIpv4.run(bad)]).toEqual(['drop:ip-version'])
  })

  it('parse-tcp reaches the option parser without a valid checksum', () => {
    const [syn] = inputs('corpus', 'parse-tcp').filter(i => i.name === 'syn-all-options.bin')
    const bad = syn!.data.slice()
    bad[16] ^= 0xff // the checksum
    const features = parseTcp.run(bad)
    expect(features).toContain('drop:tcp-checksum')
    expect(features).toContain('ok-unverified')
    expect(features).toContain('option:timestamp')
  })
})
