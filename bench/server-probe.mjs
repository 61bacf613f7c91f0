#!/usr/bin/env node
// Where the tuntcp server's time and memory go per round trip or per connection, measured
// inside the server (docs/performance.md "The tail" and "A connection's life, profiled"):
//
//   sudo node bench/server-probe.mjs tail  [N]    N (20000) 1-byte echo round trips: the server's
//                                                 work per TUN batch, the TUN write, GC pauses
//   sudo node bench/server-probe.mjs alloc [N]    N (20000) round trips, or with `ab` N connections
//   sudo node bench/server-probe.mjs alloc-ab [N] (ab -c 32): bytes allocated per unit by site, from
//                                                 V8's sampling heap profiler with collected objects kept
//
// It runs itself in a fresh network namespace (unshare -n): the server (the stack on TUN
// device tprobe0, 10.78.0.2, serveAll as `tuntcp serve`) and the client (bench/net-client.mjs
// or ab) both live there and nothing touches the host's interfaces. Uses the compiled dist/
// (npm run build first). The numbers vary with the machine's load: compare runs made together.

import { spawn, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { inFreshNetns, root } from './processes.mjs'

const [mode, countArg] = process.argv.slice(2)
const count = Number(countArg ?? 20000)
if (!['tail', 'alloc', 'alloc-ab', 'server-tail', 'server-alloc'].includes(mode) || !(Number.isInteger(count) && count > 0)) {
  console.error('usage: sudo node bench/server-probe.mjs tail|alloc|alloc-ab [N]')
  process.exit(2)
}

if (mode === 'server-tail' || mode === 'server-alloc') await server(mode)
else {
  inFreshNetns(fileURLToPath(import.meta.url), [mode, String(count)], 300_000)
  await inner()
}

/** In the namespace: the server, then the client, then the server's report. */
async function inner() {
  const serverMode = mode === 'tail' ? 'server-tail' : 'server-alloc'
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), serverMode, String(count)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  await new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not start within 10 s')), 10_000)
    child.stdout.on('data', c => {
      out += c
      if (out.includes('READY')) { clearTimeout(timer); resolveReady() }
    })
    child.on('exit', code => { clearTimeout(timer); reject(new Error(`the server exited (${code})`)) })
  })
  const client = mode === 'alloc-ab'
    ? spawnSync('ab', ['-q', '-n', String(count), '-c', '32', 'http://10.78.0.2/'], { encoding: 'utf8', timeout: 120_000 })
    : spawnSync(process.execPath, [join(root, 'bench/net-client.mjs'), 'rtt', '10.78.0.2', '7', String(count)], { encoding: 'utf8', timeout: 120_000 })
  if (client.status !== 0) console.error(`client failed: ${client.stderr}`)
  else console.log(mode === 'alloc-ab' ? client.stdout.split('\n').filter(l => /Requests per|Failed/.test(l)).join('\n') : `client: ${client.stdout.trim()}`)
  child.stdout.removeAllListeners('data')
  process.stdout.on('error', () => {}) // a reader that stops early (| head)
  child.stdout.pipe(process.stdout)
  child.removeAllListeners('exit')
  const done = new Promise(r => child.on('exit', r))
  child.kill('SIGTERM')
  await done
}

/** The server itself, instrumented. */
async function server(which) {
  const { Stack, TunDevice, configureKernelSide, serveAll } = await import('../dist/index.js')
  const device = TunDevice.open({ name: 'tprobe0', mtu: 1500 })
  configureKernelSide(device.name, '10.78.0.1/24', 1500)
  const stack = new Stack({ address: '10.78.0.2', link: device })
  serveAll(stack)
  const report = which === 'server-tail' ? await tailProbe(device, stack) : await allocProbe()
  process.stdout.write('READY\n')
  process.on('SIGTERM', async () => {
    await report()
    device.close()
    process.exit(0)
  })
}

/** Time each batch (its arrival in JavaScript to the end of Stack.endBatch), each TUN write, each GC pause. */
async function tailProbe(device, stack) {
  const { createHistogram, PerformanceObserver } = await import('node:perf_hooks')
  const work = createHistogram()
  const writes = createHistogram()
  const slowWrites = createHistogram()
  let start = 0n
  let writeNs = 0
  let batches = 0
  let packets = 0
  const onBatch = device.onBatch
  device.onBatch = function (n, error) {
    start = process.hrtime.bigint()
    writeNs = 0
    batches++
    packets += n
    return onBatch.call(this, n, error)
  }
  const native = device.native
  device.native = {
    ...native,
    write(fd, packet, header) {
      const t = process.hrtime.bigint()
      const r = native.write.call(native, fd, packet, header)
      const ns = Number(process.hrtime.bigint() - t) || 1
      writes.record(ns)
      writeNs += ns
      return r
    },
  }
  const endBatch = stack.endBatch
  stack.endBatch = function () {
    const r = endBatch.call(this)
    if (start !== 0n) {
      const ns = Number(process.hrtime.bigint() - start) || 1
      work.record(ns)
      if (ns > 100_000) slowWrites.record(writeNs || 1)
    }
    start = 0n
    return r
  }
  const gcs = []
  new PerformanceObserver(list => { for (const e of list.getEntries()) gcs.push(e.duration * 1000) }).observe({ entryTypes: ['gc'] })
  const q = h => [50, 99, 99.9, 100].map(p => `p${p} ${(h.percentile(p) / 1000).toFixed(1)} µs`).join(', ')
  return async () => {
    gcs.sort((a, b) => a - b)
    console.log(`batches: ${batches}, ${(packets / batches).toFixed(2)} packets each`)
    console.log(`server work per batch: ${q(work)}`)
    console.log(`TUN write: ${q(writes)}`)
    console.log(`batches over 100 µs: ${slowWrites.count}, the TUN write's part of them: ${q(slowWrites)}`)
    console.log(`GC pauses: ${gcs.length}, median ${gcs[gcs.length >> 1]?.toFixed(0)} µs, max ${gcs.at(-1)?.toFixed(0)} µs, total ${(gcs.reduce((s, x) => s + x, 0) / 1000).toFixed(1)} ms`)
  }
}

/** V8's sampling heap profiler, collected objects included: bytes allocated per site. */
async function allocProbe() {
  const { Session } = await import('node:inspector/promises')
  const session = new Session()
  session.connect()
  await session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
  const units = count // round trips (the rtt client adds a 10% warm-up) or connections
  return async () => {
    const { profile } = await session.post('HeapProfiler.stopSampling')
    const sites = new Map()
    const walk = (node, stack) => {
      const f = node.callFrame
      const here = [...stack, `${f.functionName || '(anonymous)'} ${f.url.split('/').at(-1)}:${f.lineNumber + 1}`]
      if (node.selfSize > 0) {
        const key = here.slice(-3).reverse().join(' < ')
        sites.set(key, (sites.get(key) ?? 0) + node.selfSize)
      }
      for (const c of node.children ?? []) walk(c, here)
    }
    walk(profile.head, [])
    const total = [...sites.values()].reduce((s, x) => s + x, 0)
    console.log(`allocated: ${(total / units).toFixed(0)} bytes per unit (${units} units: round trips or connections; the rtt client adds 10% warm-up)`)
    for (const [site, bytes] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
      console.log(`${(bytes / units).toFixed(0).padStart(7)}  ${((100 * bytes) / total).toFixed(1).padStart(5)}%  ${site}`)
    }
  }
}
