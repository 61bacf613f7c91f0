// TIME-WAIT made small (src/stack/tcp/time-wait.ts): once a connection enters
// TIME-WAIT, the connection table holds a compact entry instead of the TCB. The
// test plays the peer one packet at a time, in virtual time, and checks that every
// TIME-WAIT rule still holds on the entry, and that the TCB itself is let go.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import type { Socket } from '../../../src/stack/socket/socket'
import type { StateChange } from '../../../src/stack/stack'
import { SendBuffer } from '../../../src/stack/tcp/send-buffer'
import { Reassembly } from '../../../src/stack/tcp/reassembly'
import { Tcb } from '../../../src/stack/tcp/tcb'
import type { TcpLayer } from '../../../src/stack/tcp/tcp-layer'
import { TimeWait } from '../../../src/stack/tcp/time-wait'
import type { TcpOptions } from '../../../src/stack/wire/tcp'
import { PacketPeer } from '../../helpers/packet-peer'
import { settle } from '../../helpers/virtual-time'

const MSL = 30_000

/** The stack's connection table, to look at what it really holds. */
function table(p: PacketPeer): TcpLayer['connections'] {
  return (p.stack as unknown as { tcp: TcpLayer }).tcp.connections
}

/** A TCP timestamps option (RFC 7323). */
function ts(value: number, echo: number): TcpOptions {
  return { timestamp: { value, echo } }
}

/**
 * The stack (port 80) closes first and reaches TIME-WAIT: FIN out, the peer's
 * FIN with the ACK of ours in, our ACK out. The application keeps its socket and
 * never reads, so the socket is still the connection's user in TIME-WAIT.
 */
async function inTimeWait() {
  const p = new PacketPeer()
  const events: StateChange[] = []
  let socket: Socket | undefined
  p.stack.on('state', e => events.push(e))
  p.stack.createServer({ allowHalfOpen: true }, s => { socket = s }).listen(80)
  await settle()
  await p.handshake()
  socket!.end()
  await settle()
  p.expect('F.', { seq: 1, ack: 1 })
  await p.send('F.', { seq: 1, ack: 2 })
  const ack = p.expect('.', { seq: 2, ack: 2 })
  const arcs = () => events.map(e => `${e.from} -> ${e.to} (${e.cause})`)
  return { p, socket: socket!, events, arcs, window: ack.window }
}

describe('the compact TIME-WAIT entry', () => {
  it('takes the place of the TCB in the connection table and holds no buffers and no TCB', async () => {
    const { p } = await inTimeWait()
    const held = [...table(p)]
    expect(held).toHaveLength(1)
    const entry = held[0]!
    expect(entry).toBeInstanceOf(TimeWait)
    // Nothing the entry holds is (or holds) a TCB or one of its buffers.
    for (const value of Object.values(entry)) {
      expect(value).not.toBeInstanceOf(Tcb)
      expect(value).not.toBeInstanceOf(SendBuffer)
      expect(value).not.toBeInstanceOf(Reassembly)
    }
    expect(entry).toMatchObject({ state: 'TIME-WAIT', localPort: 80, remotePort: p.peerPort })
    expect((entry as TimeWait).armed).toBe(true) // the entry is its own 2MSL timer on the wheel
  })

  it('lets the TCB be garbage collected once the application has let go of its socket', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const p = new PacketPeer()
    p.stack.createServer(s => {
      s.on('error', () => {})
      s.end('bye', () => s.destroy()) // daytime: the line, our FIN, let go
    }).listen(80)
    await settle()
    await p.handshake()
    const tcb = new WeakRef([...table(p)][0] as Tcb)
    expect(tcb.deref()).toBeInstanceOf(Tcb)
    p.expect('P.', { seq: 1, ack: 1, len: 3 })
    p.expect('F.', { seq: 4, ack: 1 })
    await p.send('F.', { seq: 1, ack: 5 })
    p.expect('.', { seq: 5, ack: 2 })
    expect(p.stack.connectionsByState()).toEqual({ 'TIME-WAIT': 1 })
    await settle()
    gc()
    expect(tcb.deref()).toBeUndefined()
    expect(p.stack.connectionsByState()).toEqual({ 'TIME-WAIT': 1 })
  })

  it('is listed by connections() and connectionsByState() with its timewait timer, like ss -tan -o', async () => {
    const { p } = await inTimeWait()
    await p.run(1_000)
    expect(p.stack.connectionsByState()).toEqual({ 'TIME-WAIT': 1 })
    const [row] = p.stack.connections()
    expect(row).toMatchObject({
      state: 'TIME-WAIT', localAddress: '10.0.0.2', localPort: 80, remoteAddress: '10.0.0.1', remotePort: p.peerPort,
      sendQueue: 0, recvQueue: 0, retransmits: 0, timer: { name: 'timewait', leftMs: 2 * MSL - 1_000 },
    })
  })

  it('ACKs a retransmitted FIN and restarts 2MSL (9293 3.10.7.4, eighth step)', async () => {
    const { p, window } = await inTimeWait()
    await p.run(MSL)
    await p.send('F.', { seq: 1, ack: 2 }) // our ACK was lost
    p.expect('.', { seq: 2, ack: 2, win: window }) // the same ACK again, window and all
    expect(p.stack.connections()[0]!.timer).toEqual({ name: 'timewait', leftMs: 2 * MSL })
    await p.run(2 * MSL - 1)
    expect(p.stack.connectionsByState()).toEqual({ 'TIME-WAIT': 1 })
    await p.run(1)
    expect(p.stack.connectionsByState()).toEqual({})
  })

  it('ignores a RST and keeps its timer running (RFC 1337)', async () => {
    const { p } = await inTimeWait()
    await p.run(10_000)
    await p.send('R', { seq: 2 })
    await p.send('R.', { seq: 2, ack: 2 })
    p.expectNothing()
    expect(p.stack.counters.drops['tcp-rst-in-time-wait']).toBe(2)
    expect(p.stack.connections()[0]!.timer).toEqual({ name: 'timewait', leftMs: 2 * MSL - 10_000 })
  })

  it('ACKs an old duplicate (data, a FIN that is not the last one) and says nothing to a bare ACK', async () => {
    const { p } = await inTimeWait()
    await p.send('P.', { seq: 1, ack: 2, data: 'old' })
    p.expect('.', { seq: 2, ack: 2 })
    await p.send('.', { seq: 2, ack: 2 })
    p.expectNothing()
    expect(p.stack.connectionsByState()).toEqual({ 'TIME-WAIT': 1 })
  })

  it('reopens on a SYN above RCV.NXT, with an ISS above the old SND.NXT (RFC 9293 3.6.1, RFC 1122 4.2.2.13)', async () => {
    const { p, arcs } = await inTimeWait()
    await p.send('S', { seq: 3, options: { mss: 1460 } }) // RCV.NXT is 2
    p.expect('S.', { seq: 2 + 65_537, ack: 4 }) // old SND.NXT + 65537
    expect(arcs().slice(-2)).toEqual(['TIME-WAIT -> CLOSED (new SYN in TIME-WAIT)', 'LISTEN -> SYN-RECEIVED (SYN received)'])
    expect(p.stack.connectionsByState()).toEqual({ 'SYN-RECEIVED': 1 })
    expect([...table(p)][0]).toBeInstanceOf(Tcb)
  })

  it('answers a SYN at or below RCV.NXT with an ACK and stays (an old duplicate)', async () => {
    const { p } = await inTimeWait()
    await p.send('S', { seq: 2 })
    p.expect('.', { seq: 2, ack: 2 })
    await p.send('S', { seq: 0 })
    p.expect('.', { seq: 2, ack: 2 })
    expect(p.stack.connectionsByState()).toEqual({ 'TIME-WAIT': 1 })
  })

  it('answers even a new SYN with an ACK when nobody listens on the port any more', async () => {
    const { p } = await inTimeWait()
    for (const server of (p.stack as unknown as { servers: Set<{ close(): void }> }).servers) server.close()
    await p.send('S', { seq: 1000 })
    p.expect('.', { seq: 2, ack: 2 })
    expect(p.stack.connectionsByState()).toEqual({ 'TIME-WAIT': 1 })
  })

  it('goes to CLOSED after exactly 2MSL: traced, counted, and told to the socket still held', async () => {
    const { p, socket, events, arcs } = await inTimeWait()
    const told: string[] = []
    socket.on('state', (from, to, cause) => told.push(`${from} -> ${to} (${cause})`))
    expect(socket.state).toBe('TIME-WAIT')
    const closedBefore = p.stack.counters.entered['CLOSED'] ?? 0
    await p.run(2 * MSL - 1)
    expect(socket.state).toBe('TIME-WAIT')
    await p.run(1)
    expect(socket.state).toBe('CLOSED')
    expect(told).toEqual(['TIME-WAIT -> CLOSED (2MSL timeout)'])
    expect(arcs().at(-1)).toBe('TIME-WAIT -> CLOSED (2MSL timeout)')
    expect(events.at(-1)!.conn).toMatchObject({ state: 'CLOSED', localPort: 80, remotePort: p.peerPort, timer: null })
    expect(p.stack.counters.entered['CLOSED']).toBe(closedBefore + 1)
    expect(p.stack.connections()).toEqual([])
    p.expectNothing()
  })

  it('reports TIME-WAIT then CLOSED on a socket the application destroyed but still holds', async () => {
    const { p, socket } = await inTimeWait()
    socket.resume() // read to the end, so a clean destroy leaves the entry alone
    await settle()
    socket.destroy()
    await settle()
    expect(socket.destroyed).toBe(true)
    expect(socket.state).toBe('TIME-WAIT')
    expect(p.stack.connectionsByState()).toEqual({ 'TIME-WAIT': 1 })
    await p.run(2 * MSL)
    expect(socket.state).toBe('CLOSED')
    expect(p.stack.connections()).toEqual([])
  })

  it('follows to CLOSED a socket destroyed from its own state handler as TIME-WAIT begins', async () => {
    const p = new PacketPeer()
    let socket: Socket | undefined
    p.stack.createServer({ allowHalfOpen: true }, s => {
      socket = s
      s.resume()
      s.on('state', (_from, to) => { if (to === 'TIME-WAIT') s.destroy() }) // clean: all read, FIN sent
    }).listen(80)
    await settle()
    await p.handshake()
    socket!.end()
    await settle()
    p.expect('F.', { seq: 1, ack: 1 })
    await p.send('F.', { seq: 1, ack: 2 })
    p.expect('.', { seq: 2, ack: 2 })
    expect(socket!.destroyed).toBe(true)
    expect(socket!.state).toBe('TIME-WAIT')
    expect([...table(p)][0]).toMatchObject({ state: 'TIME-WAIT', user: null })
    await p.run(2 * MSL)
    expect(socket!.state).toBe('CLOSED')
    expect(p.stack.connections()).toEqual([])
  })

  it('is deleted silently by an ABORT: destroy(error) while the socket still holds it (9293 3.10.5)', async () => {
    const { p, socket, arcs } = await inTimeWait()
    socket.on('error', () => {})
    socket.destroy(new Error('gone'))
    await settle()
    p.expectNothing()
    expect(arcs().at(-1)).toBe('TIME-WAIT -> CLOSED (ABORT)')
    expect(socket.state).toBe('CLOSED')
    expect(p.stack.connections()).toEqual([])
  })

  it('stops its timer on Stack.shutdown and stays listed', async () => {
    const { p } = await inTimeWait()
    await p.stack.shutdown(100)
    expect(p.stack.connections()).toMatchObject([{ state: 'TIME-WAIT', timer: null }])
  })
})

describe('the compact TIME-WAIT entry with timestamps (RFC 7323, RFC 6191)', () => {
  it('stays in TIME-WAIT when the listener is full: a new SYN it cannot take ends nothing (Server.maxConnections)', async () => {
    const { p } = await inTimeWait()
    for (const server of (p.stack as unknown as { servers: Set<{ maxConnections: number }> }).servers) server.maxConnections = 0
    await p.send('S', { seq: 1000, options: { mss: 1460 } })
    p.expectNothing()
    expect(p.stack.counters.drops['tcp-listener-full']).toBe(1)
    expect(p.stack.connectionsByState()).toEqual({ 'TIME-WAIT': 1 })
  })

  /** As inTimeWait, with TSopt on every segment: the peer's TSvals are 5000, 5001, 5002. */
  async function inTimeWaitWithTimestamps() {
    const p = new PacketPeer()
    let socket: Socket | undefined
    p.stack.createServer({ allowHalfOpen: true }, s => { socket = s }).listen(80)
    await settle()
    await p.send('S', { seq: 0, options: { mss: 1460, ...ts(5000, 0) } })
    const synAck = p.expect('S.', { seq: 0, ack: 1 })
    expect(synAck.options.timestamp).toBeDefined()
    await p.send('.', { seq: 1, ack: 1, options: ts(5001, synAck.options.timestamp!.value) })
    socket!.end()
    await settle()
    const fin = p.expect('F.', { seq: 1, ack: 1 })
    await p.send('F.', { seq: 1, ack: 2, options: ts(5002, fin.options.timestamp!.value) })
    const ack = p.expect('.', { seq: 2, ack: 2 })
    expect(ack.options.timestamp?.echo).toBe(5002)
    expect(p.stack.connectionsByState()).toEqual({ 'TIME-WAIT': 1 })
    return { p, ourTsVal: ack.options.timestamp!.value }
  }

  it('ACKs a retransmitted FIN with TSopt: our clock-based TSval and TS.Recent echoed (RFC 7323 3.2)', async () => {
    const { p, ourTsVal } = await inTimeWaitWithTimestamps()
    await p.run(1_000)
    await p.send('F.', { seq: 1, ack: 2, options: ts(5003, ourTsVal) })
    const ack = p.expect('.', { seq: 2, ack: 2 })
    expect(ack.options.timestamp).toEqual({ value: (ourTsVal + 1_000) >>> 0, echo: 5002 })
  })

  it('reopens on a SYN with a newer timestamp even below RCV.NXT (RFC 6191 2)', async () => {
    const { p } = await inTimeWaitWithTimestamps()
    await p.send('S', { seq: 1, options: { mss: 1460, ...ts(6000, 0) } })
    p.expect('S.', { seq: 2 + 65_537, ack: 2 })
    expect(p.stack.connectionsByState()).toEqual({ 'SYN-RECEIVED': 1 })
  })

  it('does not reopen on a SYN whose timestamp is older, even above RCV.NXT: it is ACKed (RFC 6191 2)', async () => {
    const { p } = await inTimeWaitWithTimestamps()
    await p.send('S', { seq: 100, options: { mss: 1460, ...ts(5001, 0) } })
    p.expect('.', { seq: 2, ack: 2 })
    expect(p.stack.connectionsByState()).toEqual({ 'TIME-WAIT': 1 })
  })

  it('reopens on a SYN whose timestamp equals TS.Recent when its sequence number is above RCV.NXT (RFC 6191 2)', async () => {
    const { p } = await inTimeWaitWithTimestamps()
    await p.send('S', { seq: 100, options: { mss: 1460, ...ts(5002, 0) } })
    p.expect('S.', { seq: 2 + 65_537, ack: 101 })
    expect(p.stack.connectionsByState()).toEqual({ 'SYN-RECEIVED': 1 })
  })

  it('does not reopen on a SYN whose timestamp equals TS.Recent at or below RCV.NXT (RFC 6191 2)', async () => {
    const { p } = await inTimeWaitWithTimestamps()
    await p.send('S', { seq: 2, options: { mss: 1460, ...ts(5002, 0) } })
    p.expect('.', { seq: 2, ack: 2 })
    expect(p.stack.connectionsByState()).toEqual({ 'TIME-WAIT': 1 })
  })

  it('falls back to the sequence number for a SYN without timestamps (RFC 6191 2)', async () => {
    const { p } = await inTimeWaitWithTimestamps()
    await p.send('S', { seq: 100, options: { mss: 1460 } })
    p.expect('S.', { seq: 2 + 65_537, ack: 101 })
  })
})
