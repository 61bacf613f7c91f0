// In-process benchmark of loss recovery: one download between two stacks in the
// simulation (src/testkit/sim), through the netem profile of issue 4 both ways
// (test/helpers/netem-profile.ts), in virtual time, seed after seed. For each run it
// prints the goodput in virtual time and what the sender's loss recovery did, and
// counts *spurious* retransmissions: data segments sent again that the receiver
// already held when they went. No device, no root; the same seed gives the same run.
//
//   node --import tsx bench/lossy-sim.ts [--mib N] [--seeds N] [--cc cubic,newreno,bbr]

import { parseArgs } from 'node:util'
import type { Socket } from '../src/stack/socket/socket'
import { parseIPv4 } from '../src/stack/wire/ipv4'
import { SYN, parseTcp, type TcpSegment } from '../src/stack/wire/tcp'
import { Simulation } from '../src/testkit/sim'
import { isCongestionControlName, type CongestionControlName } from '../src/stack/tcp/congestion'
import { NETEM_PROFILE } from '../test/helpers/netem-profile'

const SERVER = '10.0.0.2'
const CLIENT = '10.0.0.1'
const SERVER_ADDRESS = 0x0a000002
const CLIENT_ADDRESS = 0x0a000001

/** The TCP segment in an IPv4 packet, or null when a stack would drop it (a corrupted copy, say). */
function tcpOf(packet: Uint8Array): TcpSegment | null {
  const ip = parseIPv4(packet)
  if (!ip.ok) return null
  const tcp = parseTcp(ip.value.payload, ip.value.header.src, ip.value.header.dst)
  return tcp.ok ? tcp.value : null
}

async function download(seed: number, bytes: number, cc: string) {
  const sim = new Simulation({ seed, link: NETEM_PROFILE })
  // TUNTCP_LOSSY_TCP='{"growOnDelivered":false}': any TcpConfig override on both ends, to compare (as bench/lossy-link.ts).
  // TUNTCP_LOSSY_SENDER_TCP / TUNTCP_LOSSY_RECEIVER_TCP: the same, for one end only (after TUNTCP_LOSSY_TCP).
  const override = process.env.TUNTCP_LOSSY_TCP ? JSON.parse(process.env.TUNTCP_LOSSY_TCP) : {}
  const senderOnly = process.env.TUNTCP_LOSSY_SENDER_TCP ? JSON.parse(process.env.TUNTCP_LOSSY_SENDER_TCP) : {}
  const receiverOnly = process.env.TUNTCP_LOSSY_RECEIVER_TCP ? JSON.parse(process.env.TUNTCP_LOSSY_RECEIVER_TCP) : {}
  const server = sim.addStack(SERVER, { tcp: { ...override, ...senderOnly, congestionControl: cc as CongestionControlName } })
  const client = sim.addStack(CLIENT, { tcp: { ...override, ...receiverOnly } })
  server.createServer((s: Socket) => { s.end(Buffer.alloc(bytes, 7)) }).listen(80)

  // One byte each: sent once already, held by the receiver. Offsets from the server's ISN + 1.
  const sent = new Uint8Array(bytes)
  const held = new Uint8Array(bytes)
  let isn: number | null = null
  let spurious = 0
  const mark = (packet: Uint8Array, onByte: (offset: number) => void) => {
    const segment = tcpOf(packet)
    if (segment === null) return
    if (segment.flags & SYN) isn = segment.seq
    else if (isn !== null) {
      for (let i = (segment.seq - isn - 1) >>> 0, end = Math.min(i + segment.payload.length, bytes); i < end; i++) onByte(i)
    }
  }
  const route = sim.route.bind(sim)
  sim.route = (from, packet) => {
    if (from === SERVER_ADDRESS) {
      let again = false
      let needless = false
      mark(packet, i => { again ||= sent[i] === 1; needless ||= held[i] === 1; sent[i] = 1 })
      if (again && needless) spurious++
    }
    route(from, packet)
  }
  // What reaches the client: wrap its link's handler (the simulation keeps hosts by address).
  const hosts = (sim as unknown as { hosts: Map<number, { link: { handler: ((p: Uint8Array) => void) | null } }> }).hosts
  const clientLink = hosts.get(CLIENT_ADDRESS)!.link
  const deliver = clientLink.handler!
  clientLink.handler = packet => {
    mark(packet, i => { held[i] = 1 })
    deliver(packet)
  }

  const start = sim.now()
  let received = 0
  let done = 0
  const socket = client.connect({ host: SERVER, port: 80 })
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length
    if (received === bytes) done = sim.now()
  })
  await sim.runUntilQuiet()
  if (received !== bytes) throw new Error(`seed ${seed}: ${received} of ${bytes} bytes arrived`)
  const c = server.counters
  return {
    seed, cc, MBps: bytes / 1e6 / ((done - start) / 1000), segmentsOut: c.segmentsOut,
    retransmissions: c.retransmissions, spurious, fastRetransmits: c.fastRetransmits,
    timeouts: c.retransmitTimeouts, tailLossProbes: c.tailLossProbes, undone: c.spuriousRecoveries,
    reorderingSeen: c.reorderingSeen, delayedAcks: client.counters.delayedAcks, acks: client.counters.segmentsOut,
  }
}

const USAGE = 'usage: node --import tsx bench/lossy-sim.ts [--mib N] [--seeds N] [--cc cubic,newreno,bbr]'
function options() {
  try {
    return parseArgs({ options: { mib: { type: 'string', default: '20' }, seeds: { type: 'string', default: '3' }, cc: { type: 'string', default: 'cubic,newreno' }, help: { type: 'boolean', default: false } } }).values
  } catch (err) {
    console.error(`bench/lossy-sim.ts: ${(err as Error).message}; ${USAGE}`)
    process.exit(2)
  }
}
const values = options()
if (values.help) {
  console.log(USAGE)
  process.exit(0)
}
const bad = !(Number(values.mib) > 0) ? `--mib ${values.mib}` : !(Number.isInteger(Number(values.seeds)) && Number(values.seeds) > 0) ? `--seeds ${values.seeds}` : values.cc!.split(',').find(c => !isCongestionControlName(c))
if (bad !== undefined) {
  console.error(`bench/lossy-sim.ts: not a valid value: ${bad}; ${USAGE}`)
  process.exit(2)
}
const bytes = Math.round(Number(values.mib) * 1024 * 1024)
console.log(`download of ${values.mib} MiB through the netem profile, both ways, in virtual time`)
console.log('cc       seed  MB/s  segments  retransmitted  spurious  fast rtx  RTOs  probes  undone  reordering seen  ACKs  delayed ACKs')
for (const cc of values.cc!.split(',')) {
  const rows = []
  for (let seed = 1; seed <= Number(values.seeds); seed++) {
    const r = await download(seed, bytes, cc)
    rows.push(r)
    console.log(`${cc.padEnd(8)} ${String(seed).padStart(4)} ${r.MBps.toFixed(2).padStart(5)} ${String(r.segmentsOut).padStart(9)} ${String(r.retransmissions).padStart(14)} ${String(r.spurious).padStart(9)} ${String(r.fastRetransmits).padStart(9)} ${String(r.timeouts).padStart(5)} ${String(r.tailLossProbes).padStart(7)} ${String(r.undone).padStart(7)} ${String(r.reorderingSeen).padStart(16)} ${String(r.acks).padStart(5)} ${String(r.delayedAcks).padStart(13)}`)
  }
  const median = rows.map(r => r.MBps).sort((a, b) => a - b)[Math.floor(rows.length / 2)]!
  console.log(`${cc.padEnd(8)} median ${median.toFixed(2)} MB/s`)
}
