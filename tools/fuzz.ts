// Run the fuzz targets (fuzz/targets) with our seeded mutation loop
// (src/testkit/fuzz/loop.ts), starting from their corpus (fuzz/corpus/<target>)
// and the inputs of past crashes (fuzz/regressions/<target>).
//
//   npm run fuzz                                  every target, 20 s each
//   npm run fuzz -- segment --seconds 600         one target, longer
//   npm run fuzz -- --seed 7 --runs 100000        a fixed amount of work, replayable
//   npm run fuzz -- parse-tcp --save              keep inputs that reached new features in the corpus
//   npm run fuzz -- segment --keep-going          go on after a crash; report each kind once
//   npm run fuzz:ci                               the bounded CI run (about a minute in all)
//
// A crash is written to fuzz/crashes/<target>/crash-<hash>.bin with the seed that found
// it; the command exits 1. Fix the bug, move the file to fuzz/regressions/<target>/,
// and test/fuzz/targets.test.ts replays it from then on.

import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fuzzLoop } from '../src/testkit/fuzz/loop'
import type { FuzzTarget } from '../src/testkit/fuzz/target'
import { target as parseIpv4 } from '../fuzz/targets/parse-ipv4'
import { target as parseIpv6 } from '../fuzz/targets/parse-ipv6'
import { target as parseTcp } from '../fuzz/targets/parse-tcp'
import { target as segment } from '../fuzz/targets/segment'
import { target as segmentIpv6 } from '../fuzz/targets/segment-ipv6'

const TARGETS: Record<string, FuzzTarget> = { 'parse-ipv4': parseIpv4, 'parse-ipv6': parseIpv6, 'parse-tcp': parseTcp, segment, 'segment-ipv6': segmentIpv6 }
const FUZZ = join(import.meta.dirname, '..', 'fuzz')

/** Every file of fuzz/<kind>/<target>, sorted by name so a run is reproducible. */
export function loadInputs(kind: 'corpus' | 'regressions', target: string): Uint8Array[] {
  const dir = join(FUZZ, kind, target)
  if (!existsSync(dir)) return []
  return readdirSync(dir).sort().map(f => new Uint8Array(readFileSync(join(dir, f))))
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex').slice(0, 16)

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      seconds: { type: 'string', default: '20' },
      runs: { type: 'string' },
      seed: { type: 'string' },
      save: { type: 'boolean', default: false },
      'keep-going': { type: 'boolean', default: false },
    },
  })
  const names = positionals.length > 0 ? positionals : Object.keys(TARGETS)
  const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 1_000_000
  let failed = 0
  for (const name of names) {
    const target = TARGETS[name]
    if (!target) {
      console.error(`fuzz: no target ${name} (targets: ${Object.keys(TARGETS).join(', ')})`)
      return 2
    }
    const corpus = [...loadInputs('regressions', name), ...loadInputs('corpus', name)]
    const started = Date.now()
    const result = await fuzzLoop({
      target, corpus, seed, keepGoing: values['keep-going'],
      maxMs: values.runs === undefined ? Number(values.seconds) * 1000 : undefined,
      maxRuns: values.runs !== undefined ? Number(values.runs) : undefined,
      onNewInput: values.save ? data => {
        const dir = join(FUZZ, 'corpus', name)
        mkdirSync(dir, { recursive: true })
        writeFileSync(join(dir, `found-${sha(data)}.bin`), data)
      } : undefined,
    })
    const seconds = ((Date.now() - started) / 1000).toFixed(1)
    const rate = Math.round(result.runs / Math.max(0.001, (Date.now() - started) / 1000))
    for (const crash of result.crashes) {
      const dir = join(FUZZ, 'crashes', name)
      mkdirSync(dir, { recursive: true })
      const file = join(dir, `crash-${sha(crash.input)}.bin`)
      writeFileSync(file, crash.input)
      const error = crash.error
      console.log(`${name}: CRASH at execution ${crash.run} (seed ${seed}), input saved to ${file}`)
      console.log(error instanceof Error ? error.stack ?? error.message : String(error))
      console.log(`replay: npm run fuzz -- ${name} --seed ${seed} --runs ${crash.run}${values['keep-going'] ? ' --keep-going' : ''}`)
    }
    if (result.crashes.length > 0) failed++
    const verdict = result.crashes.length === 0 ? 'clean' : `${result.crashes.length} kind(s) of crash`
    console.log(`${name}: ${result.runs} executions in ${seconds} s (${rate}/s), ${verdict}, seed ${seed}, ${result.features.size} features, corpus ${corpus.length} -> ${result.corpusSize}`)
  }
  return failed > 0 ? 1 : 0
}

process.exitCode = await main()
