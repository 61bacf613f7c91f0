// The two bad wires of `npm run bench -- --only=lossy` (started by bench/lossy.mjs inside
// its network namespace; never run it on the host). Both play the same faults
// (test/helpers/netem-profile.ts: what netem would do) on every packet, each way, in
// userspace, because the kernel here may have no netem (CONFIG_NET_SCH_NETEM):
//
//   node --import tsx bench/lossy-link.ts tuntcp DEV ADDR KERNEL_CIDR SEED
//       the stack on TUN device DEV (no offload: faults hit single segments), its link
//       wrapped in a FaultyLink both ways; serveAll on ADDR
//   node --import tsx bench/lossy-link.ts relay DEV_A CIDR_A DEV_B SEED
//       a wire between two TUN devices: DEV_A gets CIDR_A here, DEV_B is moved by the
//       caller into the kernel server's namespace; packets cross through the same faults
//
// Prints `READY {...}` when up; on SIGTERM prints `DONE {...}` (fault and stack counters) and exits.

import { Stack, TunDevice, configureKernelSide, serveAll } from '../src/index'
import { FaultyLink } from '../src/tun/faulty-link'
import type { Link } from '../src/tun/link'
import { PcapWriter } from '../src/bin/pcap'
import { NETEM_PROFILE as DEFAULT_PROFILE } from '../test/helpers/netem-profile'

// TUNTCP_LOSSY_PROFILE='{"loss":0.05}' replaces the profile, to see what each fault costs.
const NETEM_PROFILE = process.env.TUNTCP_LOSSY_PROFILE ? JSON.parse(process.env.TUNTCP_LOSSY_PROFILE) : DEFAULT_PROFILE

function onTerm(report: () => Record<string, unknown>): void {
  process.once('SIGTERM', () => {
    process.stdout.write(`DONE ${JSON.stringify(report())}\n`)
    process.exit(0)
  })
}

// TUNTCP_LOSSY_PCAP=PREFIX: PREFIX-tuntcp.pcap / PREFIX-kernel.pcap, every packet as the server
// (the sender of the download) sends it, before the faults, and as it receives it, after them.
const pcapPrefix = process.env.TUNTCP_LOSSY_PCAP

/** `link`, with every packet the stack sends or receives through it also written to `pcap`. */
function recorded(link: Link, pcap: PcapWriter): Link {
  return {
    mtu: link.mtu,
    tsoMaxPayload: link.tsoMaxPayload,
    send: (packet, segmentSize) => { pcap.write(packet); link.send(packet, segmentSize) },
    onReceive: handler => link.onReceive(handler === null ? null : (packet, trusted) => { pcap.write(packet); handler(packet, trusted) }),
    ...(link.onBatchEnd ? { onBatchEnd: (handler: (() => void) | null) => link.onBatchEnd!(handler) } : {}),
    close: () => { pcap.close(); link.close() },
  }
}

function main(argv: string[]): void {
  const [mode, ...rest] = argv
  if (mode === 'tuntcp') {
    const [dev = 'tkcc1', addr = '10.64.0.2', kernelCidr = '10.64.0.1/24', seed = '1'] = rest
    const device = TunDevice.open({ name: dev, mtu: 1500, offload: false })
    configureKernelSide(device.name, kernelCidr, 1500)
    const link = new FaultyLink(device, { seed: Number(seed), inbound: NETEM_PROFILE, outbound: NETEM_PROFILE })
    // TUNTCP_LOSSY_TCP='{"congestionControl":"newreno"}': any TcpConfig override, to compare.
    const tcp = process.env.TUNTCP_LOSSY_TCP ? JSON.parse(process.env.TUNTCP_LOSSY_TCP) : undefined
    const stack = new Stack({ address: addr, link: pcapPrefix ? recorded(link, new PcapWriter(`${pcapPrefix}-tuntcp.pcap`)) : link, tcp })
    serveAll(stack)
    // TUNTCP_LOSSY_SAMPLE=MS: every MS, one line per sending connection (cwnd, ssthresh in
    // segments, srtt), to set beside the kernel sender's `ss -ti` (bench/lossy.mjs).
    const sampleMs = Number(process.env.TUNTCP_LOSSY_SAMPLE ?? 0)
    if (sampleMs > 0) {
      setInterval(() => {
        for (const c of stack.connections()) {
          if (c.sendQueue === 0 || c.state !== 'ESTABLISHED') continue
          process.stdout.write(`SAMPLE tuntcp cwnd:${Math.round(c.cwnd / c.mss)} ssthresh:${c.ssthresh === null ? '-' : Math.round(c.ssthresh / c.mss)} rtt:${c.rttMs?.toFixed(1)} minrtt:${c.minRttMs?.toFixed(2)} retrans:${c.totalRetransmits}\n`)
        }
      }, sampleMs).unref()
    }
    onTerm(() => ({ counters: stack.counters.toJSON(), faults: { inbound: link.inbound?.counters, outbound: link.outbound?.counters } }))
    process.stdout.write(`READY ${JSON.stringify({ mode, dev, addr })}\n`)
    return
  }
  if (mode === 'relay') {
    const [devA = 'tkcc2', cidrA = '10.65.0.1/24', devB = 'tkcc3', seed = '1'] = rest
    const a = TunDevice.open({ name: devA, mtu: 1500, offload: false })
    const b = TunDevice.open({ name: devB, mtu: 1500, offload: false })
    configureKernelSide(a.name, cidrA, 1500)
    // Each side's outbound faults: what crosses from A to B meets b's, B to A meets a's.
    const toB = new FaultyLink(b, { seed: Number(seed), outbound: NETEM_PROFILE })
    const toA = new FaultyLink(a, { seed: Number(seed) + 1, outbound: NETEM_PROFILE })
    // The kernel server is behind B: what it sends is read from B (before the faults), what it
    // receives is written to B (after them).
    const pcap = pcapPrefix ? new PcapWriter(`${pcapPrefix}-kernel.pcap`) : null
    if (pcap) {
      const write = b.send.bind(b)
      b.send = (packet: Uint8Array, segmentSize?: number) => { pcap.write(packet); write(packet, segmentSize) }
    }
    toA.onReceive(packet => toB.send(packet))
    toB.onReceive(packet => { pcap?.write(packet); toA.send(packet) })
    onTerm(() => ({ faults: { aToB: toB.outbound?.counters, bToA: toA.outbound?.counters } }))
    process.stdout.write(`READY ${JSON.stringify({ mode, devA, devB })}\n`)
    return
  }
  process.stderr.write('usage: bench/lossy-link.ts tuntcp DEV ADDR KERNEL_CIDR SEED | relay DEV_A CIDR_A DEV_B SEED\n')
  process.exit(2)
}

main(process.argv.slice(2))
