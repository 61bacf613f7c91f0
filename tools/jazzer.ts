// `npm run fuzz:jazzer -- [TARGET...] [--seconds N] [--seed N]`: coverage-guided fuzzing of the
// targets in fuzz/targets with Jazzer.js (libFuzzer for Node), kept out of the
// project's dependencies:
//
//   1. installs @jazzer.js/core into .fuzz/jazzer, once, with `npm ci` from
//      tools/jazzer/package-lock.json, so every dependency is pinned (an unpinned install
//      breaks whenever the registry serves a release whose own dependencies it lacks);
//   2. if its prebuilt addon does not load because this system's glibc or libstdc++
//      is older than the one it was built for (Debian 12: glibc 2.36, GCC 12), builds
//      tools/jazzer/shim.cc with g++ and relaxes the addon's symbol versions
//      (tools/jazzer/elf-versions.ts), then preloads the shim;
//   3. bundles the targets (fuzz/.build/*.cjs) and runs each for N seconds (default 60
//      in all), starting from fuzz/corpus/<target> and fuzz/regressions/<target>; new
//      inputs go to .fuzz/corpus/<target>, crashes to fuzz/crashes/<target>/.
//
// Exit status 1 if any target crashed. Long runs: `npm run fuzz:jazzer -- segment --seconds 3600`.

import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { buildTargets } from './fuzz-build'
import { listVersionNeeds, relaxVersions } from './jazzer/elf-versions'

const ROOT = join(import.meta.dirname, '..')
const PINNED = join(ROOT, 'tools', 'jazzer')
const JAZZER_VERSION: string = JSON.parse(readFileSync(join(PINNED, 'package.json'), 'utf8')).dependencies['@jazzer.js/core']
const HOME = join(ROOT, '.fuzz', 'jazzer')
const ADDON = join(HOME, 'node_modules', '@jazzer.js', 'fuzzer', 'prebuilds', `fuzzer-${process.platform}-${process.arch}.node`)
const SHIM = join(HOME, 'libjazzershim.so')
/** The targets whose fuzz() is synchronous: Jazzer runs those faster with --sync. */
const SYNC = new Set(['parse-ipv4', 'parse-ipv6', 'parse-tcp'])

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; stderr: string } {
  const r = spawnSync(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' })
  return { status: r.status, stderr: r.stderr ?? '' }
}

function install(): void {
  if (existsSync(join(HOME, 'node_modules', '@jazzer.js', 'core'))) return
  mkdirSync(HOME, { recursive: true })
  for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(PINNED, f), join(HOME, f))
  console.log(`jazzer: installing @jazzer.js/core@${JAZZER_VERSION} into ${HOME} (npm ci, tools/jazzer/package-lock.json)`)
  const r = run('npm', ['ci', '--prefix', HOME, '--no-audit', '--no-fund'])
  if (r.status !== 0) throw new Error(`jazzer: npm ci failed:\n${r.stderr}`)
}

/** Load the addon in a child process: undefined if it loads, else the loader's error. */
function addonError(env: NodeJS.ProcessEnv): string | undefined {
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(ADDON)})`], { env, encoding: 'utf8' })
  return r.status === 0 ? undefined : r.stderr.split('\n').find(l => l.startsWith('Error')) ?? r.stderr
}

/** The versions the addon was built for and this system may lack, and the symbols that need them. */
const TOO_NEW = ['GLIBC_2.38', 'GLIBCXX_3.4.32']
const SHIMMED = ['__isoc23_strtol', '__isoc23_strtoul', '_ZSt21ios_base_library_initv']

/** The environment Jazzer runs in: with the shim preloaded when the addon needs it. */
function prepare(): NodeJS.ProcessEnv {
  const error = addonError(process.env)
  // Relaxed on an earlier run: it loads now, but only with the shim beside it.
  const relaxed = listVersionNeeds(ADDON).some(v => v.endsWith('(weak)') && TOO_NEW.some(t => v.includes(t)))
  if (error === undefined && !relaxed) return process.env
  if (error !== undefined && !TOO_NEW.some(t => error.includes(t))) throw new Error(`jazzer: the libFuzzer addon does not load: ${error}`)
  if (error !== undefined) console.log(`jazzer: ${error.trim()}\njazzer: using the compatibility shim (tools/jazzer/shim.cc) and relaxing the addon's symbol versions`)
  if (!existsSync(SHIM)) {
    const cc = run('g++', ['-shared', '-fPIC', '-O2', '-o', SHIM, join(ROOT, 'tools', 'jazzer', 'shim.cc')])
    if (cc.status !== 0) throw new Error(`jazzer: g++ failed:\n${cc.stderr}`)
  }
  relaxVersions(ADDON, TOO_NEW, SHIMMED)
  const env = { ...process.env, LD_PRELOAD: [SHIM, process.env.LD_PRELOAD].filter(Boolean).join(':') }
  const still = addonError(env)
  if (still !== undefined) throw new Error(`jazzer: the addon still does not load: ${still}`)
  return env
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { seconds: { type: 'string' }, seed: { type: 'string' } } })
  const targets = positionals.length > 0 ? positionals : ['parse-ipv4', 'parse-ipv6', 'parse-tcp', 'segment', 'segment-ipv6']
  const seconds = values.seconds !== undefined ? Number(values.seconds) : Math.floor(60 / targets.length)
  install()
  const env = prepare()
  await buildTargets()
  let crashed = 0
  for (const t of targets) {
    const work = join(ROOT, '.fuzz', 'corpus', t)
    const crashes = join(ROOT, 'fuzz', 'crashes', t)
    mkdirSync(work, { recursive: true })
    mkdirSync(crashes, { recursive: true })
    const corpora = [work, join(ROOT, 'fuzz', 'corpus', t), join(ROOT, 'fuzz', 'regressions', t)].filter(existsSync)
    console.log(`jazzer: ${t} for ${seconds} s`)
    const r = spawnSync(join(HOME, 'node_modules', '.bin', 'jazzer'), [
      join(ROOT, 'fuzz', '.build', `${t}.cjs`), ...corpora, ...(SYNC.has(t) ? ['--sync'] : []),
      '--', `-max_total_time=${seconds}`, `-artifact_prefix=${crashes}/`, '-print_final_stats=1',
      // A fixed seed (CI) replays the same mutations; without one libFuzzer picks a fresh one.
      ...(values.seed !== undefined ? [`-seed=${Number(values.seed)}`] : []),
    ], { cwd: ROOT, env, stdio: 'inherit' })
    if (r.status !== 0) {
      crashed++
      console.log(`jazzer: ${t} exited with ${r.status}; the crashing input is in ${crashes}/`)
    }
  }
  return crashed > 0 ? 1 : 0
}

process.exitCode = await main()
