// Keep-alive (RFC 9293 3.8.4, RFC 1122 4.2.3.6): off by default; when on, an
// idle connection is probed with SEG.SEQ = SND.NXT - 1 and no data, and torn
// down after enough unanswered probes. The test is the peer.
import { describe, expect, it } from 'vitest'
import type { Socket } from '../../../src/stack/socket/socket'
import { DEFAULT_TCP_CONFIG, type TcpConfig } from '../../../src/stack/tcp/config'
import { PacketPeer } from '../../helpers/packet-peer'
import { settle } from '../../helpers/virtual-time'

const IDLE = 10_000
const INTERVAL = 1_000
const PROBES = 3

/** An established passive connection on a stack with short keepalive timings. */
async function established(tcp: Partial<TcpConfig> = { keepaliveIntervalMs: INTERVAL, keepaliveProbes: PROBES }) {
  const p = new PacketPeer({ tcp })
  let socket: Socket | undefined
  p.stack.createServer({ allowHalfOpen: true }, s => { socket = s }).listen(80)
  await settle()
  await p.handshake()
  expect(socket).toBeDefined()
  const errors: string[] = []
  socket!.on('error', e => errors.push((e as NodeJS.ErrnoException).code ?? ''))
  return { p, socket: socket!, errors }
}

describe('keepalive', () => {
  it('has the Linux defaults: 2 h idle, 75 s interval, 9 probes', () => {
    expect(DEFAULT_TCP_CONFIG.keepaliveIdleMs).toBe(7_200_000)
    expect(DEFAULT_TCP_CONFIG.keepaliveIntervalMs).toBe(75_000)
    expect(DEFAULT_TCP_CONFIG.keepaliveProbes).toBe(9)
  })

  it('is off by default: nothing is sent after 3 hours idle (RFC 1122 4.2.3.6: MUST default to off)', async () => {
    const { p, socket } = await established({})
    await p.run(3 * 3600_000)
    p.expectNothing()
    expect(socket.state).toBe('ESTABLISHED')
  })

  it('probes after the idle time with SND.NXT - 1 and no data (RFC 1122 4.2.3.6)', async () => {
    const { p, socket } = await established()
    socket.setKeepAlive(true, IDLE)
    await p.run(IDLE - 1)
    p.expectNothing()
    await p.run(1)
    p.expect('.', { seq: 0, ack: 1, len: 0 }) // SND.NXT is 1: the probe repeats the last byte's number
    expect(socket.state).toBe('ESTABLISHED')
  })

  it('probes with the old sequence number after data has been sent and acknowledged', async () => {
    const { p, socket } = await established()
    socket.write('hello')
    await settle()
    p.expect('P.', { seq: 1, ack: 1, len: 5 })
    await p.send('.', { seq: 1, ack: 6 })
    socket.setKeepAlive(true, IDLE)
    await p.run(IDLE)
    p.expect('.', { seq: 5, ack: 1, len: 0 })
  })

  it('uses the configured idle time when setKeepAlive gives none', async () => {
    const { p, socket } = await established({ keepaliveIdleMs: 30_000 })
    socket.setKeepAlive(true)
    await p.run(29_999)
    p.expectNothing()
    await p.run(1)
    p.expect('.', { seq: 0, ack: 1, len: 0 })
  })

  it('starts over after the peer answers a probe: the next probe waits a full idle time', async () => {
    const { p, socket, errors } = await established()
    socket.setKeepAlive(true, IDLE)
    await p.run(IDLE)
    p.expect('.', { seq: 0, ack: 1 })
    await p.send('.', { seq: 1, ack: 1 }) // the peer is alive
    await p.run(IDLE - 1)
    p.expectNothing()
    await p.run(1)
    p.expect('.', { seq: 0, ack: 1 })
    // Answering every probe keeps the connection forever (here: well past PROBES rounds).
    for (let i = 0; i < 2 * PROBES; i++) {
      await p.send('.', { seq: 1, ack: 1 })
      await p.run(IDLE)
      p.expect('.', { seq: 0, ack: 1 })
    }
    expect(socket.state).toBe('ESTABLISHED')
    expect(errors).toEqual([])
  })

  it('counts any segment from the peer as activity and postpones the first probe', async () => {
    const { p, socket } = await established()
    socket.setKeepAlive(true, IDLE)
    socket.resume()
    await p.run(6_000)
    await p.send('P.', { seq: 1, ack: 1, data: 'x' })
    await p.run(100) // the delayed ACK
    p.expect('.', { seq: 1, ack: 2 })
    await p.run(IDLE - 100 - 1)
    p.expectNothing()
    await p.run(1)
    p.expect('.', { seq: 0, ack: 2 })
  })

  it('resets the connection with ETIMEDOUT after keepaliveProbes unanswered probes, keepaliveIntervalMs apart', async () => {
    const { p, socket, errors } = await established()
    socket.setKeepAlive(true, IDLE)
    await p.run(IDLE)
    for (let i = 0; i < PROBES; i++) {
      p.expect('.', { seq: 0, ack: 1, len: 0 })
      await p.run(INTERVAL - 1)
      p.expectNothing()
      await p.run(1)
    }
    // After the last probe's interval with no answer: RST <SEQ=SND.NXT> and the socket fails.
    p.expect('R', { seq: 1 })
    p.expectNothing()
    await settle()
    expect(errors).toEqual(['ETIMEDOUT'])
    expect(socket.state).toBe('CLOSED')
    expect(p.stack.connections()).toEqual([])
    expect(p.stack.counters.connectionFailures).toBe(1)
  })

  it('also probes a half-closed connection in CLOSE-WAIT', async () => {
    const { p, socket } = await established()
    await p.send('F.', { seq: 1, ack: 1 })
    p.expect('.', { seq: 1, ack: 2 })
    expect(socket.state).toBe('CLOSE-WAIT')
    socket.setKeepAlive(true, IDLE)
    await p.run(IDLE)
    p.expect('.', { seq: 0, ack: 2, len: 0 })
  })

  it('stops probing when turned off', async () => {
    const { p, socket } = await established()
    socket.setKeepAlive(true, IDLE)
    await p.run(IDLE)
    p.expect('.', { seq: 0, ack: 1 })
    socket.setKeepAlive(false)
    await p.run(10 * IDLE)
    p.expectNothing()
    expect(socket.state).toBe('ESTABLISHED')
  })
})

describe('keepalive set before the connection is up', () => {
  it('still probes once ESTABLISHED when the idle time ran out during the handshake', async () => {
    const p = new PacketPeer({ tcp: { keepaliveIntervalMs: INTERVAL, keepaliveProbes: PROBES } })
    const socket = p.stack.connect({ host: '10.0.0.1', port: p.peerPort })
    socket.setKeepAlive(true, 100) // like net.Socket, before 'connect'
    await settle()
    const syn = p.take()!
    p.localPort = syn.srcPort
    p.peerPort = syn.dstPort
    await p.run(500) // a slow peer: the idle time passes in SYN-SENT
    await p.send('S.', { seq: 0, ack: 1, options: { mss: 1460 } })
    p.expect('.', { seq: 1, ack: 1 })
    expect(socket.state).toBe('ESTABLISHED')
    await p.run(99)
    p.expectNothing()
    await p.run(1)
    p.expect('.', { seq: 0, ack: 1, len: 0 })
  })
})
