// Segmentation offload done in software: what the kernel does with a large TCP
// packet the stack hands a TUN device with TSO on (Linux's tcp_gso_segment). The
// in-memory link uses it so that tests see, on the wire, what a kernel peer sees.

import { pseudoHeaderSumOf } from '../stack/wire/address.js'
import { checksum } from '../stack/wire/checksum.js'
import { readU32, writeU32 } from '../stack/wire/ipv4.js'
import { CWR, FIN, PSH } from '../stack/wire/tcp.js'

const IPPROTO_TCP = 6

/**
 * Cut one IPv4 + TCP or IPv6 + TCP packet (no extension headers, as we send them) into
 * packets of at most `segmentSize` payload bytes. Every piece gets the headers of the
 * original with its own sequence number, IP length (and IPv4 identification), and its
 * checksums in full; FIN and PSH stay on the last piece only. A packet that is not TCP,
 * or already small enough, comes back whole.
 */
export function segmentTcp(packet: Uint8Array, segmentSize: number): Uint8Array[] {
  const v6 = packet[0]! >> 4 === 6
  const ipHeaderLength = v6 ? 40 : (packet[0]! & 0x0f) * 4
  if ((v6 ? packet[6] : packet[9]) !== IPPROTO_TCP || packet.length < ipHeaderLength + 20) return [packet]
  const tcpHeaderLength = (packet[ipHeaderLength + 12]! >> 4) * 4
  const headerLength = ipHeaderLength + tcpHeaderLength
  const payloadLength = packet.length - headerLength
  if (payloadLength <= segmentSize) return [packet]

  const seq = readU32(packet, ipHeaderLength + 4)
  const id = (packet[4]! << 8) | packet[5]!
  const flags = packet[ipHeaderLength + 13]!
  const src = v6 ? packet.slice(8, 24) : readU32(packet, 12)
  const dst = v6 ? packet.slice(24, 40) : readU32(packet, 16)
  const pieces: Uint8Array[] = []
  for (let offset = 0; offset < payloadLength; offset += segmentSize) {
    const size = Math.min(segmentSize, payloadLength - offset)
    const last = offset + size === payloadLength
    const piece = new Uint8Array(headerLength + size)
    piece.set(packet.subarray(0, headerLength))
    piece.set(packet.subarray(headerLength + offset, headerLength + offset + size), headerLength)
    if (v6) {
      // IPv6: the payload length (RFC 8200 3); there is no header checksum.
      const payloadLength = piece.length - ipHeaderLength
      piece[4] = payloadLength >>> 8
      piece[5] = payloadLength & 0xff
    } else {
      // IP: total length, identification, header checksum (RFC 791).
      piece[2] = piece.length >>> 8
      piece[3] = piece.length & 0xff
      const pieceId = (id + pieces.length) & 0xffff
      piece[4] = pieceId >>> 8
      piece[5] = pieceId & 0xff
      piece[10] = 0
      piece[11] = 0
      const ipSum = checksum(piece, 0, ipHeaderLength)
      piece[10] = ipSum >>> 8
      piece[11] = ipSum & 0xff
    }
    // TCP: sequence number, flags, checksum over the pseudo header and the piece (RFC 9293 3.1).
    writeU32(piece, ipHeaderLength + 4, (seq + offset) >>> 0)
    // FIN and PSH on the last piece only, CWR on the first only (RFC 3168 6.1.2: one CWR per reduction).
    piece[ipHeaderLength + 13] = (last ? flags : flags & ~(FIN | PSH)) & (offset === 0 ? 0xff : ~CWR)
    piece[ipHeaderLength + 16] = 0
    piece[ipHeaderLength + 17] = 0
    const tcpSum = checksum(piece, ipHeaderLength, piece.length, pseudoHeaderSumOf(src, dst, IPPROTO_TCP, tcpHeaderLength + size))
    piece[ipHeaderLength + 16] = tcpSum >>> 8
    piece[ipHeaderLength + 17] = tcpSum & 0xff
    pieces.push(piece)
  }
  return pieces
}
