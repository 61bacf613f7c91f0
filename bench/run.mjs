#!/usr/bin/env node
// npm run bench: tuntcp against the kernel, side by side, plus two in-process benchmarks.
//
//   npm run bench                      everything (a few minutes at most)
//   npm run bench -- --quick           smaller counts, a smoke run (~30 s)
//   npm run bench -- --only=inproc     only the in-process benchmarks (no root needed)
//   npm run bench -- --only=net        only tuntcp vs the kernel
//   npm run bench -- --only=lossy      goodput through a bad wire (5% loss, reordering, ...):
//                                      tuntcp vs kernel-to-kernel, same faults (bench/lossy.mjs)
//   npm run bench -- --only=forward    tuntcp forward vs a direct kernel connection over the same
//                                      veth: goodput, connection rate, memory per connection (bench/forward.mjs)
//   npm run bench -- --profile         the tuntcp server under `node --cpu-prof` during the
//                                      download (--profile=upload, wrk, ab-c1, ab-c32, rtt: during those); prints
//                                      the top functions by self time, keeps the .cpuprofile
//   npm run bench -- --only=net --rows=ab-c1,rtt   only those rows (ids: download, upload, ab-c1,
//                                      ab-c32, wrk, rtt, download6, rtt6); TUNTCP_BENCH_TCP='{"outputCoalescing":false}'
//                                      gives the tuntcp server a TcpConfig override (before/after pairs)
//   npm run bench -- --workers=2       also tuntcp with 2 worker threads (serve --workers 2: a
//                                      multi-queue TUN device, a queue and a Stack per thread),
//                                      a column beside the single-threaded one, and a row of
//                                      parallel downloads
//   npm run bench -- --peer=gvisor     also gVisor's netstack (bench/gvisor/, Go) on a TUN device
//                                      of its own, serving the same rows: a gvisor column and a
//                                      tuntcp/gvisor ratio; built with `go build` on first use
//                                      (needs apt-get install golang-go golang-gvisor-gvisor-dev;
//                                      without them the column is skipped with one line saying so)
//
// In process (bench/timer-wheel.bench.ts, bench/two-stacks.bench.ts, bench/time-wait.bench.ts):
// the timer wheel's cost per operation at 1k/100k/1M timers, segments/s between two stacks
// on the in-memory link, and the heap per connection with 100k and 1M in TIME-WAIT.
//
// Over the network (bench/net.mjs, run inside a fresh network namespace made here with
// unshare -n -m; nothing touches the host's interfaces): the same service code (src/apps via
// serveAll) on tuntcp over a TUN device, and on kernel sockets over a veth pair into a second
// namespace, both MTU 1500, the clients (curl, ab, wrk, Node net) being the kernel. Needs root;
// as root, missing tools are installed with apt-get (like .ci/run does).
//
// Prints a table and writes everything to bench/results/<timestamp>.json (gitignored).

import { spawn, spawnSync } from 'node:child_process'
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, release, totalmem, tmpdir } from 'node:os'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseBenchArgs } from './args.mjs'
import { prepareGvisor } from './gvisor.mjs'
import { table } from './table.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const parsed = parseBenchArgs(args)
if (!parsed.ok) {
  console.error(parsed.message)
  process.exit(2)
}
const { quick, only, profileArg, workersArg, rowsArg, peer } = parsed
const wantInproc = !profileArg && (only === null || only === 'inproc')
const wantNet = profileArg || only === null || only === 'net'
const wantLossy = !profileArg && only === 'lossy'
const wantForward = !profileArg && only === 'forward'

const started = new Date()
const stamp = started.toISOString().replace(/[:.]/g, '-')
const resultsDir = join(root, 'bench', 'results')
const scratch = mkdtempSync(join(tmpdir(), 'tuntcp-bench-'))

/** Run node (with `nodeFlags`) and tsx on a bench script; stdout passes through; returns its --json output. */
function inproc(script, nodeFlags = [], timeoutMs = 120_000) {
  const out = join(scratch, `${script.replace(/\W/g, '_')}.json`)
  const r = spawnSync(process.execPath, [...nodeFlags, '--import', 'tsx', script, ...(quick ? ['--quick'] : []), '--json', out],
    { cwd: root, stdio: 'inherit', timeout: timeoutMs })
  if (r.status !== 0) throw new Error(`${script} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`)
  return JSON.parse(readFileSync(out, 'utf8'))
}

function onPath(command) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir || '.', command), constants.X_OK)
      return true
    } catch {}
  }
  return false
}

/** Command -> Debian package. */
const TOOLS = { ip: 'iproute2', unshare: 'util-linux', curl: 'curl', ab: 'apache2-utils', wrk: 'wrk' }

/** Why the network half cannot run (after trying to install what of `tools` is missing), or null. */
function netBlocker(tools = TOOLS) {
  if (process.platform !== 'linux') return `this is ${process.platform}, not Linux`
  const isRoot = process.getuid?.() === 0
  let missing = Object.keys(tools).filter(cmd => !onPath(cmd))
  if (missing.length > 0 && isRoot) {
    const pkgs = [...new Set(missing.map(cmd => tools[cmd]))]
    console.log(`bench: installing ${pkgs.join(' ')} (apt-get)`)
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    spawnSync('apt-get', ['update', '-q'], { stdio: ['ignore', 'ignore', 'inherit'], env })
    spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...pkgs], { stdio: ['ignore', 'ignore', 'inherit'], env })
    missing = Object.keys(tools).filter(cmd => !onPath(cmd))
  }
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map(cmd => tools[cmd]))]
    return `missing ${missing.join(', ')}: install ${pkgs.join(' ')} (apt-get install ${pkgs.join(' ')}), or run as root and the bench installs them`
  }
  if (!isRoot) return 'not running as root: the network benchmark creates a network namespace, a TUN device and a veth pair (sudo npm run bench)'
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing (modprobe tun)'
  if (!existsSync(join(root, 'build/Release/tuntcp_tun.node'))) return 'the native TUN binding is not built: run npm ci (or npm install)'
  return null
}

/** bench/net.mjs inside a fresh network + mount namespace; resolves to its results. */
function net(peerArg = null) {
  const out = join(scratch, 'net.json')
  const env = { ...process.env, TUNTCP_BENCH_HOST_NETNS: readlinkSync('/proc/self/ns/net') }
  const netArgs = [out, ...(quick ? ['--quick'] : []), ...(profileArg ? [profileArg] : []), ...(workersArg && !profileArg ? [workersArg] : []), ...(rowsArg ? [rowsArg] : []), ...(peerArg ? [peerArg] : [])]
  // A fresh sysfs so /sys/class/net shows this namespace; exec: the PID we hold is net.mjs.
  const script = 'mount -t sysfs sysfs /sys && exec "$0" bench/net.mjs "$@"'
  return new Promise((resolvePromise, reject) => {
    const child = spawn('unshare', ['-n', '-m', '--propagation', 'private', '--', 'sh', '-c', script, process.execPath, ...netArgs],
      { cwd: root, env, stdio: 'inherit' })
    const forward = signal => () => child.kill(signal)
    const handlers = ['SIGINT', 'SIGTERM'].map(signal => [signal, forward(signal)])
    for (const [signal, h] of handlers) process.on(signal, h)
    // Bounded: the whole network half must be done well within this (4 minutes a server).
    const servers = 2 + (workersArg && !profileArg ? 1 : 0) + (peerArg ? 1 : 0)
    const limit = setTimeout(() => child.kill('SIGTERM'), servers * 4 * 60_000)
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(limit)
      for (const [s, h] of handlers) process.off(s, h)
      if (code === 0) return resolvePromise(JSON.parse(readFileSync(out, 'utf8')))
      reject(new Error(`bench/net.mjs failed (${code ?? signal})`))
    })
  })
}

/** bench/NAME.mjs (lossy, forward) inside a fresh network + mount namespace, as net() does for bench/net.mjs. */
function inNamespace(name) {
  const out = join(scratch, `${name}.json`)
  const env = { ...process.env, TUNTCP_BENCH_HOST_NETNS: readlinkSync('/proc/self/ns/net') }
  const script = `mount -t sysfs sysfs /sys && ip link set lo up && exec "$0" bench/${name}.mjs "$@"`
  return new Promise((resolvePromise, reject) => {
    const child = spawn('unshare', ['-n', '-m', '--propagation', 'private', '--', 'sh', '-c', script, process.execPath, out, ...(quick ? ['--quick'] : [])],
      { cwd: root, env, stdio: 'inherit' })
    const forward = signal => () => child.kill(signal)
    const handlers = ['SIGINT', 'SIGTERM'].map(signal => [signal, forward(signal)])
    for (const [signal, h] of handlers) process.on(signal, h)
    // Ten minutes, or more for the lossy rows' runs asked for (about 4 minutes per run of every pairing).
    const reps = name === 'lossy' ? Number(process.env.TUNTCP_LOSSY_REPS ?? 3) || 3 : 0
    const limit = setTimeout(() => child.kill('SIGTERM'), Math.max(10, 4 * reps) * 60_000)
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(limit)
      for (const [s, h] of handlers) process.off(s, h)
      if (code === 0) return resolvePromise(JSON.parse(readFileSync(out, 'utf8')))
      reject(new Error(`bench/${name}.mjs failed (${code ?? signal})`))
    })
  })
}

function cpuModel() {
  const c = cpus()
  return `${c.length} x ${c[0]?.model?.trim() ?? 'unknown'}`
}

async function main() {
  const results = {
    started: started.toISOString(),
    command: `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`,
    machine: { cpus: cpuModel(), cores: cpus().length, kernel: release(), node: process.version, memoryGiB: Math.round(totalmem() / 2 ** 30) },
  }
  console.log(`tuntcp bench: ${results.machine.cpus}, Linux ${results.machine.kernel}, Node ${results.machine.node}${quick ? ' (--quick)' : ''}`)
  let ok = true
  if (wantNet || wantLossy || wantForward) {
    // The servers run tuntcp as the package ships it (dist/, plain node): build it from the sources first.
    const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' })
    if (build.status !== 0) throw new Error('npm run build failed')
  }
  if (wantInproc) {
    console.log('\n== in process ==')
    results.timerWheel = inproc('bench/timer-wheel.bench.ts')
    console.log()
    results.twoStacks = inproc('bench/two-stacks.bench.ts')
    console.log()
    // gc() to measure the heap after collection; 1M connections take about a minute to make.
    results.timeWait = inproc('bench/time-wait.bench.ts', ['--expose-gc'], 300_000)
  }
  if (wantNet) {
    const blocker = netBlocker()
    if (blocker) {
      console.log(`\n== tuntcp vs kernel: not run: ${blocker}`)
      results.net = { skipped: blocker }
      ok = false
    } else {
      // --peer=gvisor: build bench/gvisor first (outside the namespace); if it cannot be, say why once and go on without it.
      const peerSkipped = peer === 'gvisor' && !profileArg ? prepareGvisor() : null
      if (peerSkipped) console.log(`bench: ${peerSkipped}`)
      const peerArg = peer === 'gvisor' && !profileArg && !peerSkipped ? '--peer=gvisor' : null
      console.log(`\n== tuntcp (TUN, MTU 1500) vs kernel (veth, MTU 1500)${peerArg ? ' vs gVisor netstack (TUN, MTU 1500)' : ''}, in a throwaway network namespace ==`)
      const t0 = performance.now()
      results.net = await net(peerArg)
      if (peerSkipped) results.net.peerSkipped = peerSkipped
      results.net.seconds = (performance.now() - t0) / 1000
      if (!profileArg) {
        console.log(`\n${table(results.net.rows, results.net.workers ?? null)}`)
        const c = results.net.servers?.tuntcp?.counters
        if (c) {
          const drops = Object.entries(c.drops).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'
          console.log(`tuntcp server: ${c.segmentsIn} segments in, ${c.segmentsOut} out, ${c.retransmissions} retransmitted, drops: ${drops}`)
          console.log(`  fast path: ${c.fastPathAcks} pure ACKs, ${c.fastPathData} in-order data segments; ${c.acksCoalesced} ACKs coalesced`)
        }
        const g = results.net.servers?.gvisor?.counters
        if (g) console.log(`gvisor server: ${g.segmentsIn} segments in, ${g.segmentsOut} out, ${g.retransmissions} retransmitted (fast ${g.fastRetransmits}, timeouts ${g.retransmitTimeouts}), ${g.invalidSegmentsIn} invalid in`)
        for (const w of results.net.servers?.tuntcpN?.workers ?? []) {
          const k = w.counters
          console.log(`tuntcp x${results.net.workers} worker ${w.worker}: ${k.passiveOpens} connections, ${k.segmentsIn} segments in, ${k.segmentsOut} out, ${k.retransmissions} retransmitted`)
        }
      }
    }
  }
  if (wantLossy) {
    const blocker = netBlocker()
    if (blocker) {
      console.log(`\n== lossy: not run: ${blocker}`)
      results.lossy = { skipped: blocker }
      ok = false
    } else {
      console.log(`\n== goodput through a bad wire (${'loss 5%, delay 5ms 1ms, reorder 10%, duplicate 1%, corrupt 0.5%'}, each way): tuntcp vs kernel-to-kernel ==`)
      const t0 = performance.now()
      results.lossy = await inNamespace('lossy')
      results.lossy.seconds = (performance.now() - t0) / 1000
      console.log(`\n${table(results.lossy.rows, null)}`)
      console.log(`kernel default congestion control here: ${results.lossy.kernelDefaultCc}`)
      for (const [name, server] of Object.entries(results.lossy.servers ?? {})) {
        const c = server?.counters
        if (c) console.log(`${name}: ${c.segmentsIn} segments in, ${c.segmentsOut} out, ${c.retransmissions} retransmitted (fast retransmits ${c.fastRetransmits}, timeouts ${c.retransmitTimeouts}, tail loss probes ${c.tailLossProbes}, undone ${c.spuriousRecoveries})`)
      }
    }
  }
  if (wantForward) {
    const blocker = netBlocker({ ip: 'iproute2', unshare: 'util-linux', curl: 'curl' })
    if (blocker) {
      console.log(`\n== forward: not run: ${blocker}`)
      results.forward = { skipped: blocker }
      ok = false
    } else {
      console.log('\n== tuntcp forward (client namespace -> TUN -> forwarder -> veth) vs direct (kernel -> veth), same run ==')
      const t0 = performance.now()
      results.forward = await inNamespace('forward')
      results.forward.seconds = (performance.now() - t0) / 1000
      console.log(`\n${table(results.forward.rows, null).replaceAll('tuntcp/kernel', 'forwarded/direct')}`)
      console.log('kernel: a direct connection from the forwarder\'s namespace; tuntcp: the same through tuntcp forward')
      const m = results.forward.memory
      console.log(`forwarder memory per idle forwarded connection (${m.connections}): heap ${Math.round(m.heapPerConnection)} B, RSS ${Math.round(m.rssPerConnection)} B`)
    }
  }
  mkdirSync(resultsDir, { recursive: true })
  const file = join(resultsDir, `${stamp}${profileArg ? '-profile' : ''}.json`)
  results.seconds = (Date.now() - started.getTime()) / 1000
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n')
  console.log(`\nresults: ${file.replace(`${root}/`, '')} (${results.seconds.toFixed(0)} s)`)
  return ok
}

main().then(
  ok => { rmSync(scratch, { recursive: true, force: true }); process.exit(ok ? 0 : 1) },
  err => {
    rmSync(scratch, { recursive: true, force: true })
    console.error(`bench: ${err.message}`)
    process.exit(1)
  },
)
