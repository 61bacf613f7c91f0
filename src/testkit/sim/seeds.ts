// Seeds for simulation tests, and the line that replays a failure.
//
//   SIM_SEED=1234 npx vitest run test/testkit/sim/transfer.test.ts   one seed, the one that failed
//   SIM_SEEDS=500 npx vitest run test/testkit/sim/                     more seeds than CI runs
//   SIM_SEED_BASE=10000 ...                                            a different range of seeds

/**
 * The seeds a test should run: SIM_SEED alone if set (a replay), else SIM_SEEDS
 * (default `defaultCount`) consecutive seeds from SIM_SEED_BASE (default 1).
 * CI runs a fixed range, so a red build is always reproducible.
 */
export function simSeeds(defaultCount: number, env: Record<string, string | undefined> = process.env): number[] {
  if (env.SIM_SEED !== undefined && env.SIM_SEED !== '') return [toInt('SIM_SEED', env.SIM_SEED)]
  const count = env.SIM_SEEDS ? toInt('SIM_SEEDS', env.SIM_SEEDS) : defaultCount
  const base = env.SIM_SEED_BASE ? toInt('SIM_SEED_BASE', env.SIM_SEED_BASE) : 1
  const seeds: number[] = []
  for (let i = 0; i < count; i++) seeds.push(base + i)
  return seeds
}

/** The command that runs one seed of one test file again. */
export function replayCommand(seed: number, testFile: string, testName?: string): string {
  const name = testName ? ` -t ${JSON.stringify(testName)}` : ''
  return `SIM_SEED=${seed} npx vitest run ${testFile}${name}`
}

/**
 * Run `fn(seed)`; if it fails, fail with the seed and the replay command first in the
 * message (the original error is kept as `cause`).
 */
export async function withSeed<T>(seed: number, testFile: string, fn: (seed: number) => Promise<T>, testName?: string): Promise<T> {
  try {
    return await fn(seed)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    const wrapped = new Error(`simulation failed with seed ${seed}\n  replay: ${replayCommand(seed, testFile, testName)}\n${message}`, { cause: error })
    if (error instanceof Error && error.stack) wrapped.stack = `${wrapped.message}\n${error.stack.split('\n').slice(1).join('\n')}`
    throw wrapped
  }
}

function toInt(name: string, value: string): number {
  const n = Number(value)
  if (!Number.isSafeInteger(n)) throw new RangeError(`${name} must be an integer, got ${value}`)
  return n
}
