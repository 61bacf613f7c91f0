#!/usr/bin/env node
// The forwarding half of `npm run bench -- --only=forward`: tuntcp forward beside a direct
// kernel connection over the same veth, in the same run, plus the forwarder's memory per
// idle connection. bench/run.mjs starts this INSIDE a fresh network namespace; it refuses
// to run anywhere else.
//
//   forwarded:  curl in namespace tbfc -> TUN -> tuntcp forward (here) -> kernel socket -> veth -> tbfs
//   direct:     curl here                                              -> kernel socket -> veth -> tbfs
//
// tbfs runs test/kernel/forward-servers.mjs (HTTP on 8080: /zero/N downloads, PUT uploads,
// /small), at 10.202.0.2 and fd20:2::2. Rows: download and upload goodput (curl's own speed,
// Mbit/s), the download over IPv6 too (curl -6: the forwarder's IPv6 both sides), connections a second
// (Connection: close, 8 at a time), and the forwarder's heap and RSS per idle forwarded
// connection (1000 of them, after a full GC: the forwarder runs with --expose-gc).
//
//   node bench/forward.mjs OUT.json [--quick]

import { spawn } from 'node:child_process'
import { readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { killAll, run } from './processes.mjs'

const MiB = 1024 * 1024
const args = process.argv.slice(2)
const outFile = args.find(a => !a.startsWith('--'))
const quick = args.includes('--quick')
const PLAN = { bytes: quick ? 32 * MiB : 128 * MiB, reps: quick ? 1 : 3, conns: quick ? 200 : 1000, idle: quick ? 200 : 1000 }
const CLIENT_NS = 'tbfc'
const SERVER_NS = 'tbfs'
const DEV = 'tbf0'
const SERVER = '10.202.0.2'
const SERVER6 = 'fd20:2::2'
const UPLOAD = '/tmp/tuntcp-bench-forward-upload'

const here = readlinkSync('/proc/self/ns/net')
if (!process.env.TUNTCP_BENCH_HOST_NETNS || process.env.TUNTCP_BENCH_HOST_NETNS === here) {
  console.error('bench/forward.mjs: refusing to run outside the namespace bench/run.mjs creates; run: npm run bench -- --only=forward')
  process.exit(2)
}
if (!outFile) {
  console.error('usage: node bench/forward.mjs OUT.json [--quick]')
  process.exit(2)
}

async function must(cmd, argv, timeoutMs = 20_000) {
  const r = await run(cmd, argv, timeoutMs)
  if (r.code !== 0) throw new Error(`${cmd} ${argv.join(' ')}: ${r.code} ${r.stderr.trim()}`)
  return r.stdout
}

/** A command here (direct) or in the client namespace (forwarded). */
const on = (side, cmd, argv, timeoutMs) =>
  side === 'tuntcp' ? must('ip', ['netns', 'exec', CLIENT_NS, cmd, ...argv], timeoutMs) : must(cmd, argv, timeoutMs)

/** What startUntil started, stopped by PID at the end whatever happens. */
const started = []

/** Start a process and resolve once its stdout matches `ready`. */
function startUntil(cmd, argv, ready) {
  const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'inherit'] })
  started.push(child)
  let out = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd} ${argv.join(' ')}: not ready after 20 s: ${out}`)), 20_000)
    child.stdout.setEncoding('utf8').on('data', c => {
      out += c
      if (ready.test(out)) { clearTimeout(timer); resolve({ child, out: () => out }) }
    })
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`${cmd} exited early (${code}): ${out}`)) })
  })
}

const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function goodput(side, direction, server = SERVER) {
  const runs = []
  const host = server.includes(':') ? `[${server}]` : server
  for (let i = 0; i < PLAN.reps; i++) {
    const argv = direction === 'download'
      ? ['-sS', '-g', '-o', '/dev/null', '-w', '%{speed_download}', `http://${host}:8080/zero/${PLAN.bytes}`]
      : ['-sS', '-o', '/dev/null', '-w', '%{speed_upload}', '-T', UPLOAD, `http://${SERVER}:8080/sink`]
    const bytesPerSecond = Number(await on(side, 'curl', argv, 120_000))
    runs.push((bytesPerSecond * 8) / 1e6)
  }
  return { value: median(runs), runs }
}

async function connectionRate(side) {
  const runs = []
  const urls = Array.from({ length: PLAN.conns }, () => [`http://${SERVER}:8080/small`, '-o', '/dev/null']).flat()
  for (let i = 0; i < PLAN.reps; i++) {
    const t0 = performance.now()
    const codes = await on(side, 'curl', ['-sS', '-H', 'Connection: close', '-Z', '--parallel-max', '8', '-w', '%{http_code}\n', ...urls], 120_000)
    const seconds = (performance.now() - t0) / 1000
    const ok = codes.trim().split('\n').filter(c => c === '200').length
    if (ok !== PLAN.conns) throw new Error(`${side}: ${ok} of ${PLAN.conns} requests answered`)
    runs.push(PLAN.conns / seconds)
  }
  return { value: median(runs), runs }
}

async function snapshot() {
  return JSON.parse(await must(process.execPath, ['bin/tuntcp.mjs', 'ss', '--dev', DEV, '--json']))
}

/** The forwarder's heap and RSS per idle forwarded connection: PLAN.idle connections held open by one client process. */
async function memoryPerConnection() {
  const before = await snapshot()
  const holder = `const net = require('net'); let n = 0; const all = [];
    for (let i = 0; i < ${PLAN.idle}; i++) { const s = net.connect(9000, '${SERVER}', () => { if (++n === ${PLAN.idle}) console.log('open ' + n) }); s.on('error', e => { console.error(e.message); process.exit(1) }); all.push(s) }
    process.stdin.on('end', () => { for (const s of all) s.end() }); process.stdin.resume()`
  const held = await startUntil('ip', ['netns', 'exec', CLIENT_NS, process.execPath, '-e', holder], /open \d+/)
  let during = await snapshot()
  for (let i = 0; i < 50 && during.forwarded.connections.length < PLAN.idle; i++) {
    await new Promise(r => setTimeout(r, 100))
    during = await snapshot()
  }
  const n = during.forwarded.connections.length
  held.child.stdin.end()
  await new Promise(r => held.child.once('exit', r))
  return {
    connections: n,
    gc: during.memory.gc,
    heapPerConnection: (during.memory.heapUsed - before.memory.heapUsed) / n,
    rssPerConnection: (during.memory.rss - before.memory.rss) / n,
  }
}

async function main() {
  await must('ip', ['netns', 'add', CLIENT_NS])
  await must('ip', ['netns', 'add', SERVER_NS])
  await must('ip', ['link', 'add', 'tbfva', 'type', 'veth', 'peer', 'name', 'tbfvb', 'netns', SERVER_NS])
  await must('ip', ['addr', 'add', '10.202.0.1/24', 'dev', 'tbfva'])
  await must('ip', ['link', 'set', 'tbfva', 'up'])
  await must('ip', ['-n', SERVER_NS, 'addr', 'add', `${SERVER}/24`, 'dev', 'tbfvb'])
  await must('ip', ['-n', SERVER_NS, 'link', 'set', 'tbfvb', 'up'])
  await must('ip', ['-6', 'addr', 'add', 'fd20:2::1/64', 'dev', 'tbfva', 'nodad'])
  await must('ip', ['-n', SERVER_NS, '-6', 'addr', 'add', `${SERVER6}/64`, 'dev', 'tbfvb', 'nodad'])
  writeFileSync(UPLOAD, Buffer.alloc(PLAN.bytes))
  const servers = await startUntil('ip', ['netns', 'exec', SERVER_NS, process.execPath, 'test/kernel/forward-servers.mjs', SERVER, SERVER6], /ready/)
  const forwarder = await startUntil(process.execPath, ['--expose-gc', 'bin/tuntcp.mjs', 'forward', '--netns', CLIENT_NS, '--dev', DEV], /Ctrl-C to stop/)
  const rows = []
  for (const [id, label, unit, measure] of [
    ['fwd-download', `download ${PLAN.bytes / MiB} MiB`, 'Mbit/s', side => goodput(side, 'download')],
    ['fwd-download6', `download ${PLAN.bytes / MiB} MiB over IPv6`, 'Mbit/s', side => goodput(side, 'download', SERVER6)],
    ['fwd-upload', `upload ${PLAN.bytes / MiB} MiB`, 'Mbit/s', side => goodput(side, 'upload')],
    ['fwd-conn-rate', `connections (${PLAN.conns}, 8 at a time)`, 'conn/s', connectionRate],
  ]) {
    const row = { id, label, unit, reps: PLAN.reps, better: 'higher' }
    for (const side of ['kernel', 'tuntcp']) {
      try {
        row[side] = await measure(side)
      } catch (error) {
        row[side] = { value: null, error: error.message }
      }
      console.log(`  ${label} ${side === 'kernel' ? 'direct' : 'forwarded'}: ${row[side].value?.toFixed(1) ?? row[side].error} ${unit}`)
    }
    rows.push(row)
  }
  const memory = await memoryPerConnection()
  console.log(`  forwarder memory: ${memory.connections} idle connections, heap ${Math.round(memory.heapPerConnection)} B and RSS ${Math.round(memory.rssPerConnection)} B each (gc: ${memory.gc})`)
  const counters = (await snapshot()).forwarded.counters
  forwarder.child.kill('SIGINT')
  await new Promise(r => forwarder.child.once('exit', r))
  servers.child.kill('SIGTERM')
  writeFileSync(outFile, JSON.stringify({ rows, memory, counters, plan: PLAN }, null, 2))
}

async function cleanUp() {
  killAll()
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  rmSync(UPLOAD, { force: true })
  for (const ns of [CLIENT_NS, SERVER_NS]) await run('ip', ['netns', 'del', ns], 5000)
}

// Stopped (bench/run.mjs's time limit, or ^C): everything started goes, and the namespaces.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    console.error(`bench/forward.mjs: ${signal}, cleaning up`)
    await cleanUp()
    process.exit(130)
  })
}

main().then(
  async () => { await cleanUp(); process.exit(0) },
  async error => { console.error(`bench/forward.mjs: ${error.stack ?? error.message}`); await cleanUp(); process.exit(1) },
)
