#!/usr/bin/env node
// The lossy half of `npm run bench -- --only=lossy`: goodput through a bad wire (5% loss,
// 5 ms +-1 ms delay, 10% reordering, 1% duplication, 0.5% corruption, each way:
// test/helpers/netem-profile.ts), tuntcp beside kernel-to-kernel, in the same run.
// bench/run.mjs starts this INSIDE a fresh network namespace; it refuses to run anywhere else.
//
//   tuntcp:  kernel client here -> TUN tkcc1 (10.64.0.1/24) -> faults -> the stack at 10.64.0.2
//            (bench/lossy-link.ts tuntcp: the stack's link is a FaultyLink, both ways)
//   kernel:  kernel client here -> TUN tkcc2 (10.65.0.1/24) -> faults -> TUN tkcc3 -> the kernel
//            of a second namespace at 10.65.0.2, where bench/server.mjs kernel runs the same apps
//            on node:net (bench/lossy-link.ts relay carries the packets between the two TUNs)
//
// The faults are played in userspace on both paths alike, since the kernel may have no
// netem (CONFIG_NET_SCH_NETEM). Both paths have one userspace hop each way; both TUN
// devices run without offload, so a lost packet is one segment.
//
//   node bench/lossy.mjs OUT.json [--quick]
//
// TUNTCP_LOSSY_PAIRS=reno,bbr: only those pairings (default, reno, cubic, bbr; all by default);
// TUNTCP_LOSSY_REPS=5: runs per side and row (3, or 1 with --quick); TUNTCP_LOSSY_TCP: a
// TcpConfig override for the stack (bench/lossy-link.ts); TUNTCP_LOSSY_SS=1: the kernel
// sender's `ss -ti` midway; TUNTCP_LOSSY_NSTAT=1: the kernel's TCP counters that moved in
// each run (`nstat`), here (curl's and the upload client's) and in the kernel server's namespace.

import { execFileSync } from 'node:child_process'
import { readlinkSync, writeFileSync } from 'node:fs'
import { killAll, run, startHelper } from './processes.mjs'

const MiB = 1024 * 1024
const args = process.argv.slice(2)
const outFile = args.find(a => !a.startsWith('--'))
const quick = args.includes('--quick')
const reps = Number(process.env.TUNTCP_LOSSY_REPS ?? (quick ? 1 : 3))
if (!(Number.isInteger(reps) && reps > 0 && reps <= 20)) {
  console.error(`bench/lossy.mjs: TUNTCP_LOSSY_REPS must be a whole number from 1 to 20, not ${process.env.TUNTCP_LOSSY_REPS}`)
  process.exit(2)
}
const PLAN = { bytes: quick ? 2 * MiB : 8 * MiB, reps, seed: 1 }

const TUNTCP = { dev: 'tkcc1', addr: '10.64.0.2', kernelCidr: '10.64.0.1/24' }
const KERNEL = { here: 'tkcc2', hereCidr: '10.65.0.1/24', there: 'tkcc3', addr: '10.65.0.2', thereCidr: '10.65.0.2/24' }

const here = readlinkSync('/proc/self/ns/net')
if (!process.env.TUNTCP_BENCH_HOST_NETNS || process.env.TUNTCP_BENCH_HOST_NETNS === here) {
  console.error('bench/lossy.mjs: refusing to run outside the namespace bench/run.mjs creates; run: npm run bench -- --only=lossy')
  process.exit(2)
}
if (!outFile) {
  console.error('usage: node bench/lossy.mjs OUT.json [--quick]')
  process.exit(2)
}

const TSX = ['--import', 'tsx']

async function startKernelSide() {
  // The server's own process makes the far namespace (unshare -n, then exec: the PID we
  // hold is the server), waits until the relay's second TUN device has been moved in.
  const server = startHelper('kernel server', 'unshare', ['-n', '--', 'sh', '-c', [
    'read go',
    'ip link set lo up',
    `ip addr add ${KERNEL.thereCidr} dev ${KERNEL.there}`,
    `ip link set ${KERNEL.there} up`,
    `exec "$0" bench/server.mjs kernel ${KERNEL.addr}`,
  ].join(' && '), process.execPath], { stdinPipe: true })
  const relay = startHelper('relay', process.execPath,
    [...TSX, 'bench/lossy-link.ts', 'relay', KERNEL.here, KERNEL.hereCidr, KERNEL.there, String(PLAN.seed)])
  await relay.ready
  const pid = server.child.pid
  for (let i = 0; readlinkSync(`/proc/${pid}/ns/net`) === here; i++) {
    if (i > 200) throw new Error('kernel server: its namespace did not appear')
    await new Promise(r => setTimeout(r, 10))
  }
  execFileSync('ip', ['link', 'set', KERNEL.there, 'netns', String(pid)])
  server.child.stdin.end('go\n')
  await server.ready
  return { server, relay }
}

async function download(addr, bytes, port = 80) {
  const url = `http://${addr}:${port}/bytes/${bytes}`
  const r = await run('curl', ['-sS', '-o', '/dev/null', '--max-time', '170', '-w', '%{http_code} %{size_download} %{time_total}', url], 180_000)
  const [status, size, seconds] = r.stdout.trim().split(' ').map(Number)
  if (r.code !== 0 || status !== 200 || size !== bytes) throw new Error(`curl ${url}: exit ${r.code}, status ${status}, ${size} of ${bytes} bytes ${r.stderr.trim()}`)
  return { bytes, seconds, MBps: bytes / seconds / 1e6 }
}

async function upload(addr, bytes) {
  const r = await run(process.execPath, ['bench/net-client.mjs', 'upload', addr, '9', String(bytes)], 180_000)
  if (r.code !== 0) throw new Error(`upload to ${addr}:9: exit ${r.code} ${r.stderr.trim()}`)
  return JSON.parse(r.stdout)
}

const ROWS = [
  { id: 'lossy-download', label: `lossy download: curl /bytes/${PLAN.bytes}`, fn: download },
  { id: 'lossy-upload', label: `lossy upload ${PLAN.bytes / MiB} MiB to discard :9 (node net)`, fn: upload },
]

const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/**
 * Four pairings: the kernel's default here (BBR on this host; CUBIC on most) against the
 * stack's default, CUBIC; both loss-based and alike, kernel Reno against the stack's NewReno;
 * kernel CUBIC against the stack's CUBIC, download only; and kernel BBR against the stack's
 * BBR (congestionControl: 'bbr'). In the upload rows the kernel client sends, with the
 * pairing's kernel algorithm, and the stack only receives. A network namespace may make Reno
 * or its host's default its own default, not CUBIC unless the host allows it
 * (net.ipv4.tcp_allowed_congestion_control), but a privileged process may set CUBIC on its own
 * sockets: for that row the kernel side's /bytes comes from bench/bytes-server-cc.py on port
 * 8080 in the kernel server's namespace (Node has no TCP_CONGESTION).
 */
const ALL_VARIANTS = [
  { name: 'default', id: '', kernelCc: null, tuntcpCc: 'cubic' },
  { name: 'reno', id: '-reno', kernelCc: 'reno', tuntcpCc: 'newreno' },
  { name: 'cubic', id: '-cubic', kernelCc: 'cubic', tuntcpCc: 'cubic', perSocketPort: 8080, rows: ['lossy-download'] },
  // Upload: the kernel's BBR sends, the stack only receives (its ACKs are what differs).
  { name: 'bbr', id: '-bbr', kernelCc: 'bbr', tuntcpCc: 'bbr' },
]
const pairs = process.env.TUNTCP_LOSSY_PAIRS?.split(',') ?? ALL_VARIANTS.map(v => v.name)
const unknownPair = pairs.find(name => !ALL_VARIANTS.some(v => v.name === name))
if (unknownPair !== undefined) {
  console.error(`bench/lossy.mjs: no pairing ${unknownPair} in TUNTCP_LOSSY_PAIRS; there are ${ALL_VARIANTS.map(v => v.name).join(', ')}`)
  process.exit(2)
}
const VARIANTS = ALL_VARIANTS.filter(v => pairs.includes(v.name))

/** The per-socket CUBIC server of the '-cubic' pairing, inside the kernel server's namespace. */
async function startPerSocketServer(variant, serverPid) {
  const helper = startHelper(`kernel ${variant.kernelCc} server`, 'nsenter',
    ['-t', String(serverPid), '-n', 'python3', 'bench/bytes-server-cc.py', KERNEL.addr, String(variant.perSocketPort), variant.kernelCc])
  await helper.ready
  return helper
}

const NSTAT_KEYS = /^(TcpRetransSegs|TcpExtTCPLossProbes|TcpExtTCPLossProbeRecovery|TcpExtTCPTimeouts|TcpExtTCPSpuriousRTOs|TcpExtTCPFullUndo|TcpExtTCPPartialUndo|TcpExtTCPDSACKUndo|TcpExtTCPLossUndo|TcpExtTCPDSACKRecv|TcpExtTCPDSACKOfoRecv|TcpExtTCPDSACKOldSent|TcpExtTCPDSACKOfoSent|TcpExtTCPSACKReorder|TcpExtTCPTSReorder|TcpExtTCPRenoReorder|TcpExtTCPFastRetrans|TcpExtTCPSlowStartRetrans|TcpExtTCPLostRetransmit|TcpExtTCPSpuriousRtxHostQueues|TcpExtTCPSackRecovery|TcpExtTCPRenoRecovery|TcpExtTCPDelivered|TcpOutSegs|TcpExtDelayedACKs|TcpExtTCPHPAcks)$/

/** The kernel's TCP counters in a namespace (`nstat -az`: absolute values), or in this one. */
function nstat(pid) {
  const argv = ['-asz', '--json']
  const out = pid === undefined ? execFileSync('nstat', argv, { encoding: 'utf8' })
    : execFileSync('nsenter', ['-t', String(pid), '-n', 'nstat', ...argv], { encoding: 'utf8' })
  const all = Object.values(JSON.parse(out))[0]
  return Object.fromEntries(Object.entries(all).filter(([k]) => NSTAT_KEYS.test(k)))
}

/** The counters that moved between two nstat() readings. */
function moved(before, after) {
  return Object.entries(after).filter(([k, v]) => v !== before[k]).map(([k, v]) => `${k.replace(/^TcpExt/, '')}=${v - before[k]}`).join(' ')
}

/** Sample the kernel server's sending connection on port 80 every `ms` until stopped. */
function sampleKernel(pid, ms) {
  let running = true
  const loop = (async () => {
    while (running) {
      const r = await run('nsenter', ['-t', String(pid), '-n', 'ss', '-tin', 'sport = :80'], 5_000)
      const m = r.stdout.match(/cwnd:(\d+)/)
      if (m && /unacked:/.test(r.stdout)) { // ss prints unacked only while data is in flight
        const ss = r.stdout.match(/ssthresh:(\d+)/)?.[1] ?? '-'
        const rtt = r.stdout.match(/ rtt:([\d.]+)/)?.[1]
        const retrans = r.stdout.match(/retrans:\d+\/(\d+)/)?.[1] ?? '0'
        const minrtt = r.stdout.match(/minrtt:([\d.]+)/)?.[1]
        process.stdout.write(`SAMPLE kernel cwnd:${m[1]} ssthresh:${ss} rtt:${rtt} minrtt:${minrtt} retrans:${retrans}\n`)
      }
      await new Promise(r => setTimeout(r, ms))
    }
  })()
  return { async stop() { running = false; await loop } }
}

/** Set the default congestion control of this namespace and of the kernel server's. */
function setKernelCc(name, serverPid) {
  execFileSync('sysctl', ['-qw', `net.ipv4.tcp_congestion_control=${name}`])
  execFileSync('nsenter', ['-t', String(serverPid), '-n', 'sysctl', '-qw', `net.ipv4.tcp_congestion_control=${name}`])
}

function startTuntcp(cc) {
  return startHelper('tuntcp', process.execPath,
    [...TSX, 'bench/lossy-link.ts', 'tuntcp', TUNTCP.dev, TUNTCP.addr, TUNTCP.kernelCidr, String(PLAN.seed)],
    { env: { ...process.env, TUNTCP_LOSSY_TCP: JSON.stringify({ ...JSON.parse(process.env.TUNTCP_LOSSY_TCP ?? '{}'), congestionControl: cc }) } })
}

async function main() {
  const hostDefault = execFileSync('cat', ['/proc/sys/net/ipv4/tcp_congestion_control'], { encoding: 'utf8' }).trim()
  const results = { plan: PLAN, profile: 'loss 5%, delay 5ms 1ms, reorder 10%, duplicate 1%, corrupt 0.5% (each way, userspace)', kernelDefaultCc: hostDefault, rows: [], servers: {} }
  let kernel = null
  let tuntcp = null
  let perSocket = null
  try {
    kernel = await startKernelSide()
    const sides = { kernel: KERNEL.addr, tuntcp: TUNTCP.addr }
    for (const variant of VARIANTS) {
      const kernelCc = variant.kernelCc ?? hostDefault
      if (variant.perSocketPort) perSocket = await startPerSocketServer(variant, kernel.server.child.pid)
      else setKernelCc(kernelCc, kernel.server.child.pid)
      const ports = { kernel: variant.perSocketPort ?? 80, tuntcp: 80 }
      tuntcp = startTuntcp(variant.tuntcpCc)
      await tuntcp.ready
      // TUNTCP_LOSSY_PING=N: N pings each way first, to compare the two paths' delay itself.
      if (process.env.TUNTCP_LOSSY_PING) {
        for (const side of ['kernel', 'tuntcp']) {
          const r = await run('ping', ['-q', '-c', process.env.TUNTCP_LOSSY_PING, '-i', '0.01', sides[side]], 120_000)
          process.stdout.write(`  ping ${side}: ${r.stdout.trim().split('\n').slice(-2).join('; ')}\n`)
        }
      }
      for (const row of ROWS.filter(r => variant.rows === undefined || variant.rows.includes(r.id))) {
        const id = `${row.id}${variant.id}`
        const runs = { kernel: [], tuntcp: [] }
        const errors = {}
        for (let rep = 0; rep < PLAN.reps; rep++) {
          for (const side of ['kernel', 'tuntcp']) {
            try {
              // TUNTCP_LOSSY_SS=1: print the kernel sender's `ss -ti` (cwnd, retrans) midway, to compare.
              const probe = process.env.TUNTCP_LOSSY_SS && side === 'kernel' && row.id === 'lossy-download'
                ? setTimeout(() => run('nsenter', ['-t', String(kernel.server.child.pid), '-n', 'ss', '-tin', 'sport = :80'], 5_000)
                  .then(r => process.stdout.write(r.stdout)), 150) : null
              // TUNTCP_LOSSY_SAMPLE=MS: the kernel sender's cwnd, ssthresh and rtt every MS (`ss -ti`), as the stack's own lines.
              const sampler = process.env.TUNTCP_LOSSY_SAMPLE && side === 'kernel' && row.id === 'lossy-download'
                ? sampleKernel(kernel.server.child.pid, Number(process.env.TUNTCP_LOSSY_SAMPLE)) : null
              // The kernel server's namespace counts only on the kernel side: the stack is the server on the other.
              const counted = process.env.TUNTCP_LOSSY_NSTAT ? { here: nstat(), server: side === 'kernel' ? nstat(kernel.server.child.pid) : null } : null
              const r = await row.fn(sides[side], PLAN.bytes, ports[side])
              if (probe) clearTimeout(probe)
              if (sampler) await sampler.stop()
              runs[side].push(r)
              process.stdout.write(`  ${id} ${side}: ${r.MBps.toFixed(3)} MB/s (${r.seconds.toFixed(1)} s)\n`)
              if (counted) {
                process.stdout.write(`    nstat here: ${moved(counted.here, nstat())}\n`)
                if (counted.server) process.stdout.write(`    nstat kernel server: ${moved(counted.server, nstat(kernel.server.child.pid))}\n`)
              }
            } catch (err) {
              errors[side] = err.message
              process.stdout.write(`  ${id} ${side}: FAILED: ${err.message}\n`)
            }
          }
        }
        const cell = side => runs[side].length > 0
          ? { value: median(runs[side].map(r => r.MBps)), runs: runs[side], ...(errors[side] ? { error: errors[side] } : {}) }
          : { value: null, error: errors[side] }
        results.rows.push({
          id, label: `${row.label} [kernel ${kernelCc}, tuntcp ${variant.tuntcpCc}]`, unit: 'MB/s', better: 'higher', reps: PLAN.reps,
          kernel: cell('kernel'), tuntcp: cell('tuntcp'),
        })
      }
      results.servers[`tuntcp-${variant.tuntcpCc}${variant.perSocketPort ? `-vs-kernel-${kernelCc}` : ''}`] = await tuntcp.stop()
      tuntcp = null
      if (perSocket) await perSocket.stop()
      perSocket = null
    }
  } finally {
    if (tuntcp) await tuntcp.stop()
    if (perSocket) await perSocket.stop()
    if (kernel) {
      results.servers.relay = await kernel.relay.stop()
      await kernel.server.stop()
    }
    killAll()
  }
  writeFileSync(outFile, JSON.stringify(results, null, 2) + '\n')
}

// Stopped (bench/run.mjs's time limit, or ^C): the helpers go too, not left running in the namespace.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    console.error(`bench/lossy.mjs: ${signal}, stopping the helpers`)
    killAll()
    process.exit(130)
  })
}

main().catch(err => {
  console.error(`bench/lossy.mjs: ${err.stack ?? err.message}`)
  killAll()
  process.exit(1)
})
