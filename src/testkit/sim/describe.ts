// One readable line per packet for the simulation's log, like tcpdump's:
// "10.0.0.1:40000 > 10.0.0.2:7 P. seq 1 ack 1 win 65535 len 100".
// Sequence numbers are absolute: a log line must not depend on what came before.

import { parseIPv4, formatAddress } from '../../stack/wire/ipv4.js'
import { flagsToString, parseTcp } from '../../stack/wire/tcp.js'

const IPPROTO_TCP = 6

export function describePacket(packet: Uint8Array): string {
  const ip = parseIPv4(packet)
  if (!ip.ok) return `(${packet.length} bytes, ${ip.reason})`
  const { src, dst, protocol } = ip.value.header
  if (protocol !== IPPROTO_TCP) return `${formatAddress(src)} > ${formatAddress(dst)} proto ${protocol} len ${ip.value.payload.length}`
  const tcp = parseTcp(ip.value.payload, src, dst)
  if (!tcp.ok) return `${formatAddress(src)} > ${formatAddress(dst)} (${ip.value.payload.length} bytes of TCP, ${tcp.reason})`
  const s = tcp.value
  return `${formatAddress(src)}:${s.srcPort} > ${formatAddress(dst)}:${s.dstPort} ${flagsToString(s.flags)} seq ${s.seq} ack ${s.ack} win ${s.window} len ${s.payload.length}`
}
