// Sending and acknowledging well: Nagle's algorithm (RFC 896, RFC 9293 3.7.4)
// with setNoDelay, silly window syndrome avoidance on both sides (RFC 9293
// 3.8.6.2.1 sender, 3.8.6.2.2 receiver), in packets and in virtual time.
import { describe, expect, it } from 'vitest'
import { PacketPeer } from '../../helpers/packet-peer'
import { settle } from '../../helpers/virtual-time'
import type { Socket } from '../../../src/stack/socket/socket'
import type { TcpConfig } from '../../../src/stack/tcp/config'

async function established(win = 65535, config: Partial<TcpConfig> = {}) {
  const p = new PacketPeer({ tcp: config })
  let socket: Socket | undefined
  p.stack.createServer(s => { socket = s }).listen(80)
  await settle()
  await p.handshake(win)
  return { p, socket: socket! }
}

describe("Nagle's algorithm (RFC 9293 3.7.4)", () => {
  it('holds small writes while data is unacknowledged, then sends them as one segment', async () => {
    const { p, socket } = await established()
    socket.write('a')
    await settle()
    p.expect('P.', { seq: 1, len: 1 }) // nothing in flight: goes at once
    socket.write('b')
    socket.write('c')
    await settle()
    p.expectNothing() // 'a' is unacknowledged: the small ones wait
    await p.send('.', { seq: 1, ack: 2 })
    const seg = p.expect('P.', { seq: 2, len: 2 })
    expect(Buffer.from(seg.payload).toString()).toBe('bc')
  })

  it('never holds full-sized segments, only the small tail', async () => {
    const { p, socket } = await established()
    socket.write('x')
    await settle()
    p.expect('P.', { seq: 1, len: 1 })
    socket.write(Buffer.alloc(2 * 1460 + 10, 1))
    await settle()
    p.expect('.', { seq: 2, len: 1460 })
    p.expect('.', { seq: 1462, len: 1460 })
    p.expectNothing()
    await p.send('.', { seq: 1, ack: 2922 })
    p.expect('P.', { seq: 2922, len: 10 })
  })

  it("with Minshall's variant (minshallNagle, as Linux) holds a small segment only behind a small one in flight", async () => {
    const { p, socket } = await established(65535, { minshallNagle: true })
    socket.write(Buffer.alloc(2 * 1460 + 10, 1))
    await settle()
    p.expect('.', { seq: 1, len: 1460 })
    p.expect('.', { seq: 1461, len: 1460 })
    p.expect('P.', { seq: 2921, len: 10 }) // only full-sized segments are in flight: the tail goes too
    socket.write('y')
    await settle()
    p.expectNothing() // the 10-byte segment is unacknowledged: this one waits
    await p.send('.', { seq: 1, ack: 2931 })
    p.expect('P.', { seq: 2931, len: 1 })
  })

  it('setNoDelay(true) sends small writes at once and releases what was held', async () => {
    const { p, socket } = await established()
    socket.write('a')
    socket.write('b')
    await settle()
    p.expect('P.', { seq: 1, len: 1 })
    p.expectNothing()
    socket.setNoDelay(true)
    p.expect('P.', { seq: 2, len: 1 })
    socket.write('c')
    await settle()
    p.expect('P.', { seq: 3, len: 1 })
    socket.setNoDelay(false)
    socket.write('d')
    await settle()
    p.expectNothing()
  })

  it('end() releases the held tail with the FIN', async () => {
    const { p, socket } = await established()
    socket.write('a')
    socket.write('b')
    await settle()
    p.expect('P.', { seq: 1, len: 1 })
    socket.end()
    await settle()
    p.expect('FP.', { seq: 2, len: 1 })
  })
})

describe('sender silly window avoidance (RFC 9293 3.8.6.2.1)', () => {
  it('waits for a useful window, and sends the small remainder on the override timeout', async () => {
    const { p, socket } = await established(3000)
    socket.setNoDelay(true) // SWS avoidance holds even without Nagle
    socket.write(Buffer.alloc(3100, 1))
    await settle()
    p.expect('.', { seq: 1, len: 1460 })
    p.expect('.', { seq: 1461, len: 1460 })
    p.expectNothing() // 80 bytes of window left: less than an MSS and than half the window
    // All acknowledged, but the peer's application read nothing: the window is only 80 bytes.
    await p.send('.', { seq: 1, ack: 2921, win: 80 })
    p.expectNothing()
    await p.run(1000) // the persist timer doubles as the override timeout (RTO, 1 s before any sample)
    p.expect('.', { seq: 2921, len: 80 })
  })

  it('sends a small segment at once when it is at least half the largest window offered', async () => {
    const { p, socket } = await established(1000)
    socket.write(Buffer.alloc(3000, 1))
    await settle()
    p.expect('.', { seq: 1, len: 1000 }) // under an MSS, but the whole window (RFC 1122 4.2.3.4 case 3)
  })
})

describe('receiver silly window avoidance (RFC 9293 3.8.6.2.2)', () => {
  it('opens a closed window only by at least an MSS, and says so in one window update', async () => {
    const { p, socket } = await established(65535, { rcvBufSize: 10_000 })
    socket.pause()
    let seq = 1
    for (const n of [1460, 1460, 1460, 1460, 1460, 1460, 1240]) {
      await p.send('.', { seq, ack: 1, data: 'w'.repeat(n) })
      seq += n
    }
    await p.run(40) // the delayed ACK of the last segment
    let last = p.take()
    for (let s = p.take(); s !== undefined; s = p.take()) last = s
    expect(last!.window).toBe(0) // 10000 bytes held, nothing read
    socket.read(100)
    await settle()
    p.expectNothing() // 100 bytes free: too small a move to announce
    socket.read(1000)
    await settle()
    p.expectNothing() // 1100 free: still under one MSS
    socket.read(500)
    await settle()
    p.expect('.', { ack: 10_001, win: 1600 }) // 1600 >= MSS: one window update
    socket.read(100)
    await settle()
    p.expectNothing() // the right edge would move by 100 only
  })

  it('never advertises a right edge that moved by less than an MSS, even when the reader drains', async () => {
    const { p, socket } = await established(65535, { rcvBufSize: 10_000 })
    socket.pause()
    await p.send('.', { seq: 1, ack: 1, data: 'v'.repeat(9500) }) // leaves 500 bytes of window
    await p.run(40)
    expect(p.expect('.', { ack: 9501 }).window).toBe(500)
    socket.resume()
    await settle()
    // Everything read: the window goes back to the whole buffer, announced once.
    expect(p.expect('.', { ack: 9501 }).window).toBe(10_000)
    p.expectNothing()
  })
})
