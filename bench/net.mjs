#!/usr/bin/env node
// The network half of `npm run bench`. bench/run.mjs starts this INSIDE a fresh network
// namespace (unshare -n -m); it refuses to run anywhere else. It builds, in that namespace:
//
//   tuntcp:  TUN device tbench0 (MTU 1500), kernel side 10.78.0.1/24, the stack at 10.78.0.2
//            (bench/server.mjs tuntcp): the clients are this namespace's kernel.
//   kernel:  veth pair vbench0 (here, 10.79.0.1/24) <-> vbench1 (10.79.0.2/24, MTU 1500) whose
//            far end lives in a second namespace (unshare -n, made by the server's own process)
//            where bench/server.mjs kernel runs the same apps on node:net.
//
// and runs each row against both, kernel first, then tuntcp. Writes the results as JSON
// to the file named by its first argument. Every process it starts is stopped by PID and
// every device deleted in a finally; the namespaces die with their last process.
//
// With --workers=N a third server runs beside them, as `tuntcp serve --workers N` does:
//
//   tuntcpN: multi-queue TUN device tbench1, kernel side 10.78.1.1/24, N worker threads each
//            serving 10.78.1.2 on a queue of its own (bench/server.mjs tuntcp ... N)
//
// and every row runs against all three, plus one row more: N x 2 curls downloading at once
// (one connection can only ever use one worker).
//
// With --peer=gvisor, one more server (bench/run.mjs has built it first):
//
//   gvisor:  TUN device gbench0 (MTU 1500, made here with `ip tuntap`), kernel side 10.78.2.1/24
//            and fd78:2::1/64, gVisor's netstack at 10.78.2.2 and fd78:2::2 (bench/gvisor/, Go),
//            serving the rows' services: echo 7, discard 9, HTTP 80 with the same routes
//
//   node bench/net.mjs OUT.json [--profile[=download|upload|wrk|ab-c1|ab-c32|rtt]] [--quick] [--workers=N] [--peer=gvisor]

import { execFileSync } from 'node:child_process'
import { readlinkSync, writeFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { GVISOR_BINARY } from './gvisor.mjs'
import { killAll, root, run, startHelper } from './processes.mjs'

const MiB = 1024 * 1024
const args = process.argv.slice(2)
const outFile = args.find(a => !a.startsWith('--'))
const quick = args.includes('--quick')
const profileArg = args.find(a => a.startsWith('--profile'))
const profile = profileArg ? (profileArg.split('=')[1] ?? 'download') : null
/** --workers=N: also measure tuntcp with N worker threads (null: not asked). */
const workers = Number(args.find(a => a.startsWith('--workers='))?.split('=')[1] ?? 0) || null
/** --rows=ab-c1,rtt: only these rows (null: all), for before/after pairs of one change. */
const onlyRows = args.find(a => a.startsWith('--rows='))?.split('=')[1].split(',') ?? null
/** --peer=gvisor: also measure gVisor's netstack on a TUN device (null: not asked). */
const peer = args.find(a => a.startsWith('--peer='))?.split('=')[1] ?? null

const TUN = { dev: 'tbench0', addr: '10.78.0.2', kernelCidr: '10.78.0.1/24', addr6: 'fd78::2', kernelCidr6: 'fd78::1/64', mtu: 1500 }
const GVISOR = { dev: 'gbench0', addr: '10.78.2.2', kernelCidr: '10.78.2.1/24', addr6: 'fd78:2::2', kernelCidr6: 'fd78:2::1/64', mtu: 1500 }
const TUN_WORKERS = { dev: 'tbench1', addr: '10.78.1.2', kernelCidr: '10.78.1.1/24', mtu: 1500 }
const VETH = {
  here: 'vbench0', there: 'vbench1', hereCidr: '10.79.0.1/24', addr: '10.79.0.2', thereCidr: '10.79.0.2/24',
  hereCidr6: 'fd79::1/64', addr6: 'fd79::2', thereCidr6: 'fd79::2/64', mtu: 1500,
}

/** Sizes and counts, from the issue; --quick divides them for a smoke run. */
const PLAN = {
  bytes: quick ? 16 * MiB : 200 * MiB,
  /** A transfer row is shrunk so that one run takes about this long (scaled rows say so). */
  transferBudgetS: quick ? 3 : 12,
  abSerial: quick ? 300 : 2000,
  abParallel: quick ? 600 : 4000,
  abTimeLimitS: quick ? 10 : 25,
  wrkSeconds: quick ? 2 : 5,
  rttCount: quick ? 300 : 10_000,
  transferReps: quick ? 1 : 5,
  transferWarmups: quick ? 2 : 8,
  abReps: quick ? 1 : 5,
  /** One untimed run of this many requests before the timed ab runs (and 1 s of wrk before wrk's). */
  abWarmup: quick ? 100 : 500,
  wrkReps: quick ? 1 : 3,
  rttReps: quick ? 1 : 5,
}

function log(line) {
  process.stdout.write(`${line}\n`)
}

// ---- safety: never on the host's network namespace ----

const here = readlinkSync('/proc/self/ns/net')
if (!process.env.TUNTCP_BENCH_HOST_NETNS || process.env.TUNTCP_BENCH_HOST_NETNS === here) {
  console.error('bench/net.mjs: refusing to run outside the namespace bench/run.mjs creates; run: npm run bench')
  process.exit(2)
}
try {
  if (readlinkSync('/proc/1/ns/net') === here) {
    console.error("bench/net.mjs: this is PID 1's network namespace; refusing")
    process.exit(2)
  }
} catch {}
if (!outFile) {
  console.error('usage: node bench/net.mjs OUT.json [--profile[=download|upload|wrk|ab-c1|ab-c32|rtt]] [--quick]')
  process.exit(2)
}

// ---- processes ----

function ip(...argv) {
  return execFileSync('ip', argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

/** Start bench/server.mjs; `ready` resolves once it prints READY. */
function startServer(name, cmd, argv, options) {
  return startHelper(`${name} server`, cmd, argv, options)
}


async function startTuntcp(extraNodeArgs = [], tun = TUN, threads = 1) {
  const server = startServer(threads > 1 ? `tuntcp x${threads}` : 'tuntcp', process.execPath,
    [...extraNodeArgs, 'bench/server.mjs', 'tuntcp', tun.dev, tun.addr, tun.kernelCidr, String(tun.mtu), String(threads), ...(tun.addr6 ? [tun.addr6, tun.kernelCidr6] : [])])
  await server.ready
  return server
}

/**
 * gVisor's netstack on TUN device GVISOR.dev: the device is made and its kernel side set up
 * here (a persistent device, deleted in cleanup), then bench/gvisor's binary attaches to it.
 */
async function startGvisor() {
  ip('tuntap', 'add', 'dev', GVISOR.dev, 'mode', 'tun')
  ip('link', 'set', GVISOR.dev, 'mtu', String(GVISOR.mtu))
  ip('addr', 'add', GVISOR.kernelCidr, 'dev', GVISOR.dev)
  ip('-6', 'addr', 'add', GVISOR.kernelCidr6, 'dev', GVISOR.dev, 'nodad')
  ip('link', 'set', GVISOR.dev, 'up')
  const server = startServer('gvisor', GVISOR_BINARY, [GVISOR.dev, GVISOR.addr, GVISOR.addr6, String(GVISOR.mtu)])
  await server.ready
  return server
}

async function startKernel() {
  // The veth's far end goes into a namespace of its own, made by the server's process
  // itself (unshare -n, no fork: the PID we spawn is the one in the new namespace); it
  // waits on stdin until we have moved the device in, then configures it and execs node.
  ip('link', 'add', VETH.here, 'mtu', String(VETH.mtu), 'type', 'veth', 'peer', 'name', VETH.there, 'mtu', String(VETH.mtu))
  ip('addr', 'add', VETH.hereCidr, 'dev', VETH.here)
  ip('-6', 'addr', 'add', VETH.hereCidr6, 'dev', VETH.here, 'nodad')
  ip('link', 'set', VETH.here, 'up')
  const script = [
    'read go',
    'ip link set lo up',
    `ip addr add ${VETH.thereCidr} dev ${VETH.there}`,
    `ip -6 addr add ${VETH.thereCidr6} dev ${VETH.there} nodad`,
    `ip link set ${VETH.there} up`,
    `exec "$0" bench/server.mjs kernel ${VETH.addr}`,
  ].join(' && ')
  const server = startServer('kernel', 'unshare', ['-n', '--', 'sh', '-c', script, process.execPath], { stdinPipe: true })
  const pid = server.child.pid
  for (let i = 0; ; i++) {
    let ns = here
    try { ns = readlinkSync(`/proc/${pid}/ns/net`) } catch {}
    if (ns !== here) break
    if (i > 200) throw new Error('kernel server: its namespace did not appear')
    await new Promise(r => setTimeout(r, 10))
  }
  ip('link', 'set', VETH.there, 'netns', String(pid))
  server.child.stdin.end('go\n')
  await server.ready
  return server
}

// ---- rows ----

function parseAb(out) {
  const num = re => { const m = re.exec(out); return m ? Number(m[1]) : null }
  return {
    complete: num(/Complete requests:\s+(\d+)/),
    failed: num(/Failed requests:\s+(\d+)/),
    non2xx: num(/Non-2xx responses:\s+(\d+)/) ?? 0,
    rps: num(/Requests per second:\s+([\d.]+)/),
    msPerRequest: num(/Time per request:\s+([\d.]+) \[ms\] \(mean\)/),
    p50ms: num(/^\s+50%\s+(\d+)/m),
    p99ms: num(/^\s+99%\s+(\d+)/m),
  }
}

function parseWrk(out) {
  const num = re => { const m = re.exec(out); return m ? Number(m[1]) : null }
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  return {
    requests: num(/(\d+) requests in/),
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    non2xx: num(/Non-2xx or 3xx responses:\s+(\d+)/) ?? 0,
    socketErrors: errors ? errors.slice(1).reduce((s, x) => s + Number(x), 0) : 0,
    latency50: /^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? null,
    latency99: /^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? null,
  }
}

function fail(what, r) {
  const detail = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')
  throw new Error(`${what}: exit ${r.code}${detail ? `: ${detail}` : ''}`)
}

/** The host part of a URL: an IPv6 address in brackets (curl then needs -g). */
const urlHost = addr => addr.includes(':') ? `[${addr}]` : addr

async function download(addr, bytes) {
  const url = `http://${urlHost(addr)}/bytes/${bytes}`
  const r = await run('curl', ['-g', '-sS', '-o', '/dev/null', '--max-time', '120', '-w', '%{http_code} %{size_download} %{time_total}', url], 130_000)
  if (r.code !== 0) fail(`curl ${url}`, r)
  const [status, size, seconds] = r.stdout.trim().split(' ').map(Number)
  if (status !== 200 || size !== bytes) throw new Error(`curl ${url}: status ${status}, ${size} of ${bytes} bytes`)
  return { bytes, seconds, MBps: bytes / seconds / 1e6 }
}

/** `count` curls at once, each downloading bytes / count; the rate is all bytes over the wall time. */
async function parallelDownload(addr, bytes, count) {
  const each = Math.floor(bytes / count)
  const t0 = performance.now()
  await Promise.all(Array.from({ length: count }, () => download(addr, each)))
  const seconds = (performance.now() - t0) / 1000
  return { bytes: each * count, seconds, MBps: (each * count) / seconds / 1e6 }
}

async function upload(addr, bytes) {
  const r = await run(process.execPath, ['bench/net-client.mjs', 'upload', addr, '9', String(bytes)], 130_000)
  if (r.code !== 0) fail(`upload to ${addr}:9`, r)
  return JSON.parse(r.stdout)
}

/**
 * How many bytes one run of a transfer row moves: PLAN.bytes, unless a 16 MiB probe says
 * that would take longer than transferBudgetS, then what fits (the row says so). Then
 * untimed warm-up runs of that size until one is no more than 10% faster than the one before
 * (at most PLAN.transferWarmups), on both sides alike, as the request rows have warm-ups: a
 * fresh server's JIT compiles its hot paths through the first GiB or so of a download, since
 * with offload a 200 MiB run is only ~3,200 packets (five cold downloads in a row read 1,034,
 * 1,546, 2,207, 2,770, 3,078 MB/s while the server's CPU per run fell from 335 to 39 ms,
 * 2026-12-04); the kernel's runs are flat from the first.
 */
async function transferSize(fn, addr) {
  const probeBytes = Math.min(16 * MiB, PLAN.bytes)
  const probe = await fn(addr, probeBytes)
  const fits = Math.floor(probe.MBps * 1e6 * PLAN.transferBudgetS / MiB) * MiB
  const bytes = fits >= PLAN.bytes ? PLAN.bytes : Math.max(probeBytes, fits)
  const warmup = []
  for (let i = 0; i < PLAN.transferWarmups; i++) {
    warmup.push(Math.round((await fn(addr, bytes)).MBps))
    if (i > 0 && warmup[i] <= 1.1 * warmup[i - 1]) break
  }
  const scaled = bytes === PLAN.bytes ? null
    : `scaled to ${bytes / MiB} MiB per run (${PLAN.bytes / MiB} MiB would take ~${Math.round(PLAN.bytes / probe.MBps / 1e6)} s)`
  return { bytes, warmup, note: scaled }
}

async function transfer(fn, addr, size) {
  const result = await fn(addr, size.bytes)
  return { value: result.MBps, detail: { ...result, warmupMBps: size.warmup }, note: size.note }
}

async function ab(addr, n, c) {
  const url = `http://${addr}/`
  // -t before -n: -t alone implies -n 50000, the -n after it caps the count again.
  const r = await run('ab', ['-q', '-s', '10', '-t', String(PLAN.abTimeLimitS), '-n', String(n), '-c', String(c), url], (PLAN.abTimeLimitS + 20) * 1000)
  if (r.code !== 0) fail(`ab -n ${n} -c ${c} ${url}`, r)
  const parsed = parseAb(r.stdout)
  if (parsed.rps === null) fail(`ab output not understood`, r)
  const note = parsed.complete !== null && parsed.complete < n
    ? `stopped at the ${PLAN.abTimeLimitS} s limit after ${parsed.complete} of ${n} requests` : null
  const bad = (parsed.failed ?? 0) + (parsed.non2xx ?? 0)
  return { value: parsed.rps, detail: parsed, note: bad ? [note, `${bad} failed`].filter(Boolean).join('; ') : note }
}

async function wrk(addr, seconds = PLAN.wrkSeconds) {
  const url = `http://${addr}/`
  const r = await run('wrk', ['-t2', '-c32', `-d${seconds}s`, '--latency', url], (seconds + 30) * 1000)
  if (r.code !== 0) fail(`wrk ${url}`, r)
  const parsed = parseWrk(r.stdout)
  if (parsed.rps === null) fail('wrk output not understood', r)
  const bad = parsed.non2xx + parsed.socketErrors
  return { value: parsed.rps, detail: parsed, note: bad ? `${bad} errors/non-2xx` : null }
}

async function rtt(addr) {
  const r = await run(process.execPath, ['bench/net-client.mjs', 'rtt', addr, '7', String(PLAN.rttCount)], 60_000)
  if (r.code !== 0) fail(`rtt to ${addr}:7`, r)
  return JSON.parse(r.stdout)
}

/**
 * Each row runs `reps` times against each side, alternating kernel and tuntcp so drift
 * hits both alike; the table shows the median run. `prepare` (once per side, untimed) fixes
 * the transfer sizes, or warms up the server's code paths for that kind of load.
 */
const ROWS = [
  {
    id: 'download', label: `download: curl /bytes/${PLAN.bytes}`, unit: 'MB/s', better: 'higher', reps: PLAN.transferReps,
    prepare: addr => transferSize(download, addr), run: (addr, size) => transfer(download, addr, size),
  },
  {
    id: 'upload', label: `upload ${PLAN.bytes / MiB} MiB to discard :9 (node net)`, unit: 'MB/s', better: 'higher', reps: PLAN.transferReps,
    prepare: addr => transferSize(upload, addr), run: (addr, size) => transfer(upload, addr, size),
  },
  // Warm-ups scale with the server's threads: each worker is a V8 isolate with a JIT of its own.
  { id: 'ab-c1', label: `ab -n ${PLAN.abSerial} -c 1 / (open+close each)`, unit: 'req/s', better: 'higher', reps: PLAN.abReps,
    prepare: (addr, threads) => ab(addr, PLAN.abWarmup * threads, 1), run: addr => ab(addr, PLAN.abSerial, 1) },
  { id: 'ab-c32', label: `ab -n ${PLAN.abParallel} -c 32 /`, unit: 'req/s', better: 'higher', reps: PLAN.abReps,
    prepare: (addr, threads) => ab(addr, PLAN.abWarmup * threads, 32), run: addr => ab(addr, PLAN.abParallel, 32) },
  { id: 'wrk', label: `wrk -t2 -c32 -d${PLAN.wrkSeconds}s / (keep-alive)`, unit: 'req/s', better: 'higher', reps: PLAN.wrkReps,
    prepare: (addr, threads) => wrk(addr, threads), run: addr => wrk(addr) },
  ...(workers ? [{
    id: 'download-par', label: `download: ${2 * workers} curls at once, ${PLAN.bytes / MiB} MiB in all`, unit: 'MB/s', better: 'higher', reps: PLAN.transferReps,
    run: async addr => { const r = await parallelDownload(addr, PLAN.bytes, 2 * workers); return { value: r.MBps, detail: r, note: null } },
  }] : []),
  {
    id: 'rtt', label: `echo RTT 1 byte (${PLAN.rttCount} round trips)`, unit: 'us', better: 'lower', reps: PLAN.rttReps,
    run: async addr => { const r = await rtt(addr); return { value: r.p50us, detail: r, note: null } },
  },
  // The same two over IPv6 (fd78::2 on the TUN, fd79::2 on the veth): `ipv6` rows take each side's IPv6 address.
  {
    id: 'download6', ipv6: true, label: `download over IPv6: curl /bytes/${PLAN.bytes}`, unit: 'MB/s', better: 'higher', reps: PLAN.transferReps,
    prepare: addr => transferSize(download, addr), run: (addr, size) => transfer(download, addr, size),
  },
  {
    id: 'rtt6', ipv6: true, label: `echo RTT over IPv6 1 byte (${PLAN.rttCount} round trips)`, unit: 'us', better: 'lower', reps: PLAN.rttReps,
    run: async addr => { const r = await rtt(addr); return { value: r.p50us, detail: r, note: null } },
  },
]

const CLK_TCK = (() => {
  try { return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100 } catch { return 100 }
})()

/** CPU seconds a process has used so far, user and system (from /proc/PID/stat). */
function cpuOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { user: Number(fields[11]) / CLK_TCK, sys: Number(fields[12]) / CLK_TCK }
  } catch {
    return { user: 0, sys: 0 }
  }
}

/**
 * The whole machine's idle time so far, in CPU seconds summed over all cores (/proc/stat:
 * idle + iowait). Over a row it says whether a core was left for a second server thread
 * (it counts every process on the machine, not only this benchmark's).
 */
function machineIdle() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
    return (fields[3] + fields[4]) / CLK_TCK
  } catch {
    return 0
  }
}

function roundAll(o) {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v * 100) / 100]))
}

function median(xs) {
  const s = xs.filter(x => typeof x === 'number').sort((a, b) => a - b)
  if (s.length === 0) return null
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/** Run one row on both sides; returns the table rows it makes (RTT makes p50, p99 and p99.9). */
async function runRow(row, allTargets) {
  // An IPv6 row runs on the sides that have an IPv6 address, at that address.
  const targets = row.ipv6 ? allTargets.filter(t => t[3] !== undefined).map(([name, , pid, addr6]) => [name, addr6, pid]) : allTargets
  const sides = {}
  for (const [name, addr] of targets) {
    sides[name] = { runs: [], note: null, error: null, ctx: undefined, cpu: { userS: 0, sysS: 0, wallS: 0, machineIdleS: 0 } }
    if (row.prepare) {
      const threads = name === 'tuntcpN' ? workers : 1
      try { sides[name].ctx = await row.prepare(addr, threads) } catch (err) { sides[name].error = err.message }
    }
  }
  for (let rep = 0; rep < row.reps; rep++) {
    for (const [name, addr, pid] of targets) {
      const side = sides[name]
      if (side.error) continue
      try {
        const before = cpuOf(pid)
        const idle0 = machineIdle()
        const t0 = performance.now()
        const r = await row.run(addr, side.ctx)
        const after = cpuOf(pid)
        side.cpu.userS += after.user - before.user
        side.cpu.sysS += after.sys - before.sys
        side.cpu.wallS += (performance.now() - t0) / 1000
        side.cpu.machineIdleS += machineIdle() - idle0
        side.runs.push(r)
        side.note = r.note
      } catch (err) {
        side.error = err.message
      }
    }
  }
  const summarize = (name, pick) => {
    const side = sides[name]
    const values = side.runs.map(pick)
    return {
      value: side.error ? null : median(values), runs: values, note: side.note, error: side.error,
      serverCpu: roundAll(side.cpu), detail: side.runs.map(r => r.detail),
    }
  }
  const make = (id, label, pick) => {
    const out = { id, label, unit: row.unit, better: row.better, reps: row.reps }
    for (const [name] of targets) out[name] = summarize(name, pick)
    const show = name => out[name].error ? `FAILED: ${out[name].error}` : `${out[name].value?.toFixed(1)} ${row.unit}`
    const more = targets.slice(2).map(([name]) => ` ${name} ${show(name)}`).join('')
    log(`${id.padEnd(8)} kernel ${show('kernel').padEnd(18)} tuntcp ${show('tuntcp').padEnd(18)}${more}  (median of ${row.reps}${out.tuntcp.note ? `; tuntcp ${out.tuntcp.note}` : ''})`)
    return out
  }
  if (row.id !== 'rtt' && row.id !== 'rtt6') return [make(row.id, row.label, r => r.value)]
  return [
    make(`${row.id}-p50`, row.label.replace('RTT', 'RTT p50'), r => r.detail.p50us),
    make(`${row.id}-p99`, row.label.replace('RTT', 'RTT p99'), r => r.detail.p99us),
    make(`${row.id}-p999`, row.label.replace('RTT', 'RTT p99.9'), r => r.detail.p999us),
  ]
}

// ---- profile ----

/**
 * Self time from a V8 .cpuprofile: the top `n` functions and the top files. (Line numbers
 * are left out: under tsx the profiler sees the transpiled module, not the .ts lines.)
 */
function summarizeProfile(file, n = 15) {
  const prof = JSON.parse(readFileSync(file, 'utf8'))
  const byId = new Map(prof.nodes.map(node => [node.id, node]))
  const byFunction = new Map()
  const byFile = new Map()
  const byLayer = new Map()
  let total = 0
  for (let i = 0; i < prof.samples.length; i++) {
    const cf = byId.get(prof.samples[i]).callFrame
    const d = prof.timeDeltas[i] ?? 0
    total += d
    const where = cf.url ? cf.url.replace(/^file:\/\//, '').replace(`${root}/`, '') : '(vm)'
    const fn = `${cf.functionName || '(anonymous)'}${cf.url ? `  ${where}` : ''}`
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + d)
    byFile.set(where, (byFile.get(where) ?? 0) + d)
    const layer = layerOf(where, cf.functionName)
    byLayer.set(layer, (byLayer.get(layer) ?? 0) + d)
  }
  const top = (map, k) => [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, k)
    .map(([name, us]) => ({ name, selfMs: Math.round(us / 1000), pct: Math.round((us / total) * 1000) / 10 }))
  return { totalMs: Math.round(total / 1000), functions: top(byFunction, n), files: top(byFile, 10), layers: top(byLayer, 20) }
}

/** Which part of the server a sample's function belongs to: a folder of src/ (dist/ compiled from it), a part of Node, or V8 itself. */
function layerOf(where, functionName) {
  const m = /^(?:src|dist)\/(stack\/[a-z-]+|[a-z-]+)\//.exec(where)
  if (m) return `src/${m[1]}`
  if (where.startsWith('node:internal/http') || where === 'node:_http_server' || where.startsWith('node:_http')) return 'node:http'
  if (where.startsWith('node:internal/streams') || where === 'node:stream') return 'node:streams'
  if (where.startsWith('node:')) return 'node: other'
  if (where === '(vm)') return functionName ? `(${functionName.replace(/[()]/g, '')})` : '(vm)'
  return where.includes('node_modules') ? 'node_modules' : 'other'
}

/** The tuntcp server under --cpu-prof during PLAN.transferReps runs of a transfer row, or one wrk run. */
async function runProfile(results) {
  if (!['download', 'upload', 'wrk', 'ab-c1', 'ab-c32', 'rtt'].includes(profile)) throw new Error(`--profile=${profile}: choose download, upload, wrk, ab-c1, ab-c32 or rtt`)
  const dir = join(root, 'bench', 'results', `profile-${new Date().toISOString().replace(/[:.]/g, '-')}`)
  mkdirSync(dir, { recursive: true })
  const server = await startTuntcp(['--cpu-prof', '--cpu-prof-dir', dir])
  results.profile = { row: profile, runs: [] }
  try {
    const before = cpuOf(server.child.pid)
    const t0 = performance.now()
    if (profile === 'wrk') {
      log(`profiling the tuntcp server during wrk -t2 -c32 -d${PLAN.wrkSeconds}s ...`)
      const r = await wrk(TUN.addr)
      results.profile.runs.push(r.detail)
      log(`  wrk: ${r.value.toFixed(0)} req/s under the profiler`)
    } else if (profile === 'rtt') {
      // Ten times the row's round trips, so the server's start-up is a small part.
      log(`profiling the tuntcp server during 10 x ${PLAN.rttCount} echo round trips ...`)
      for (let i = 0; i < 10; i++) results.profile.runs.push(await rtt(TUN.addr))
      results.profile.roundTrips = 10 * PLAN.rttCount
      log(`  RTT p50: ${median(results.profile.runs.map(r => r.p50us)).toFixed(1)} µs (median of the runs' p50) under the profiler`)
    } else if (profile === 'ab-c1' || profile === 'ab-c32') {
      // A connection's whole life per request: SYN, GET, response, close, TIME-WAIT entered.
      const c = profile === 'ab-c1' ? 1 : 32
      // Ten times the row's count, so the server's start-up (in the profile too) is a small part.
      const n = 10 * (c === 1 ? PLAN.abSerial : PLAN.abParallel)
      log(`profiling the tuntcp server during ab -n ${n} -c ${c} ...`)
      const r = await ab(TUN.addr, n, c)
      results.profile.runs.push(r.detail)
      results.profile.connections = r.detail.complete ?? n
      log(`  ab -c ${c}: ${r.value.toFixed(0)} req/s under the profiler`)
    } else {
      const fn = profile === 'upload' ? upload : download
      log(`profiling the tuntcp server during ${PLAN.transferReps} x ${profile} ...`)
      const size = await transferSize(fn, TUN.addr)
      for (let i = 0; i < PLAN.transferReps; i++) results.profile.runs.push((await transfer(fn, TUN.addr, size)).detail)
      const mbps = median(results.profile.runs.map(r => r.MBps))
      log(`  ${profile}: ${mbps.toFixed(1)} MB/s (median) under the profiler, ${size.bytes / MiB} MiB per run`)
    }
    const after = cpuOf(server.child.pid)
    results.profile.serverCpu = roundAll({ userS: after.user - before.user, sysS: after.sys - before.sys, wallS: (performance.now() - t0) / 1000 })
    const c = results.profile.serverCpu
    log(`  server CPU: ${c.userS} s user + ${c.sysS} s system in ${c.wallS} s wall`)
    if (results.profile.roundTrips) {
      c.perRoundTripUs = Number((((c.userS + c.sysS) * 1e6) / results.profile.roundTrips).toFixed(2))
      log(`  ${c.perRoundTripUs} µs of server CPU per round trip`)
    }
    if (results.profile.connections) {
      c.perConnectionUs = Math.round(((c.userS + c.sysS) * 1e6) / results.profile.connections)
      log(`  ${c.perConnectionUs} µs of server CPU per connection (${results.profile.connections} connections)`)
    }
  } finally {
    results.profile.serverReport = await server.stop()
  }
  const file = readdirSync(dir).find(f => f.endsWith('.cpuprofile'))
  if (!file) throw new Error(`no .cpuprofile written in ${dir}`)
  results.profile.file = join(dir, file).replace(`${root}/`, '')
  Object.assign(results.profile, summarizeProfile(join(dir, file)))
  const show = t => `  ${String(t.pct).padStart(5)}%  ${String(t.selfMs).padStart(6)} ms  ${t.name}`
  log(`profile: ${results.profile.file} (open it in Chrome DevTools > Performance)`)
  log(`self time by function (whole server process, ${results.profile.totalMs} ms sampled):`)
  for (const t of results.profile.functions) log(show(t))
  log('self time by file:')
  for (const t of results.profile.files) log(show(t))
  log('self time by layer:')
  for (const t of results.profile.layers) log(show(t))
}

// ---- main ----

async function main() {
  const results = { plan: PLAN, quick, rows: [], servers: {} }
  ip('link', 'set', 'lo', 'up')
  // TUNTCP_BENCH_CC=reno: this namespace's kernel senders (the upload client) use it, not the host's default
  // (a namespace may choose only what net.ipv4.tcp_allowed_congestion_control lists: Reno or BBR here).
  const cc = process.env.TUNTCP_BENCH_CC
  if (cc) {
    try {
      execFileSync('sysctl', ['-qw', `net.ipv4.tcp_congestion_control=${cc}`], { stdio: ['ignore', 'ignore', 'pipe'] })
    } catch {
      const allowed = readFileSync('/proc/sys/net/ipv4/tcp_allowed_congestion_control', 'utf8').trim()
      console.error(`bench/net.mjs: TUNTCP_BENCH_CC=${cc}: a namespace here may choose only ${allowed}`)
      process.exit(2)
    }
  }
  if (profile) {
    await runProfile(results)
    return results
  }
  const kernel = await startKernel()
  const tuntcp = await startTuntcp()
  const tuntcpN = workers ? await startTuntcp([], TUN_WORKERS, workers) : null
  if (workers) results.workers = workers
  const gvisor = peer === 'gvisor' ? await startGvisor() : null
  if (gvisor) results.peer = 'gvisor'
  try {
    // The server's PID too: its CPU time (user and system) is counted over each row's runs.
    // [name, address, server PID, IPv6 address (for the ipv6 rows)]
    const targets = [['kernel', VETH.addr, kernel.child.pid, VETH.addr6], ['tuntcp', TUN.addr, tuntcp.child.pid, TUN.addr6]]
    if (tuntcpN) targets.push(['tuntcpN', TUN_WORKERS.addr, tuntcpN.child.pid])
    if (gvisor) targets.push(['gvisor', GVISOR.addr, gvisor.child.pid, GVISOR.addr6])
    // Each answers before anything is measured.
    for (const [name, addr] of targets) {
      const r = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', `http://${addr}/`], 10_000)
      if (r.stdout !== '200') fail(`${name} server at ${addr} does not answer HTTP`, r)
    }
    if (workers) {
      // Every server warmed alike before the first row: each worker is an isolate of its own
      // (JIT, heap sizes), and one connection warms only the worker it lands on, so enough
      // flows that every worker gets some (8 downloads at once, requests 32 at a time).
      for (const [name, addr] of targets) {
        const threads = name === 'tuntcpN' ? workers : 1
        await parallelDownload(addr, 256 * MiB, 8)
        await ab(addr, 1000 * threads, 32)
      }
    }
    for (const row of ROWS) {
      if (onlyRows === null || onlyRows.includes(row.id)) results.rows.push(...await runRow(row, targets))
    }
  } finally {
    if (gvisor) results.servers.gvisor = await gvisor.stop()
    if (tuntcpN) results.servers.tuntcpN = await tuntcpN.stop()
    results.servers.tuntcp = await tuntcp.stop()
    results.servers.kernel = await kernel.stop()
  }
  return results
}

function cleanup() {
  killAll()
  for (const dev of [VETH.here, TUN.dev, TUN_WORKERS.dev, GVISOR.dev]) {
    try { ip('link', 'del', dev) } catch {}
  }
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => { cleanup(); process.exit(130) })
}

main().then(
  results => {
    cleanup()
    writeFileSync(outFile, JSON.stringify(results, null, 2))
    process.exit(0)
  },
  err => {
    cleanup()
    console.error(`bench/net.mjs: ${err.stack ?? err.message}`)
    process.exit(1)
  },
)
