// Retransmission per RFC 6298: backoff, Karn's rule, and the final ETIMEDOUT.
import { describe, expect, it } from 'vitest'
import { PacketPeer, PEER } from '../../helpers/packet-peer'
import { runUntil, settle } from '../../helpers/virtual-time'
import type { Socket } from '../../../src/stack/socket/socket'

/** A connection accepted on port 80 after the plain handshake (MSS 1460, no other option): the peer and the stack's socket. */
async function established() {
  const p = new PacketPeer()
  let socket: Socket | undefined
  p.stack.createServer(s => { socket = s }).listen(80)
  await settle()
  await p.handshake()
  return { p, socket: socket! }
}

describe('SYN retransmission', () => {
  it('retransmits the SYN after 1 s, 2 s, 4 s ... and fails with ETIMEDOUT (RFC 6298 2.1, 5.5)', async () => {
    const p = new PacketPeer()
    const times: number[] = []
    const send = p.link.send.bind(p.link)
    p.link.send = packet => { times.push(p.clock.now()); send(packet) }
    const sock = p.stack.connect({ host: PEER, port: 9000 })
    const errors: string[] = []
    sock.on('error', e => errors.push((e as NodeJS.ErrnoException).code!))
    await p.run(200_000)
    const gaps = times.slice(1).map((t, i) => t - times[i]!)
    expect(gaps).toEqual([1000, 2000, 4000, 8000, 16000, 32000]) // 6 retries (Linux tcp_syn_retries)
    expect(errors).toEqual(['ETIMEDOUT'])
    expect(p.stack.connections()).toEqual([])
  })
})

describe('data retransmission', () => {
  it('resends only what was sent, never past SND.NXT, when more data waits behind a small window (RFC 6298 5.4)', async () => {
    const { p, socket } = await established()
    await p.send('.', { seq: 1, ack: 1, win: 0 })
    socket.write(Buffer.alloc(3000))
    await p.send('.', { seq: 1, ack: 1, win: 100 })
    await p.run(200) // sender SWS avoidance waits for its override timeout (9293 3.8.6.2.1)
    p.expect('.', { seq: 1, len: 100 })
    p.expectNothing()
    await p.run(200) // lost: the timeout resends the same 100 bytes, not an MSS from the send buffer
    p.expect('.', { seq: 1, len: 100 })
    p.expectNothing()
    await p.send('.', { seq: 1, ack: 101, win: 65535 }) // so this ACK is acceptable, and the rest follows
    p.expect('.', { seq: 101, len: 1460 })
  })

  /** Two segments out, then the peer takes the first and shrinks its window to zero. */
  async function shrunkToZero() {
    const { p, socket } = await established()
    const errors: string[] = []
    socket.on('error', e => errors.push((e as NodeJS.ErrnoException).code!))
    socket.write(Buffer.alloc(2920))
    await settle()
    p.expect('.', { seq: 1, len: 1460 })
    p.expect('P.', { seq: 1461, len: 1460 })
    await p.send('.', { seq: 1, ack: 1461, win: 0 })
    return { p, socket, errors }
  }

  it('keeps probing a window shrunk to zero while the peer answers, past the retry limit (RFC 1122 4.2.2.16-17)', async () => {
    const { p, socket, errors } = await shrunkToZero()
    for (let i = 0; i < 15; i++) { // more than dataRetries (10)
      await runUntil(p.clock, () => p.link.sent.length > 0)
      p.expect('P.', { seq: 1461, len: 1460 })
      await p.send('.', { seq: 1, ack: 1461, win: 0 })
    }
    expect(errors).toEqual([])
    await p.send('.', { seq: 1, ack: 2921, win: 65535 })
    expect(socket.state).toBe('ESTABLISHED')
  })

  it('still gives up on a shrunk window once the peer falls silent', async () => {
    const { p, errors } = await shrunkToZero()
    await runUntil(p.clock, () => errors.length > 0)
    expect(errors).toEqual(['ETIMEDOUT'])
    expect(p.stack.connections()).toEqual([])
  })

  it('resends unacknowledged data with a doubling timeout, and goes on once it is ACKed', async () => {
    const { p, socket } = await established()
    socket.write('hello')
    await settle()
    p.expect('P.', { seq: 1, ack: 1, len: 5 })
    await p.run(199)
    p.expectNothing()
    await p.run(1)
    p.expect('P.', { seq: 1, len: 5 }) // RTO 200 ms (the floor: RTT was 0)
    await p.run(399)
    p.expectNothing()
    await p.run(1)
    p.expect('P.', { seq: 1, len: 5 }) // doubled: 400 ms
    await p.send('.', { seq: 1, ack: 6 })
    await p.run(5000)
    p.expectNothing()
    expect(p.stack.counters.retransmissions).toBe(2)
  })

  it('gives up after dataRetries with ETIMEDOUT', async () => {
    const { p, socket } = await established()
    const errors: string[] = []
    socket.on('error', e => errors.push((e as NodeJS.ErrnoException).code!))
    socket.write('x')
    await p.run(30 * 60_000)
    expect(errors).toEqual(['ETIMEDOUT'])
    expect(p.stack.counters.retransmissions).toBe(10)
  })

  it('fast-retransmits after three duplicate ACKs (RFC 5681 3.2)', async () => {
    const { p, socket } = await established()
    socket.write(Buffer.alloc(4 * 1460, 1))
    await settle()
    for (let i = 0; i < 4; i++) p.expect(i === 3 ? 'P.' : '.', { seq: 1 + i * 1460, len: 1460 })
    for (let i = 0; i < 3; i++) await p.send('.', { seq: 1, ack: 1 }) // the first segment was lost
    p.expect('.', { seq: 1, len: 1460 })
  })
})

describe('receiving', () => {
  it('reassembles out-of-order segments and ACKs the gap at once (9293 3.10.7.4, RFC 5681 4.2)', async () => {
    const { p, socket } = await established()
    const chunks: string[] = []
    socket.on('data', c => chunks.push(c.toString()))
    await p.send('P.', { seq: 6, ack: 1, data: 'world' })
    p.expect('.', { ack: 1 }) // duplicate ACK: a gap at 1
    await p.send('P.', { seq: 1, ack: 1, data: 'hello' })
    p.expect('.', { ack: 11 })
    expect(chunks.join('')).toBe('helloworld')
  })

  it('drops duplicate and overlapping text, delivering each byte once', async () => {
    const { p, socket } = await established()
    const chunks: string[] = []
    socket.on('data', c => chunks.push(c.toString()))
    await p.send('P.', { seq: 1, ack: 1, data: 'abcdef' })
    await p.send('P.', { seq: 4, ack: 1, data: 'defghi' }) // overlaps 3 bytes
    await p.send('P.', { seq: 1, ack: 1, data: 'abc' }) // all old: answered with an ACK
    expect(chunks.join('')).toBe('abcdefghi')
    await p.run(100)
    const acks = []
    for (let s = p.take(); s; s = p.take()) acks.push(s.ack)
    expect(acks.length).toBeGreaterThan(0)
  })

  it('delays a lone ACK by 40 ms but ACKs every second segment at once (9293 3.8.6.3)', async () => {
    const { p } = await established()
    await p.send('P.', { seq: 1, ack: 1, data: 'a' })
    p.expectNothing()
    await p.run(39)
    p.expectNothing()
    await p.run(1)
    p.expect('.', { ack: 2 })
    await p.send('P.', { seq: 2, ack: 1, data: 'b' })
    await p.send('P.', { seq: 3, ack: 1, data: 'c' })
    p.expect('.', { ack: 4 })
  })

  it('sends RST when data arrives for an application that has closed', async () => {
    const { p, socket } = await established()
    socket.end()
    await settle()
    p.expect('F.')
    await p.send('.', { seq: 1, ack: 2 })
    socket.destroy()
    await settle()
    await p.send('P.', { seq: 1, ack: 2, data: 'too late' })
    p.expect('R')
    expect(p.stack.connections()).toEqual([])
  })

  it('answers out-of-window segments with an ACK and drops them (9293 3.10.7.4 first)', async () => {
    const { p, socket } = await established()
    const chunks: string[] = []
    socket.on('data', c => chunks.push(c.toString()))
    await p.send('P.', { seq: 1 + 200_000, ack: 1, data: 'far away' })
    p.expect('.', { seq: 1, ack: 1 })
    expect(chunks).toEqual([])
    expect(p.stack.counters.drops['tcp-unacceptable']).toBe(1)
  })

  it('advertises the free receive buffer and reopens the window when the reader catches up', async () => {
    const { p, socket } = await established()
    socket.pause()
    const chunk = 'x'.repeat(1460)
    let seq = 1
    for (let i = 0; i < 45; i++) {
      await p.send('.', { seq, ack: 1, data: chunk })
      seq += 1460
    }
    let last = p.take()
    for (let s = p.take(); s; s = p.take()) last = s
    expect(last!.window).toBeLessThan(65_535 - 40 * 1460)
    socket.resume()
    await settle()
    let update = p.take()
    for (let s = p.take(); s; s = p.take()) update = s
    expect(update!.window).toBe(65_535)
  })
})
