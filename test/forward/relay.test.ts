// The forwarder's relay in virtual time (test/forward/world.ts): a client connects to an
// address nobody on its link owns, the forwarder connects upstream first and answers as
// upstream answered, then splices the two: data and half-close pass both ways, a refusal
// or a reset upstream reaches the client, and the limits refuse what is beyond them.

import { describe, expect, it } from 'vitest'
import type { Socket } from '../../src/stack/socket/socket'
import type { Upstream } from '../../src/forward/upstream'
import { socksCode } from '../../src/forward/socks'
import { collect, errorsOf } from '../helpers/two-stacks'
import { runFor, runUntil } from '../helpers/virtual-time'
import { outsideLoopback } from '../../src/forward/upstream'
import { SERVER, SERVER6, world } from './world'

/** The server's side of "count what you got, after the FIN say so": half-close made visible. */
function countAfterEnd(socket: Socket): void {
  let n = 0
  socket.on('data', (c: Buffer) => { n += c.length })
  socket.on('end', () => socket.end(`got ${n}`))
}

describe('the TCP relay', () => {
  it('connects upstream before the handshake, then carries data and the client\'s FIN on while the reply still comes back (half-close)', async () => {
    const w = world()
    const order: string[] = []
    w.server.createServer({ allowHalfOpen: true }, socket => {
      order.push('upstream accepted')
      countAfterEnd(socket)
    }).listen(7)
    w.forwarding.on('state', ({ to }: { to: string }) => { if (to === 'SYN-RECEIVED') order.push('client SYN,ACK') })
    const sock = w.client.connect({ host: SERVER, port: 7, allowHalfOpen: true })
    const got = collect(sock)
    sock.end('hello')
    await runUntil(w.clock, () => got.ended())
    expect(got.data().toString()).toBe('got 5')
    expect(order).toEqual(['upstream accepted', 'client SYN,ACK'])
    expect(sock.remoteAddress).toBe(SERVER)
    expect(w.forwarder.counters().tcp.forwarded).toBe(1)
    await runUntil(w.clock, () => w.forwarder.tcp.size === 0)
  })

  it('the upstream\'s FIN reaches the client alone: the client may still send after it', async () => {
    const w = world()
    let received = ''
    w.server.createServer({ allowHalfOpen: true }, socket => {
      socket.end('bye first')
      socket.on('data', (c: Buffer) => { received += c.toString() })
    }).listen(13)
    const sock = w.client.connect({ host: SERVER, port: 13, allowHalfOpen: true })
    const got = collect(sock)
    await runUntil(w.clock, () => got.ended())
    expect(got.data().toString()).toBe('bye first')
    sock.end('still here')
    await runUntil(w.clock, () => received === 'still here')
  })

  it('lists each forwarded connection with both ends: client to destination, and the upstream socket', async () => {
    const w = world()
    w.server.createServer(socket => socket.on('error', () => {})).listen(80)
    const sock = w.client.connect(80, SERVER)
    await runUntil(w.clock, () => w.forwarder.connections()[0]?.phase === 'open')
    const [row] = w.forwarder.connections()
    expect(row!.client).toEqual({ address: '10.0.0.1', port: sock.localPort })
    expect(row!.destination).toEqual({ address: SERVER, port: 80 })
    expect(row!.upstreamLocal!.address).toBe('203.0.113.1')
    expect(row!.upstreamRemote).toEqual({ address: SERVER, port: 80 })
    sock.destroy()
  })

  it('an upstream that refuses is a RST to the client: its connect fails with ECONNREFUSED', async () => {
    const w = world()
    const sock = w.client.connect(25, SERVER)
    const errors = errorsOf(sock)
    await runUntil(w.clock, () => errors.length > 0)
    expect(errors).toEqual(['ECONNREFUSED'])
    expect(w.forwarder.counters().tcp.upstreamFailed).toEqual({ ECONNREFUSED: 1 })
    expect(w.forwarder.tcp.size).toBe(0)
  })

  it('an upstream that never answers is a RST after connectTimeoutMs', async () => {
    const silent: Upstream = {
      name: 'silent',
      connect: (_h, _p, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(Object.assign(new Error('late'), { code: 'ETIMEDOUT' })))),
      openDatagrams: () => null,
    }
    const w = world({ connectTimeoutMs: 3000 }, {}, () => silent)
    const sock = w.client.connect(80, SERVER)
    const errors = errorsOf(sock)
    await runFor(w.clock, 2900)
    expect(errors).toEqual([])
    await runUntil(w.clock, () => errors.length > 0)
    expect(errors).toEqual(['ECONNREFUSED'])
    expect(w.forwarder.counters().tcp.upstreamFailed).toEqual({ ETIMEDOUT: 1 })
  })

  it('a reset upstream resets the client, and a reset client resets upstream', async () => {
    const w = world()
    const serverSockets: Socket[] = []
    w.server.createServer(socket => { serverSockets.push(socket); socket.on('error', () => {}) }).listen(80)
    const a = w.client.connect(80, SERVER)
    const b = w.client.connect(80, SERVER)
    const errorsA = errorsOf(a)
    const errorsB = errorsOf(b)
    await runUntil(w.clock, () => serverSockets.length === 2 && w.forwarder.connections().every(c => c.phase === 'open'))
    serverSockets[0]!.resetAndDestroy()
    await runUntil(w.clock, () => errorsA.length > 0)
    expect(errorsA).toEqual(['ECONNRESET'])
    const upstreamErrors = errorsOf(serverSockets[1]!)
    b.resetAndDestroy()
    await runUntil(w.clock, () => upstreamErrors.length > 0)
    expect(upstreamErrors).toEqual(['ECONNRESET'])
    expect(errorsB).toEqual([])
    await runUntil(w.clock, () => w.forwarder.tcp.size === 0)
  })

  it('beyond maxConnections a SYN is refused at once, and taken again once one closes', async () => {
    const w = world({ maxConnections: 2 })
    w.server.createServer(socket => socket.on('error', () => {})).listen(80)
    const open = [w.client.connect(80, SERVER), w.client.connect(80, SERVER)]
    await runUntil(w.clock, () => open.every(s => s.state === 'ESTABLISHED'))
    const third = w.client.connect(80, SERVER)
    const errors = errorsOf(third)
    await runUntil(w.clock, () => errors.length > 0)
    expect(errors).toEqual(['ECONNREFUSED'])
    expect(w.forwarder.counters().tcp.refusedFull).toBe(1)
    open[0]!.destroy()
    await runUntil(w.clock, () => w.forwarder.tcp.size === 1)
    const fourth = w.client.connect(80, SERVER)
    await runUntil(w.clock, () => fourth.state === 'ESTABLISHED')
  })

  it('a large transfer goes through whole with backpressure on both sides (1 MiB each way)', async () => {
    const w = world()
    const big = Buffer.alloc(1 << 20, 'x')
    w.server.createServer({ allowHalfOpen: true }, socket => {
      socket.on('data', () => {})
      socket.on('end', () => socket.end(big))
    }).listen(80)
    const sock = w.client.connect({ host: SERVER, port: 80, allowHalfOpen: true })
    const got = collect(sock)
    sock.end(big)
    await runUntil(w.clock, () => got.ended())
    expect(got.data().length).toBe(big.length)
  })
})

describe('the UDP relay', () => {
  it('a datagram to any address goes upstream, and the reply comes back from the address meant', async () => {
    const w = world({}, { udp: { flowIdleTimeoutMs: 30_000 } })
    const echo = w.server.createSocket('udp4', (msg, rinfo) => echo.send(msg, rinfo.port, rinfo.address))
    echo.bind(53)
    const sock = w.client.createSocket('udp4')
    const replies: string[] = []
    sock.on('message', (msg, rinfo) => replies.push(`${rinfo.address}:${rinfo.port} ${msg.toString()}`))
    sock.send('ask', 53, SERVER)
    await runUntil(w.clock, () => replies.length === 1)
    expect(replies).toEqual([`${SERVER}:53 ask`])
    expect(w.forwarder.flows()[0]).toMatchObject({ destination: { address: SERVER, port: 53 }, datagramsUp: 1, datagramsDown: 1 })
    // Idle for the stack's flow timeout: the flow, and its upstream socket, close.
    await runFor(w.clock, 31_000)
    expect(w.forwarder.udp.size).toBe(0)
    sock.close()
    echo.close()
  })

  it('beyond maxFlows a new flow gets ICMP port unreachable (ECONNREFUSED on a connected socket)', async () => {
    const w = world({ maxFlows: 1 })
    const sink = w.server.createSocket('udp4')
    sink.bind(9)
    const first = w.client.createSocket('udp4')
    first.send('one', 9, SERVER)
    await runUntil(w.clock, () => w.forwarder.udp.size === 1)
    const second = w.client.createSocket('udp4')
    const errors: string[] = []
    second.on('error', e => errors.push((e as NodeJS.ErrnoException).code!))
    second.connect(9, SERVER, () => second.send('two'))
    await runUntil(w.clock, () => errors.length > 0)
    expect(errors).toEqual(['ECONNREFUSED'])
    expect(w.forwarder.counters().udp.refusedFull).toBe(1)
    for (const s of [first, second, sink]) s.close()
  })

  it('an upstream that carries no UDP refuses every flow', async () => {
    const none: Upstream = { name: 'tcp only', connect: () => Promise.reject(new Error('no')), openDatagrams: () => null }
    const w = world({}, {}, () => none)
    const sock = w.client.createSocket('udp4')
    const errors: string[] = []
    sock.on('error', e => errors.push((e as NodeJS.ErrnoException).code!))
    sock.connect(53, SERVER, () => sock.send('?'))
    await runUntil(w.clock, () => errors.length > 0)
    expect(errors).toEqual(['ECONNREFUSED'])
    expect(w.forwarder.counters().udp.refusedUpstream).toBe(1)
    sock.close()
  })
})

describe('closing the forwarder', () => {
  it('refuses new SYNs and sends a FIN on every upstream connection', async () => {
    const w = world()
    const upstreamClosed: boolean[] = []
    w.server.createServer({ allowHalfOpen: true }, socket => {
      socket.on('data', () => {})
      socket.on('end', () => { upstreamClosed.push(true); socket.end() })
    }).listen(80)
    const sock = w.client.connect(80, SERVER)
    sock.on('error', () => {})
    await runUntil(w.clock, () => w.forwarder.connections()[0]?.phase === 'open')
    w.forwarder.close()
    await runUntil(w.clock, () => upstreamClosed.length === 1)
    const late = w.client.connect(80, SERVER)
    const errors = errorsOf(late)
    await runUntil(w.clock, () => errors.length > 0)
    expect(errors).toEqual(['ECONNREFUSED'])
    sock.destroy()
  })
})

describe('the forwarder\'s own loopback', () => {
  it('a SYN or a datagram to 127.0.0.0/8 or 0.0.0.0/8 (which no kernel sends on a link: crafted) is refused, never connected', async () => {
    const w = world()
    const tcp = w.client.connect(22, '127.0.0.1')
    const errors = errorsOf(tcp)
    await runUntil(w.clock, () => errors.length > 0)
    expect(errors).toEqual(['ECONNREFUSED'])
    const udp = w.client.createSocket('udp4')
    const udpErrors: string[] = []
    udp.on('error', e => udpErrors.push((e as NodeJS.ErrnoException).code!))
    udp.connect(53, '0.1.2.3', () => udp.send('?'))
    await runUntil(w.clock, () => udpErrors.length > 0)
    expect(udpErrors).toEqual(['ECONNREFUSED'])
    expect(w.forwarder.counters().tcp.refusedLoopback).toBe(1)
    expect(w.forwarder.counters().udp.refusedLoopback).toBe(1)
    expect(w.out.connections()).toEqual([])
    udp.close()
  })
})

describe('over IPv6', () => {
  it('a connection to any IPv6 address is connected upstream over IPv6, carried both ways with half-close, beside an IPv4 one', async () => {
    const w = world()
    w.server.createServer({ allowHalfOpen: true }, countAfterEnd).listen(7)
    const six = w.client.connect({ host: SERVER6, port: 7, allowHalfOpen: true })
    const four = w.client.connect({ host: SERVER, port: 7, allowHalfOpen: true })
    const got6 = collect(six)
    const got4 = collect(four)
    six.end('hello six')
    four.end('four')
    await runUntil(w.clock, () => got6.ended() && got4.ended())
    expect(got6.data().toString()).toBe('got 9')
    expect(got4.data().toString()).toBe('got 4')
    expect(six.remoteAddress).toBe(SERVER6)
    expect(six.remoteFamily).toBe('IPv6')
    expect(w.forwarder.counters().tcp.forwarded).toBe(2)
  })

  it('lists the IPv6 connection with both ends, the upstream socket\'s of IPv6 too', async () => {
    const w = world()
    w.server.createServer(socket => socket.on('error', () => {})).listen(80)
    const sock = w.client.connect(80, SERVER6)
    await runUntil(w.clock, () => w.forwarder.connections()[0]?.phase === 'open')
    const [row] = w.forwarder.connections()
    expect(row!.client).toEqual({ address: 'fd00::100', port: sock.localPort })
    expect(row!.destination).toEqual({ address: SERVER6, port: 80 })
    expect(row!.upstreamLocal!.address).toBe('2001:db8:1::1')
    expect(row!.upstreamRemote).toEqual({ address: SERVER6, port: 80 })
    sock.destroy()
  })

  it('an IPv6 upstream that refuses is a RST to the client (ECONNREFUSED)', async () => {
    const w = world()
    const sock = w.client.connect(25, SERVER6)
    const errors = errorsOf(sock)
    await runUntil(w.clock, () => errors.length > 0)
    expect(errors).toEqual(['ECONNREFUSED'])
    expect(w.forwarder.counters().tcp.upstreamFailed).toEqual({ ECONNREFUSED: 1 })
  })

  it('a SYN to ::1 or to IPv4-mapped loopback is refused, never connected', async () => {
    const w = world()
    const errors = [errorsOf(w.client.connect(22, '::1')), errorsOf(w.client.connect(22, '::ffff:127.0.0.1'))]
    await runUntil(w.clock, () => errors.every(e => e.length > 0))
    expect(errors).toEqual([['ECONNREFUSED'], ['ECONNREFUSED']])
    expect(w.forwarder.counters().tcp.refusedLoopback).toBe(2)
    expect(w.out.connections()).toEqual([])
  })

  it('a UDP flow to an IPv6 address goes upstream on a udp6 socket, the reply from the address meant', async () => {
    const w = world()
    const echo = w.server.createSocket('udp6', (msg, rinfo) => echo.send(msg, rinfo.port, rinfo.address))
    echo.bind(53)
    const sock = w.client.createSocket('udp6')
    const replies: string[] = []
    sock.on('message', (msg, rinfo) => replies.push(`[${rinfo.address}]:${rinfo.port} ${rinfo.family} ${msg.toString()}`))
    sock.send('ask', 53, SERVER6)
    await runUntil(w.clock, () => replies.length === 1)
    expect(replies).toEqual([`[${SERVER6}]:53 IPv6 ask`])
    expect(w.forwarder.flows()[0]).toMatchObject({
      client: { address: 'fd00::100' }, destination: { address: SERVER6, port: 53 },
      upstreamRemote: { address: SERVER6, port: 53 }, datagramsUp: 1, datagramsDown: 1,
    })
    sock.close()
    echo.close()
  })

  it('beyond maxFlows an IPv6 flow gets ICMPv6 port unreachable (ECONNREFUSED on a connected socket); :: is refused too', async () => {
    const w = world({ maxFlows: 1 })
    const sink = w.server.createSocket('udp6')
    sink.bind(9)
    const first = w.client.createSocket('udp6')
    first.send('one', 9, SERVER6)
    await runUntil(w.clock, () => w.forwarder.udp.size === 1)
    const second = w.client.createSocket('udp6')
    const errors: string[] = []
    second.on('error', e => errors.push((e as NodeJS.ErrnoException).code!))
    second.connect(9, SERVER6, () => second.send('two'))
    await runUntil(w.clock, () => errors.length > 0)
    expect(errors).toEqual(['ECONNREFUSED'])
    expect(w.forwarder.counters().udp.refusedFull).toBe(1)
    first.close()
    await runUntil(w.clock, () => w.forwarder.udp.size === 0)
    const third = w.client.createSocket('udp6')
    const errorsThird: string[] = []
    third.on('error', e => errorsThird.push((e as NodeJS.ErrnoException).code!))
    third.connect(9, '::1', () => third.send('loop'))
    await runUntil(w.clock, () => errorsThird.length > 0)
    expect(errorsThird).toEqual(['ECONNREFUSED'])
    expect(w.forwarder.counters().udp.refusedLoopback).toBe(1)
    for (const s of [second, third, sink]) s.close()
  })
})

describe('which destinations are the forwarder\'s own loopback (outsideLoopback)', () => {
  it.each([
    ['10.1.2.3', true], ['127.0.0.1', false], ['127.255.0.9', false], ['0.0.0.0', false], ['0.1.2.3', false],
    ['2001:db8::1', true], ['fd00::2', true], ['::2', true], ['::1', false], ['::', false],
    ['::ffff:127.0.0.1', false], ['::ffff:0.0.0.0', false], ['::ffff:10.1.2.3', true],
  ])('%s: %s', (address, outside) => {
    expect(outsideLoopback(address)).toBe(outside)
  })
})

describe('the SOCKS5 upstream\'s errors', () => {
  it.each([
    ['connect ECONNREFUSED 127.0.0.1:1080', 'ECONNREFUSED'],
    ['Socks5 proxy rejected connection - ConnectionRefused', 'ECONNREFUSED'],
    ['Socks5 proxy rejected connection - HostUnreachable', 'EHOSTUNREACH'],
    ['Socks5 proxy rejected connection - NetworkUnreachable', 'ENETUNREACH'],
    ['Proxy connection timed out', 'ETIMEDOUT'],
    ['Socks5 proxy rejected connection - Failure', 'ECONNABORTED'],
  ])('%s is counted as %s', (message, code) => {
    expect(socksCode(message)).toBe(code)
  })
})

describe('an upstream that resets before the client\'s handshake completes', () => {
  it('is no unhandled error: the client gets a RST, and the forwarder goes on', async () => {
    const w = world()
    // The server resets each connection as soon as it is made, before the forwarder's SYN,ACK is answered.
    w.server.createServer(socket => socket.resetAndDestroy()).listen(80)
    w.server.createServer(socket => socket.end('fine')).listen(81)
    const sock = w.client.connect(80, SERVER)
    const errors = errorsOf(sock)
    await runUntil(w.clock, () => errors.length > 0)
    expect(['ECONNRESET', 'ECONNREFUSED']).toContain(errors[0])
    const next = w.client.connect(81, SERVER)
    const got = collect(next)
    await runUntil(w.clock, () => got.ended())
    expect(got.data().toString()).toBe('fine')
  })
})

describe('a UDP reply that comes after its flow closed', () => {
  it('is dropped, never thrown', async () => {
    let reply: ((message: Buffer) => void) | null = null
    const late: Upstream = {
      name: 'late',
      connect: () => Promise.reject(new Error('no')),
      openDatagrams: (_h, _p, onMessage) => {
        reply = onMessage
        return { send: () => {}, close: () => {}, local: () => null, remote: () => null }
      },
    }
    const w = world({}, { udp: { flowIdleTimeoutMs: 1000 } }, () => late)
    const sock = w.client.createSocket('udp4')
    sock.send('?', 53, SERVER)
    await runUntil(w.clock, () => w.forwarder.udp.size === 1)
    await runFor(w.clock, 2000)
    expect(w.forwarder.udp.size).toBe(0)
    expect(() => reply!(Buffer.from('too late'))).not.toThrow()
    sock.close()
  })
})
