// The send window (RFC 9293 3.8.6, 3.10.7.4 fifth step): the stack never sends past
// the right edge the peer advertised, whatever the order in which an ACK frees
// buffer space and updates SND.WND.
import { describe, expect, it } from 'vitest'
import { PacketPeer } from '../../helpers/packet-peer'
import { settle } from '../../helpers/virtual-time'
import type { Socket } from '../../../src/stack/socket/socket'

async function established(options: ConstructorParameters<typeof PacketPeer>[0], win: number) {
  const p = new PacketPeer(options)
  let socket: Socket | undefined
  p.stack.createServer(s => { socket = s }).listen(80)
  await settle()
  await p.handshake(win)
  return { p, socket: socket! }
}

/** Every data segment the stack has sent since the last check: [relative seq, length]. */
function sent(p: PacketPeer): Array<[number, number]> {
  const out: Array<[number, number]> = []
  for (let seg = p.take(); seg !== undefined; seg = p.take()) {
    if (seg.payload.length > 0) out.push([(seg.seq - p.iss!) >>> 0, seg.payload.length])
  }
  return out
}

const rightEdge = (segments: Array<[number, number]>) => Math.max(...segments.map(([seq, len]) => seq + len))

describe('send window', () => {
  it('a blocked writer woken by an ACK sends only up to the right edge that ACK advertises', async () => {
    // A small send buffer so the application blocks, and a 3000-byte peer window.
    const { p, socket } = await established({ tcp: { sndBufSize: 4000 } }, 3000)
    for (let i = 0; i < 10; i++) socket.write(Buffer.alloc(2000, i))
    await settle()
    // Two full segments; the last 80 bytes of the window wait (sender SWS avoidance, 9293 3.8.6.2.1:
    // less than an MSS, less than half the peer's largest window, and data in flight).
    expect(rightEdge(sent(p))).toBe(2921)
    // The peer takes 1460 bytes but its application reads nothing: the right edge stays at 3001.
    await p.send('.', { seq: 1, ack: 1461, win: 1540 })
    expect(sent(p)).toEqual([])
    // It reads everything: the window opens to 3000 past the ACK.
    await p.send('.', { seq: 1, ack: 2921, win: 3000 })
    const next = sent(p)
    expect(next[0]![0]).toBe(2921)
    expect(rightEdge(next)).toBeLessThanOrEqual(5921)
  })

  it('in LAST-ACK, data queued ahead of the FIN still goes out as the window opens, then the FIN', async () => {
    const { p, socket } = await established({}, 1000)
    socket.on('error', () => {})
    socket.write(Buffer.alloc(5000, 1))
    await settle()
    expect(sent(p)).toEqual([[1, 1000]])
    // The peer closes (FIN) while it has room for nothing more: we go to CLOSE-WAIT, then end() to LAST-ACK.
    await p.send('F.', { seq: 1, ack: 1001, win: 0 })
    socket.end()
    await settle()
    expect(socket.state).toBe('LAST-ACK')
    p.link.sent.length = 0
    // Each window update lets the next part go; the FIN follows the last byte.
    let acked = 1001
    for (let round = 0; round < 10 && acked < 5002; round++) {
      await p.send('.', { seq: 2, ack: acked, win: 2000 })
      let seg = p.take()
      while (seg !== undefined) {
        const end = ((seg.seq - p.iss!) >>> 0) + seg.payload.length + (seg.flags & 1 ? 1 : 0)
        acked = Math.max(acked, end)
        seg = p.take()
      }
    }
    expect(acked).toBe(5002) // 5000 data bytes and the FIN
    await p.send('.', { seq: 2, ack: 5002, win: 2000 })
    expect(socket.state).toBe('CLOSED')
  })
})
