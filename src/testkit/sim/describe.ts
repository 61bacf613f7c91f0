// One readable line per packet for the simulation's log, like tcpdump's:
// "10.0.0.1:40000 > 10.0.0.2:7 P. seq 1 ack 1 win 65535 len 100".
// Sequence numbers are absolute: a log line must not depend on what came before.

import { addressText, fromBytesV6, type Address } from '../../stack/wire/address.js'
import { parseIPv4 } from '../../stack/wire/ipv4.js'
import { parseIPv6 } from '../../stack/wire/ipv6.js'
import { flagsToString, parseTcp } from '../../stack/wire/tcp.js'

const IPPROTO_TCP = 6

export function describePacket(packet: Uint8Array): string {
  const v6 = packet.length > 0 && packet[0]! >> 4 === 6
  const ip = v6 ? parseIPv6(packet) : parseIPv4(packet)
  if (!ip.ok) return `(${packet.length} bytes, ${ip.reason})`
  const h = ip.value.header
  const [src, dst]: [Address, Address] = 'tos' in h ? [h.src, h.dst] : [fromBytesV6(h.src), fromBytesV6(h.dst)]
  const from = addressText(src)
  const to = addressText(dst)
  if (h.protocol !== IPPROTO_TCP) return `${from} > ${to} proto ${h.protocol} len ${ip.value.payload.length}`
  const tcp = parseTcp(ip.value.payload, src, dst)
  if (!tcp.ok) return `${from} > ${to} (${ip.value.payload.length} bytes of TCP, ${tcp.reason})`
  const s = tcp.value
  return `${from}:${s.srcPort} > ${to}:${s.dstPort} ${flagsToString(s.flags)} seq ${s.seq} ack ${s.ack} win ${s.window} len ${s.payload.length}`
}
