// Child processes for the benchmarks that run in a namespace (bench/net.mjs, bench/lossy.mjs):
// every child is tracked so that the caller can stop them all by PID (killAll) whatever
// happens; `run` waits for a command, `startHelper` starts a long-running helper
// (bench/server.mjs, bench/lossy-link.ts) that prints READY when up and DONE {...} on SIGTERM.
// `inFreshNetns` runs a probe script (bench/server-probe.mjs, bench/download-probe.mjs) again
// inside a network namespace of its own.

import { spawn, spawnSync } from 'node:child_process'
import { readlinkSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/**
 * Returns only inside a fresh network namespace (unshare -n, loopback up) made for this
 * process: outside one, run `script` with `args` again in a new one, wait for it, and exit
 * with its status. Nothing the script does can then touch the host's interfaces.
 */
export function inFreshNetns(script, args, timeoutMs) {
  if (process.env.TUNTCP_PROBE_NETNS === readlinkSync('/proc/self/ns/net')) return
  const sh = 'export TUNTCP_PROBE_NETNS=$(readlink /proc/self/ns/net); ip link set lo up && exec "$0" "$@"'
  const r = spawnSync('unshare', ['-n', '--', 'sh', '-c', sh, process.execPath, script, ...args], { cwd: root, stdio: 'inherit', timeout: timeoutMs })
  process.exit(r.status ?? 1)
}

/** Every child we started and have not seen exit. */
const children = new Set()

function track(child) {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** SIGKILL every child still running. */
export function killAll() {
  for (const child of children) {
    try { child.kill('SIGKILL') } catch {}
  }
}

/** Run a command to completion (SIGKILL after timeoutMs); resolves {code, stdout, stderr, ms}. */
export function run(cmd, argv, timeoutMs) {
  return new Promise(resolvePromise => {
    const t0 = performance.now()
    const child = track(spawn(cmd, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] }))
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.on('data', d => { stdout += d })
    child.stderr.on('data', d => { stderr += d })
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, timeoutMs)
    child.on('error', err => { stderr += err.message })
    child.on('close', code => {
      clearTimeout(timer)
      resolvePromise({ code: timedOut ? 'timeout' : code, stdout, stderr, ms: performance.now() - t0 })
    })
  })
}

/**
 * Start a long-running helper; `ready` resolves once it prints READY, its other lines
 * are echoed with `[name]` in front, and `stop()` sends SIGTERM and resolves with its
 * DONE report (null if none came within 5 s; SIGKILL if it lingers).
 */
export function startHelper(name, cmd, argv, { stdinPipe = false, env = process.env } = {}) {
  const child = track(spawn(cmd, argv, { cwd: root, env, stdio: [stdinPipe ? 'pipe' : 'ignore', 'pipe', 'inherit'] }))
  const lines = createInterface({ input: child.stdout })
  let onDone = () => {}
  const doneLine = new Promise(r => { onDone = r })
  const ready = new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: not ready after 20 s`)), 20_000)
    lines.on('line', line => {
      if (line.startsWith('READY ')) { clearTimeout(timer); resolveReady() }
      else if (line.startsWith('DONE ')) onDone(JSON.parse(line.slice(5)))
      else process.stdout.write(`[${name}] ${line}\n`)
    })
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`${name} exited early (code ${code})`)); onDone(null) })
  })
  return {
    child,
    ready,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return null
      const exited = new Promise(r => child.once('exit', r))
      child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      const report = await Promise.race([doneLine, new Promise(r => setTimeout(() => r(null), 5_000))])
      await exited
      clearTimeout(killer)
      return report
    },
  }
}
