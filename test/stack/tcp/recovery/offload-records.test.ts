// RACK's sent list with segmentation offload (recovery/sent.ts): one entry per packet handed
// to the link, as Linux keeps one skb per TSO packet, cut where an ACK or a SACK block ends
// inside it. A segment lost out of the middle of a packet goes again alone, and what TCP_INFO
// counts in segments (delivered, lost) is the same as without offload. In virtual time.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { SeededRandom } from '../../../../src/stack/random'
import { Stack } from '../../../../src/stack/stack'
import type { Socket } from '../../../../src/stack/socket/socket'
import type { Tcb } from '../../../../src/stack/tcp/tcb'
import { parseIPv4 } from '../../../../src/stack/wire/ipv4'
import { parseTcp } from '../../../../src/stack/wire/tcp'
import { linkPair } from '../../../../src/tun/memory-link'
import { collect } from '../../../helpers/two-stacks'
import { ClockGroup, runFor, runUntil } from '../../../helpers/virtual-time'

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
const tcbOf = (s: Socket) => (s as unknown as { connection: Tcb }).connection
const SIZE = 1 << 20

/** a sends SIZE bytes to b's discard-like server; `drop(seq)` may lose a data segment of a's on the wire (after the link cut it). */
async function upload(offload: boolean, drop: (relSeq: number, len: number) => boolean = () => false) {
  const clock = new ClockGroup(1_000)
  const [linkA, linkB] = linkPair({ mtu: 1500, tsoMaxPayload: 65_495 })
  const a = new Stack({ address: '10.0.0.1', link: linkA, clock: clock.clock(), random: new SeededRandom(1), offload })
  const b = new Stack({ address: '10.0.0.2', link: linkB, clock: clock.clock(), random: new SeededRandom(2), offload })
  let iss: number | null = null
  const dropped: number[] = []
  linkA.onSend = packet => {
    const ip = parseIPv4(packet)
    if (!ip.ok) return
    const seg = parseTcp(ip.value.payload, ip.value.header.src, ip.value.header.dst, true)
    if (!seg.ok) return
    if (iss === null) iss = seg.value.seq
    const rel = (seg.value.seq - iss) >>> 0
    if (seg.value.payload.length > 0 && drop(rel, seg.value.payload.length)) {
      dropped.push(rel)
      return false
    }
  }
  const received = { data: (): Buffer => Buffer.alloc(0) }
  b.createServer(s => { Object.assign(received, collect(s)) }).listen(9)
  const sock = a.connect({ host: '10.0.0.2', port: 9 })
  const data = new Uint8Array(SIZE)
  for (let i = 0; i < SIZE; i++) data[i] = (i * 13 + (i >> 9)) & 0xff
  // The longest the sent list grew, seen at each packet a hands its link.
  let most = 0
  a.on('packet', (dir: string) => { if (dir === 'out') most = Math.max(most, tcbOf(sock).sent.segments.length) })
  sock.on('connect', () => { sock.end(data) })
  await runUntil(clock, () => sock.state === 'FIN-WAIT-2' || sock.state === 'TIME-WAIT' || sock.state === 'CLOSED')
  const info = sock.info()
  await runFor(clock, 10)
  return { a, got: received.data(), data, info, most, dropped, tcb: tcbOf(sock) }
}

describe('the sent list with segmentation offload', () => {
  it('keeps one entry per packet handed to the link, not one per segment', async () => {
    const on = await upload(true)
    expect(sha(on.got)).toBe(sha(on.data))
    const off = await upload(false)
    // Without offload an entry is a segment; with it, a packet of many.
    expect(off.most).toBeGreaterThan(4 * on.most)
    // TCP_INFO counts segments either way: tcpi_delivered the same, within the handshake's and FIN's.
    expect(Math.abs(on.info.delivered - off.info.delivered)).toBeLessThanOrEqual(2)
    expect(on.info.delivered).toBeGreaterThanOrEqual(Math.ceil(SIZE / on.tcb.sndMss))
  })

  it('a segment lost from the middle of a packet goes again alone, and the rest is delivered once', async () => {
    // The fourth segment of the packet that starts past 256 KB: lost once.
    let lostOnce = false
    const r = await upload(true, (rel, len) => {
      if (lostOnce || rel < 262_144) return false
      if (len === 0) return false
      lostOnce = true
      return true
    })
    expect(r.dropped).toHaveLength(1)
    expect(sha(r.got)).toBe(sha(r.data))
    const counters = r.a.counters
    expect(counters.retransmissions).toBeGreaterThanOrEqual(1)
    // What went again is about the one segment lost: not the whole 64 KB packet it was part of.
    expect(r.info.total_retrans).toBeLessThanOrEqual(3)
    expect(counters.retransmitTimeouts).toBe(0)
  })
})
