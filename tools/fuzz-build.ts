// Bundle each fuzz target (fuzz/targets/*.ts) into one CommonJS file for Jazzer.js,
// which loads plain JavaScript: fuzz/.build/<target>.cjs. `npm run fuzz:build`, then e.g.
//   npx jazzer fuzz/.build/parse-tcp.cjs fuzz/corpus/parse-tcp -- -max_total_time=60
// (see docs/simulation-and-fuzzing.md). esbuild comes with tsx.

import { build } from 'esbuild'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(import.meta.dirname, '..')

/** Bundle every target; returns the paths written. */
export async function buildTargets(): Promise<string[]> {
  const written: string[] = []
  const targets = readdirSync(join(root, 'fuzz', 'targets')).filter(f => f.endsWith('.ts'))
  for (const file of targets) {
    const out = join(root, 'fuzz', '.build', file.replace(/\.ts$/, '.cjs'))
    await build({
      entryPoints: [join(root, 'fuzz', 'targets', file)],
      bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: out, logLevel: 'warning',
    })
    written.push(out)
  }
  return written
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const out of await buildTargets()) console.log(`built ${out}`)
}
