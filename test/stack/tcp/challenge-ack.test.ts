// RFC 5961 in packets: blind RST, SYN and data injection into an established
// connection, the challenge ACK that answers them, and its per-second budget.
import { describe, expect, it } from 'vitest'
import type { Socket } from '../../../src/stack/socket/socket'
import type { StackOptions } from '../../../src/stack/stack'
import { PacketPeer } from '../../helpers/packet-peer'
import { settle } from '../../helpers/virtual-time'

/** A server on port 80 with one established connection; the peer's window is 65535. */
async function established(options: Partial<StackOptions> = {}) {
  const p = new PacketPeer(options)
  let socket: Socket | undefined
  const errors: string[] = []
  p.stack.createServer(s => {
    socket = s
    s.on('error', e => errors.push((e as NodeJS.ErrnoException).code ?? ''))
  }).listen(80)
  await settle()
  await p.handshake()
  expect(socket).toBeDefined()
  return { p, socket: socket!, errors }
}

describe('RST (RFC 5961 3.2)', () => {
  it('answers an in-window RST that is not exactly RCV.NXT with a challenge ACK and stays ESTABLISHED', async () => {
    const { p, socket } = await established()
    await p.send('R', { seq: 1000 })
    p.expect('.', { seq: 1, ack: 1 })
    p.expectNothing()
    expect(socket.state).toBe('ESTABLISHED')
    expect(p.stack.counters.drops['tcp-rst-not-exact']).toBe(1)
    expect(p.stack.counters.challengeAcksSent).toBe(1)
  })

  it('resets on a RST exactly at RCV.NXT: what a peer that lost its state sends after our challenge ACK', async () => {
    const { p, socket, errors } = await established()
    await p.send('R', { seq: 1000 })
    const challenge = p.expect('.', { seq: 1, ack: 1 })
    // The real peer answers the challenge ACK with <SEQ=SEG.ACK><CTL=RST>.
    await p.send('R', { seq: (challenge.ack - 0x7000_0000) >>> 0 })
    await settle()
    expect(socket.state).toBe('CLOSED')
    expect(errors).toEqual(['ECONNRESET'])
  })

  it('drops a RST outside the window silently', async () => {
    const { p, socket } = await established()
    await p.send('R', { seq: 1 + 70_000 })
    p.expectNothing()
    expect(socket.state).toBe('ESTABLISHED')
    expect(p.stack.counters.drops['tcp-unacceptable']).toBe(1)
  })
})

describe('SYN (RFC 5961 4.2, RFC 9293 3.10.7.4 fourth step)', () => {
  it('answers a SYN inside the window with a challenge ACK', async () => {
    const { p, socket } = await established()
    await p.send('S', { seq: 500 })
    p.expect('.', { seq: 1, ack: 1 })
    expect(socket.state).toBe('ESTABLISHED')
    expect(p.stack.counters.drops['tcp-syn-in-window']).toBe(1)
  })

  it('answers a SYN outside the window with the same (rate-limited) challenge ACK', async () => {
    const { p, socket } = await established()
    await p.send('S', { seq: 1 + 1_000_000 })
    p.expect('.', { seq: 1, ack: 1 })
    expect(socket.state).toBe('ESTABLISHED')
    expect(p.stack.counters.drops['tcp-syn-out-of-window']).toBe(1)
    expect(p.stack.counters.challengeAcksSent).toBe(1)
  })

  it('a SYN,ACK injected into ESTABLISHED changes nothing either', async () => {
    const { p, socket } = await established()
    await p.send('S.', { seq: 7, ack: 1 })
    p.expect('.', { seq: 1, ack: 1 })
    await p.send('P.', { seq: 1, ack: 1, data: 'still here' })
    expect(socket.read()?.toString()).toBe('still here')
  })
})

describe('ACK (RFC 5961 5.2: SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT)', () => {
  it('drops data whose ACK is older than SND.UNA - MAX.SND.WND and sends a challenge ACK', async () => {
    const { p, socket } = await established()
    await p.send('P.', { seq: 1, ack: 1 - 70_000, data: 'injected' })
    p.expect('.', { seq: 1, ack: 1 }) // RCV.NXT did not move: the text was not taken
    await settle()
    expect(socket.read()).toBeNull()
    expect(p.stack.counters.drops['tcp-ack-too-old']).toBe(1)
  })

  it('drops data whose ACK is beyond SND.NXT and sends a challenge ACK', async () => {
    const { p, socket } = await established()
    await p.send('P.', { seq: 1, ack: 5000, data: 'injected' })
    p.expect('.', { seq: 1, ack: 1 })
    await settle()
    expect(socket.read()).toBeNull()
    expect(p.stack.counters.drops['tcp-ack-unsent']).toBe(1)
  })

  it('takes data with an old ACK still inside MAX.SND.WND (an ordinary duplicate ACK)', async () => {
    const { p, socket } = await established()
    await p.send('P.', { seq: 1, ack: 1 - 1000, data: 'fine' })
    await settle()
    expect(socket.read()?.toString()).toBe('fine')
    expect(p.stack.counters.drops['tcp-ack-too-old']).toBeUndefined()
  })
})

describe('rate limit (RFC 5961 7, Linux tcp_challenge_ack_limit)', () => {
  it('sends at most the per-second budget (randomized in [limit/2, 3*limit/2]) and counts the rest', async () => {
    const { p, socket } = await established({ tcp: { challengeAckLimit: 10 } })
    for (let i = 0; i < 100; i++) await p.send('R', { seq: 100 + i })
    let acks = 0
    while (p.take() !== undefined) acks++
    expect(acks).toBeGreaterThanOrEqual(5)
    expect(acks).toBeLessThanOrEqual(15)
    const c = p.stack.counters
    expect(c.challengeAcksSent).toBe(acks)
    expect(c.challengeAcksLimited).toBe(100 - acks)
    expect(c.drops['tcp-rst-not-exact']).toBe(100)
    expect(socket.state).toBe('ESTABLISHED')
    // A second later the budget is new.
    await p.run(1000)
    await p.send('R', { seq: 100 })
    p.expect('.', { seq: 1, ack: 1 })
  })

  it('is one budget for the whole stack, shared by every connection', async () => {
    const p = new PacketPeer({ tcp: { challengeAckLimit: 4 } })
    p.stack.createServer(() => undefined).listen(80)
    await settle()
    await p.handshake()
    p.peerPort = 40_001
    p.iss = null
    await p.handshake()
    for (const port of [40_000, 40_001]) for (let i = 0; i < 20; i++) await p.send('S', { seq: 300 + i, port })
    let acks = 0
    while (p.take() !== undefined) acks++
    expect(acks).toBeGreaterThanOrEqual(2)
    expect(acks).toBeLessThanOrEqual(6)
    expect(p.stack.counters.challengeAcksLimited).toBe(40 - acks)
  })
})
