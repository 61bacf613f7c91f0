// The close states of RFC 9293, one packet at a time (the test is the peer).
import { describe, expect, it } from 'vitest'
import type { Socket } from '../../../src/stack/socket/socket'
import { PacketPeer } from '../../helpers/packet-peer'
import { settle } from '../../helpers/virtual-time'

const MSL = 30_000

/** A PacketPeer with a server on port 80 and one accepted, established connection. */
async function established(options: { allowHalfOpen?: boolean } = { allowHalfOpen: true }) {
  const p = new PacketPeer()
  const states: string[] = []
  let socket: Socket | undefined
  p.stack.on('state', ({ from, to }) => states.push(`${from} -> ${to}`))
  p.stack.createServer(options, s => { socket = s }).listen(80)
  await settle()
  await p.handshake()
  expect(socket).toBeDefined()
  return { p, socket: socket!, states }
}

describe('passive close (the peer closes first)', () => {
  it('goes CLOSE-WAIT -> LAST-ACK -> CLOSED (9293 3.10.7.4, 3.10.4)', async () => {
    const { p, socket, states } = await established()
    await p.send('F.', { seq: 1, ack: 1 })
    p.expect('.', { seq: 1, ack: 2 })
    expect(socket.state).toBe('CLOSE-WAIT')
    socket.end()
    await settle()
    p.expect('F.', { seq: 1, ack: 2 })
    expect(socket.state).toBe('LAST-ACK')
    await p.send('.', { seq: 2, ack: 2 })
    expect(p.stack.connections()).toEqual([])
    expect(states).toEqual([
      'LISTEN -> SYN-RECEIVED', 'SYN-RECEIVED -> ESTABLISHED', 'ESTABLISHED -> CLOSE-WAIT',
      'CLOSE-WAIT -> LAST-ACK', 'LAST-ACK -> CLOSED',
    ])
  })

  it('sends its FIN at once when allowHalfOpen is false, like net.Socket', async () => {
    const { p, socket } = await established({ allowHalfOpen: false })
    socket.resume()
    await p.send('F.', { seq: 1, ack: 1 })
    p.expect('.', { seq: 1, ack: 2 })
    p.expect('F.', { seq: 1, ack: 2 })
    expect(socket.state).toBe('LAST-ACK')
  })

  it('holds a FIN that comes before missing data, then ACKs data and FIN once (9293 3.10.7.4, eighth)', async () => {
    const { p, socket } = await established()
    await p.send('F.', { seq: 101, ack: 1 }) // 1..100 not here yet
    p.expect('.', { seq: 1, ack: 1 })
    expect(socket.state).toBe('ESTABLISHED')
    await p.send('P.', { seq: 1, ack: 1, data: 'x'.repeat(100) })
    p.expect('.', { seq: 1, ack: 102 }) // one ACK for the text and the FIN, no ACK of 101 before it
    p.expectNothing()
    expect(socket.state).toBe('CLOSE-WAIT')
  })

  it('retransmits its FIN in LAST-ACK until acknowledged', async () => {
    const { p, socket } = await established()
    await p.send('F.', { seq: 1, ack: 1 })
    p.expect('.', { seq: 1, ack: 2 })
    socket.end()
    await settle()
    p.expect('F.', { seq: 1, ack: 2 })
    await p.run(250) // RTO after a zero-time handshake is the 200 ms floor
    p.expect('F.', { seq: 1, ack: 2 })
    await p.send('.', { seq: 2, ack: 2 })
    expect(p.stack.connections()).toEqual([])
  })
})

describe('active close (we close first)', () => {
  it('goes FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT, and TIME-WAIT lasts exactly 2MSL (9293 3.10.7.4)', async () => {
    const { p, socket, states } = await established()
    socket.end()
    await settle()
    p.expect('F.', { seq: 1, ack: 1 })
    expect(socket.state).toBe('FIN-WAIT-1')
    await p.send('.', { seq: 1, ack: 2 })
    expect(socket.state).toBe('FIN-WAIT-2')
    await p.send('F.', { seq: 1, ack: 2 })
    p.expect('.', { seq: 2, ack: 2 })
    expect(p.stack.connections().map(c => c.state)).toEqual(['TIME-WAIT'])
    await p.run(2 * MSL - 1)
    expect(p.stack.connections().map(c => c.state)).toEqual(['TIME-WAIT'])
    await p.run(1)
    expect(p.stack.connections()).toEqual([])
    expect(states.slice(2)).toEqual([
      'ESTABLISHED -> FIN-WAIT-1', 'FIN-WAIT-1 -> FIN-WAIT-2', 'FIN-WAIT-2 -> TIME-WAIT', 'TIME-WAIT -> CLOSED',
    ])
  })

  it('goes FIN-WAIT-1 -> TIME-WAIT when the FIN comes with the ACK of ours', async () => {
    const { p, socket, states } = await established()
    socket.end()
    await settle()
    p.expect('F.', { seq: 1, ack: 1 })
    await p.send('F.', { seq: 1, ack: 2 })
    p.expect('.', { seq: 2, ack: 2 })
    expect(states.slice(2)).toEqual(['ESTABLISHED -> FIN-WAIT-1', 'FIN-WAIT-1 -> TIME-WAIT'])
  })

  it('goes FIN-WAIT-1 -> CLOSING -> TIME-WAIT in a simultaneous close', async () => {
    const { p, socket, states } = await established()
    socket.end()
    await settle()
    p.expect('F.', { seq: 1, ack: 1 })
    await p.send('F.', { seq: 1, ack: 1 }) // the peer's FIN crossed ours
    p.expect('.', { seq: 2, ack: 2 })
    expect(socket.state).toBe('CLOSING')
    await p.send('.', { seq: 2, ack: 2 })
    expect(states.slice(2)).toEqual(['ESTABLISHED -> FIN-WAIT-1', 'FIN-WAIT-1 -> CLOSING', 'CLOSING -> TIME-WAIT'])
  })

  it('ACKs a retransmitted FIN in TIME-WAIT and restarts 2MSL (9293 3.10.7.4)', async () => {
    const { p, socket } = await established()
    socket.end()
    await settle()
    p.expect('F.')
    await p.send('F.', { seq: 1, ack: 2 })
    p.expect('.', { seq: 2, ack: 2 })
    await p.run(MSL)
    await p.send('F.', { seq: 1, ack: 2 }) // our ACK was lost; the peer retransmits its FIN
    p.expect('.', { seq: 2, ack: 2 })
    await p.run(2 * MSL - 1)
    expect(p.stack.connections().map(c => c.state)).toEqual(['TIME-WAIT'])
    await p.run(1)
    expect(p.stack.connections()).toEqual([])
  })

  it('ignores a RST in TIME-WAIT (RFC 1337)', async () => {
    const { p, socket } = await established()
    socket.end()
    await settle()
    p.expect('F.')
    await p.send('F.', { seq: 1, ack: 2 })
    p.expect('.')
    await p.send('R', { seq: 2 })
    p.expectNothing()
    expect(p.stack.connections().map(c => c.state)).toEqual(['TIME-WAIT'])
    expect(p.stack.counters.drops['tcp-rst-in-time-wait']).toBe(1)
  })

  it('reopens on a SYN with a higher sequence number in TIME-WAIT (9293 3.10.7.4, RFC 6191)', async () => {
    const { p, socket, states } = await established()
    socket.end()
    await settle()
    p.expect('F.')
    await p.send('F.', { seq: 1, ack: 2 })
    p.expect('.')
    await p.send('S', { seq: 100_000 })
    const synAck = p.expect('S.')
    expect((synAck.ack - (0x7000_0000 + 100_001)) >>> 0).toBe(0)
    expect(states.slice(-2)).toEqual(['TIME-WAIT -> CLOSED', 'LISTEN -> SYN-RECEIVED'])
  })

  it('times out an orphaned FIN-WAIT-2 and resets it, like tcp_fin_timeout', async () => {
    const { p, socket } = await established()
    socket.end()
    await settle()
    p.expect('F.')
    await p.send('.', { seq: 1, ack: 2 })
    socket.destroy() // the application is gone: an orphan
    await settle()
    p.expectNothing()
    await p.run(60_000 - 1)
    expect(p.stack.connections().map(c => c.state)).toEqual(['FIN-WAIT-2'])
    await p.run(1)
    p.expect('R', { seq: 2 })
    expect(p.stack.connections()).toEqual([])
  })

  it('keeps a half-closed FIN-WAIT-2 whose application still reads', async () => {
    const { p, socket } = await established()
    socket.end()
    await settle()
    p.expect('F.')
    await p.send('.', { seq: 1, ack: 2 })
    await p.run(10 * 60_000)
    expect(socket.state).toBe('FIN-WAIT-2')
    await p.send('P.', { seq: 1, ack: 2, data: 'late' })
    expect(socket.read()?.toString()).toBe('late')
  })
})

describe('reset', () => {
  it('aborts to CLOSED with ECONNRESET on a RST at RCV.NXT (9293 3.10.7.4)', async () => {
    const { p, socket } = await established()
    const errors: string[] = []
    socket.on('error', e => errors.push((e as NodeJS.ErrnoException).code ?? ''))
    await p.send('R', { seq: 1 })
    await settle()
    expect(errors).toEqual(['ECONNRESET'])
    expect(socket.state).toBe('CLOSED')
    expect(p.stack.connections()).toEqual([])
  })

  it('answers an in-window RST that is not exact with a challenge ACK (RFC 5961 3.2)', async () => {
    const { p, socket } = await established()
    await p.send('R', { seq: 100 })
    p.expect('.', { seq: 1, ack: 1 })
    expect(socket.state).toBe('ESTABLISHED')
  })

  it('answers a SYN in ESTABLISHED with a challenge ACK (RFC 5961 4.2)', async () => {
    const { p, socket } = await established()
    await p.send('S', { seq: 5000 })
    p.expect('.', { seq: 1, ack: 1 })
    expect(socket.state).toBe('ESTABLISHED')
  })

  it('destroy() sends RST and the peer is told nothing more', async () => {
    const { p, socket } = await established()
    socket.destroy()
    await settle()
    p.expect('R', { seq: 1 })
    expect(p.stack.connections()).toEqual([])
  })
})

describe('no connection (9293 3.10.7.1)', () => {
  it('answers a SYN to a closed port with RST,ACK <SEQ=0><ACK=SEG.SEQ+SEG.LEN>', async () => {
    const p = new PacketPeer()
    await p.send('S', { seq: 0 })
    const rst = p.expect('R.', { ack: 1 })
    expect(rst.seq).toBe(0)
  })

  it('answers an ACK with RST <SEQ=SEG.ACK>', async () => {
    const p = new PacketPeer()
    p.iss = 5000
    await p.send('.', { seq: 1, ack: 77 })
    const rst = p.expect('R')
    expect(rst.seq).toBe(5077)
  })

  it('answers a RST with nothing', async () => {
    const p = new PacketPeer()
    await p.send('R', { seq: 1 })
    p.expectNothing()
  })
})
