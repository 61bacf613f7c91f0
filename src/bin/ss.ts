// tuntcp ss: the connections of a running `tuntcp serve`, printed like `ss -tan -o`:
// state, queues, addresses, the active timer with its time left, retransmissions.

import { hostPortText } from '../stack/wire/address.js'
import type { ConnectionInfo } from '../stack/connection-info.js'
import { parse, UsageError } from './args.js'
import { query, type Snapshot } from './control.js'

export const SS_USAGE = `usage: tuntcp ss [--dev NAME] [--info] [--json]

Lists the connections of the tuntcp serve running on device NAME (default tuntcp0) in
this network namespace (or of a tuntcp forward: then each forwarded connection and flow
with both ends, the client's and the upstream socket's, follows), like ss -tan -o, then its counters. With serve --workers N, a Worker column says which
worker thread owns each connection, and a line per worker follows the totals.
--info (-i): under each connection, what ss -ti shows: the options negotiated
(ts, sack, wscale:SND,RCV), the congestion control, rto and rtt/rttvar (ms), the MSS,
cwnd and ssthresh (segments), data bytes acknowledged and received, retransmissions
(of the current segment / in all) and the bytes SACKed. --json: the raw snapshot.`

const OPTIONS = {
  dev: { type: 'string', default: 'tuntcp0' },
  json: { type: 'boolean', default: false },
  info: { type: 'boolean', short: 'i', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const

function seconds(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms >= 10_000 ? 0 : 1)}s` : `${Math.round(ms)}ms`
}

/** One `ss -o` style timer column: timer:(on,1.2s,2). */
export function timerColumn(c: ConnectionInfo): string {
  return c.timer === null ? '' : `timer:(${c.timer.name},${seconds(c.timer.leftMs)},${c.retransmits})`
}

/** A number of milliseconds as ss prints them (%g of three decimals): 204, 0.4, 0.023. */
function ms(n: number): string {
  return String(Number(n.toFixed(3)))
}

/**
 * One `ss -ti` style line, in its order: the options (RFC 7323, RFC 2018, RFC 3168), the algorithm,
 * rto, rtt/rttvar (ms, RFC 6298), mss, the path MTU, the peer's MSS seen, cwnd and ssthresh in
 * segments (RFC 5681; no ssthresh before the first loss), data bytes acknowledged and received,
 * segments sent and received, segments delivered, retransmissions (of the current segment / over the connection's
 * life), bytes SACKed, the minimum RTT:
 *   ts sack cubic wscale:7,7 rto:204 rtt:0.1/0.05 mss:1448 pmtu:1500 rcvmss:536 cwnd:10 bytes_acked:2 bytes_received:79 segs_out:4 segs_in:3 delivered:2 retrans:0/0 minrtt:0.1
 */
export function infoLine(c: ConnectionInfo): string {
  const o = c.options
  const flags = [...(o.timestamps ? ['ts'] : []), ...(o.sack ? ['sack'] : []), ...(o.ecn ? ['ecn'] : [])]
  // A TIME-WAIT entry keeps no window, no timer estimates and no counts: only its options.
  if (c.congestionControl === null) return flags.join(' ')
  const segments = (bytes: number) => Math.floor(bytes / c.mss)
  const parts = [
    ...flags,
    c.congestionControl,
    ...(o.wscale !== null ? [`wscale:${o.wscale.snd},${o.wscale.rcv}`] : []),
    `rto:${ms(c.rtoMs)}`,
    ...(c.rttMs !== undefined ? [`rtt:${ms(c.rttMs)}/${ms(c.rttvarMs ?? 0)}`] : []),
    `mss:${c.mss}`,
    `pmtu:${c.pmtu}`,
    `rcvmss:${c.rcvMss}`,
    `cwnd:${segments(c.cwnd)}`,
    ...(c.ssthresh !== null ? [`ssthresh:${segments(c.ssthresh)}`] : []),
    `bytes_acked:${c.bytesAcked}`,
    `bytes_received:${c.bytesReceived}`,
    `segs_out:${c.segsOut}`,
    `segs_in:${c.segsIn}`,
    `delivered:${c.delivered}`,
    `retrans:${c.retransmits}/${c.totalRetransmits}`,
    ...(c.sackedBytes > 0 ? [`sacked:${c.sackedBytes}`] : []),
    ...(c.minRttMs !== undefined ? [`minrtt:${ms(c.minRttMs)}`] : []),
  ]
  return parts.join(' ')
}

/** The counters line of one stack (or of all workers' added up). */
function countersLine(c: Record<string, unknown>): string {
  const counters = c as { packetsIn: number; packetsOut: number; segmentsIn: number; segmentsOut: number; retransmissions: number; drops: Record<string, number>; ignored?: Record<string, number> }
  const sum = (record: Record<string, number>) => Object.values(record).reduce((a, b) => a + b, 0)
  // The kernel's IPv6 on the link is no error: told apart, and only when there was some.
  const ignored = sum(counters.ignored ?? {})
  return `packets in ${counters.packetsIn}, out ${counters.packetsOut}; segments in ${counters.segmentsIn}, out ${counters.segmentsOut}; retransmitted ${counters.retransmissions}; dropped ${sum(counters.drops)}${ignored > 0 ? `; ignored ${ignored} (IPv6)` : ''}`
}

export function formatSnapshot(s: Snapshot, info = false): string {
  const workers = s.workers !== undefined
  const rows = [['State', 'Recv-Q', 'Send-Q', 'Local Address:Port', 'Peer Address:Port', ...(workers ? ['Worker'] : []), 'Timer']]
  // By local port, then address (forwarded connections' local end is the address the client meant).
  const order = (c: ConnectionInfo) => `${c.localPort.toString().padStart(5)} ${c.localAddress} ${c.remoteAddress} ${c.remotePort}`
  for (const c of [...s.connections].sort((a, b) => order(a).localeCompare(order(b)))) {
    rows.push([c.state, String(c.recvQueue), String(c.sendQueue), hostPortText(c.localAddress, c.localPort), hostPortText(c.remoteAddress, c.remotePort),
      ...(workers ? [String(c.worker ?? '')] : []), timerColumn(c)])
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map(r => r[i]!.length)))
  const lines = rows.map(r => r.map((cell, i) => (i === 1 || i === 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd())
  if (info) {
    // Each connection's row is followed by its options line, indented as ss -ti does.
    const sorted = [...s.connections].sort((a, b) => order(a).localeCompare(order(b)))
    for (let i = sorted.length - 1; i >= 0; i--) lines.splice(i + 2, 0, `\t ${infoLine(sorted[i]!)}`)
  }
  const plural = (n: number) => `${n} connection${n === 1 ? '' : 's'}`
  lines.push('')
  lines.push(`${plural(s.connections.length)} on ${s.device} (${s.address}); ${countersLine(s.counters)}`)
  if (s.forwarded !== undefined) lines.push('', ...forwardedLines(s.forwarded))
  for (const w of s.workers ?? []) {
    const opens = (w.counters as { passiveOpens: number }).passiveOpens
    lines.push(`  worker ${w.worker}: ${plural(w.connections)}, passive opens ${opens}; ${countersLine(w.counters)}`)
  }
  return lines.join('\n')
}

/**
 * `tuntcp forward`'s relays: each TCP connection with both 4-tuples (the client's, ended in
 * the stack, and the upstream kernel socket's own end and peer), each UDP flow the same way.
 */
export function forwardedLines(f: NonNullable<Snapshot['forwarded']>): string[] {
  const end = (e: { address: string; port: number } | null) => (e === null ? '-' : hostPortText(e.address, e.port))
  const rows = [['Proto', 'Client', 'Destination', 'Upstream Local', 'Upstream Peer', 'State']]
  for (const c of f.connections) rows.push(['tcp', end(c.client), end(c.destination), end(c.upstreamLocal), end(c.upstreamRemote), c.phase])
  for (const u of f.flows) rows.push(['udp', end(u.client), end(u.destination), end(u.upstreamLocal), end(u.upstreamRemote), `${u.datagramsUp} up, ${u.datagramsDown} down`])
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map(r => r[i]!.length)))
  return [
    `forwarded through ${f.upstream}: ${f.connections.length} TCP, ${f.flows.length} UDP`,
    ...rows.map(r => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()),
  ]
}

export async function ss(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS, true)
  if (values.help) {
    console.log(SS_USAGE)
    return 0
  }
  if (positionals.length > 0) throw new UsageError(`ss takes no arguments, got ${JSON.stringify(positionals[0])}`)
  let snapshot: Snapshot
  try {
    snapshot = await query(values.dev)
  } catch (error) {
    console.error(`tuntcp: ${(error as Error).message}`)
    return 1
  }
  const text = values.json ? JSON.stringify(snapshot, null, 2) : formatSnapshot(snapshot, values.info)
  // Written out before we return: bin/tuntcp.mjs exits at once, which would cut a long answer to a pipe.
  await new Promise<void>(resolve => process.stdout.write(`${text}\n`, () => resolve()))
  return 0
}
