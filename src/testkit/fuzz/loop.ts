// A seeded, feedback-guided mutation fuzzer: our own loop over the same targets
// Jazzer.js runs (fuzz/targets). It replays the corpus, then mutates inputs
// picked from it; an input that exercises a feature no earlier input did joins the
// corpus. Where Jazzer's guidance is code coverage, ours is the target's own
// features (drop reasons, state arcs, flags sent), which needs no instrumentation.

import { SeededRandom } from '../../stack/random.js'
import { mutateBytes } from './mutator.js'
import type { FuzzTarget } from './target.js'

export interface LoopOptions {
  target: FuzzTarget
  /** Starting inputs (at least one; an empty input is used when none is given). */
  corpus: readonly Uint8Array[]
  seed: number
  /** Stop after this many executions. */
  maxRuns?: number
  /** Stop after this much wall time. */
  maxMs?: number
  /** Longest input the mutator makes. Default 2048. */
  maxLength?: number
  /** Called for each input that reached a new feature. */
  onNewInput?: (data: Uint8Array, newFeatures: string[]) => void
  /**
   * Keep fuzzing after a crash, to find others: crashes are told apart by the first line
   * of their error (with numbers blanked), and each kind is reported once.
   */
  keepGoing?: boolean
  /** Called for each new kind of crash (with keepGoing). */
  onCrash?: (crash: Crash) => void
}

export interface Crash {
  input: Uint8Array
  error: unknown
  /** Which execution found it (replay: the same seed and corpus reach it again). */
  run: number
}

export interface LoopResult {
  runs: number
  corpusSize: number
  features: Set<string>
  /** The first crash (the run stops there unless keepGoing). */
  crash: Crash | null
  /** With keepGoing: one crash of each kind found. */
  crashes: Crash[]
}

/** What tells two crashes apart: the first line of the error, numbers blanked. */
export function crashSignature(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  const lines = text.split('\n').map(l => l.trim()).filter(l => l.length > 0)
  // The target's own context ("from STATE, after {...}:") comes first; the finding follows.
  const finding = lines.length > 1 ? lines[1]! : lines[0] ?? ''
  return finding.replace(/\d+/g, 'N')
}

export async function fuzzLoop(opts: LoopOptions): Promise<LoopResult> {
  const random = new SeededRandom(opts.seed)
  const corpus: Uint8Array[] = opts.corpus.length > 0 ? [...opts.corpus] : [new Uint8Array(0)]
  const features = new Set<string>()
  const deadline = opts.maxMs !== undefined ? Date.now() + opts.maxMs : Infinity
  const maxRuns = opts.maxRuns ?? Infinity
  let runs = 0

  const execute = async (input: Uint8Array): Promise<Crash | string[]> => {
    runs++
    try {
      const seen = await opts.target.run(input)
      const fresh: string[] = []
      for (const f of seen) if (!features.has(f)) fresh.push(f)
      for (const f of fresh) features.add(f)
      return fresh
    } catch (error) {
      return { input, error, run: runs }
    }
  }

  const crashes: Crash[] = []
  const kinds = new Set<string>()
  /** A crash: stop, or note it once per kind and go on. */
  const crashed = (c: Crash): boolean => {
    const kind = crashSignature(c.error)
    if (!kinds.has(kind)) {
      kinds.add(kind)
      crashes.push(c)
      opts.onCrash?.(c)
    }
    return !opts.keepGoing
  }
  const result = (): LoopResult => ({ runs, corpusSize: corpus.length, features, crash: crashes[0] ?? null, crashes })

  // The corpus first: a regression in known inputs shows before any mutation.
  for (const input of [...corpus]) {
    const r = await execute(input)
    if (!Array.isArray(r) && crashed(r)) return result()
  }
  while (runs < maxRuns && Date.now() < deadline) {
    const parent = corpus[random.nextUint32() % corpus.length]!
    const child = mutateBytes(parent, random, { maxLength: opts.maxLength ?? 2048, pool: corpus })
    const r = await execute(child)
    if (!Array.isArray(r)) {
      if (crashed(r)) return result()
      continue
    }
    if (r.length > 0) {
      corpus.push(child)
      opts.onNewInput?.(child, r)
    }
  }
  return result()
}
