// The members a node:net user reaches for, on our Socket and Server, with net's
// arguments and net's semantics (Node 20's lib/net.js and its documentation),
// between two stacks in virtual time.
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Socket } from '../../../src/stack/socket/socket'
import { TcpError } from '../../../src/stack/tcp/tcb'
import { B, collect, errorsOf, segmentsOut, twoStacks } from '../../helpers/two-stacks'
import { runFor, runUntil, settle } from '../../helpers/virtual-time'

type NetError = Error & { code?: string; errno?: number; syscall?: string; address?: string; port?: number }

/** Every error a socket or server emits, whole (errorsOf gives the codes). */
function netErrors(emitter: { on(event: 'error', listener: (e: Error) => void): unknown }): NetError[] {
  const errors: NetError[] = []
  emitter.on('error', e => errors.push(e as NetError))
  return errors
}

/** An echo server on B:7 and a client from A, connected. */
async function echoPair() {
  const net = twoStacks()
  const accepted: Socket[] = []
  const server = net.b.createServer(s => { accepted.push(s); s.pipe(s) }).listen(7)
  const client = net.a.connect(7, B)
  await runFor(net.clock, 10)
  expect(accepted).toHaveLength(1)
  return { net, server, client, peer: accepted[0]! }
}

describe("stack.connect with net.connect's arguments", () => {
  it('connect(port, host, listener) connects and calls the listener on connect', async () => {
    const net = twoStacks()
    net.b.createServer(() => undefined).listen(7)
    let connected = false
    const client = net.a.connect(7, B, () => { connected = true })
    await runFor(net.clock, 10)
    expect(connected).toBe(true)
    expect(client.remoteAddress).toBe(B)
    expect(client.remotePort).toBe(7)
  })

  it('connect(options, listener) and a port given as a string of digits connect too', async () => {
    const net = twoStacks()
    net.b.createServer(() => undefined).listen(7)
    const events: string[] = []
    net.a.connect({ port: 7, host: B }, () => events.push('options'))
    net.a.connect('7', B, () => events.push('string port'))
    await runFor(net.clock, 10)
    expect(events.sort()).toEqual(['options', 'string port'])
  })

  it('throws for a missing host, a name, or a bad port (ERR_SOCKET_BAD_PORT), and leaves no connection behind', () => {
    const net = twoStacks()
    const connect = net.a.connect.bind(net.a) as (...args: unknown[]) => Socket
    expect(() => connect(7)).toThrow(TypeError) // net's default 'localhost' means nothing without a loopback
    expect(() => connect(7, 'example.com')).toThrow(/no name lookup/)
    for (const port of [0, 65536, -1, 1.5, 'x']) {
      expect(() => connect(port, B)).toThrow(expect.objectContaining({ name: 'RangeError', code: 'ERR_SOCKET_BAD_PORT' }))
    }
    expect(() => connect({ port: 7, host: B, timeout: -1 })).toThrow(RangeError)
    expect(() => connect({ port: 7, host: B, congestionControl: 'vegas' as 'cubic' })).toThrow(RangeError)
    expect(net.a.connections()).toEqual([])
  })

  it("options.timeout is set before the SYN: a connect that gets no answer emits 'timeout' and stays open", async () => {
    const net = twoStacks()
    net.linkB.onSend = () => false // B's answers are lost
    net.b.createServer(() => undefined).listen(7)
    const client = net.a.connect({ port: 7, host: B, timeout: 1500, noDelay: true, keepAlive: true })
    expect(client.timeout).toBe(1500)
    let timedOut = -1
    client.on('timeout', () => { timedOut = net.clock.now() })
    const start = net.clock.now()
    await runFor(net.clock, 2000)
    expect(timedOut - start).toBe(1500)
    expect(client.state).toBe('SYN-SENT')
    expect(client.destroyed).toBe(false)
  })
})

describe("Server.listen with net's arguments", () => {
  it('listen(0) takes an ephemeral port, which address().port names and a client reaches', async () => {
    const net = twoStacks()
    const server = net.b.createServer(s => s.end('hi')).listen(0)
    const port = server.address()!.port
    expect(port).toBeGreaterThanOrEqual(32768) // Linux's ip_local_port_range
    expect(port).toBeLessThanOrEqual(60999)
    const got = collect(net.a.connect(port, B))
    await runFor(net.clock, 10)
    expect(got.data().toString()).toBe('hi')
  })

  it('listen() and listen(callback) take an ephemeral port too', async () => {
    const net = twoStacks()
    let called = false
    const first = net.b.createServer().listen()
    const second = net.b.createServer().listen(() => { called = true })
    await settle()
    expect(called).toBe(true)
    expect(first.address()!.port).toBeGreaterThanOrEqual(32768)
    expect(second.address()!.port).not.toBe(first.address()!.port)
  })

  it("listen(0) does not take a port a connection uses locally (as Linux's inet_csk_get_port)", async () => {
    const net = twoStacks({ random: { nextUint32: () => 0 } }) // every search starts at 32768
    net.b.createServer(() => undefined).listen(7)
    const client = net.a.connect(7, B)
    expect(client.localPort).toBe(32768)
    expect(net.a.createServer().listen(0).address()!.port).toBe(32769)
  })

  it('listen(port, host, callback), listen(port, host, backlog, callback) and listen({ port, host }, callback) call back on listening', async () => {
    const net = twoStacks()
    const called: string[] = []
    net.b.createServer().listen(7, B, () => called.push('port, host'))
    net.b.createServer().listen(9, '0.0.0.0', 511, () => called.push('port, any host, backlog'))
    net.b.createServer().listen({ port: 13, host: '::' }, () => called.push('options'))
    net.b.createServer().listen(19, () => called.push('port'))
    expect(called).toEqual([]) // 'listening' comes on the next tick, as net's
    await settle()
    expect(called).toEqual(['port, host', 'port, any host, backlog', 'options', 'port'])
    expect(net.b.connections()).toEqual([])
  })

  it("a host that is not the stack's gives an EADDRNOTAVAIL 'error' as net's, and nothing listens", async () => {
    const net = twoStacks()
    const server = net.b.createServer()
    const errors = netErrors(server)
    let listening = false
    server.listen(7, '10.0.0.9', () => { listening = true })
    expect(server.listening).toBe(false)
    await settle()
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({
      message: 'listen EADDRNOTAVAIL: address not available 10.0.0.9:7',
      code: 'EADDRNOTAVAIL', errno: -99, syscall: 'listen', address: '10.0.0.9', port: 7,
    })
    expect(listening).toBe(false)
    const refused = errorsOf(net.a.connect(7, B))
    await runFor(net.clock, 10)
    expect(refused).toEqual(['ECONNREFUSED'])
  })

  it('EADDRINUSE names the address and port, with syscall listen', async () => {
    const net = twoStacks()
    net.b.createServer().listen(80)
    const second = net.b.createServer()
    const errors = netErrors(second)
    second.listen(80)
    await settle()
    expect(errors[0]).toMatchObject({
      message: `listen EADDRINUSE: address already in use ${B}:80`, code: 'EADDRINUSE', errno: -98, syscall: 'listen', address: B, port: 80,
    })
  })

  it('bad arguments throw before anything takes effect: no port listening, no callback kept', async () => {
    const net = twoStacks()
    const server = net.b.createServer()
    const listen = server.listen.bind(server) as (...args: unknown[]) => unknown
    for (const port of [65536, -1, 1.5, 'x']) {
      expect(() => listen(port, B, () => undefined)).toThrow(expect.objectContaining({ name: 'RangeError', code: 'ERR_SOCKET_BAD_PORT' }))
    }
    expect(server.listening).toBe(false)
    expect(server.listenerCount('listening')).toBe(0)
    server.listen(7)
    expect(() => server.listen(9, () => undefined)).toThrow(expect.objectContaining({ code: 'ERR_SERVER_ALREADY_LISTEN' }))
    expect(server.address()!.port).toBe(7)
    expect(server.listenerCount('listening')).toBe(0)
    const refused = errorsOf(net.a.connect(9, B))
    await runFor(net.clock, 10)
    expect(refused).toEqual(['ECONNREFUSED'])
  })
})

describe('Server members', () => {
  it('listening and address() follow listen() and close()', async () => {
    const net = twoStacks()
    const server = net.b.createServer()
    expect(server.listening).toBe(false)
    expect(server.address()).toBeNull()
    server.listen(7)
    expect(server.listening).toBe(true)
    expect(server.address()).toEqual({ address: B, port: 7, family: 'IPv4' })
    server.close()
    expect(server.listening).toBe(false)
    expect(server.address()).toBeNull()
  })

  it('getConnections calls back on the next tick with (null, the number of open connections)', async () => {
    const { net, server, client } = await echoPair()
    const counts: number[] = []
    expect(server.getConnections((error, n) => { expect(error).toBeNull(); counts.push(n) })).toBe(server)
    expect(counts).toEqual([]) // asynchronous, as net's
    await settle()
    expect(counts).toEqual([1])
    client.end()
    await runFor(net.clock, 100)
    server.getConnections((_error, n) => counts.push(n))
    await settle()
    expect(counts).toEqual([1, 0])
  })

  // What keeps a process alive is seen only from outside it: each case runs as its own node
  // process, whose unref'd timer prints 'alive' only if something else holds the loop.
  const program = (body: string) => `
    import { Stack } from './src/stack/stack.ts'
    import { linkPair } from './src/tun/memory-link.ts'
    import { ClockGroup } from './src/stack/time/clock-group.ts'
    const [la, lb] = linkPair()
    const realTime = !process.argv.includes('virtual')
    const time = new ClockGroup()
    const a = new Stack({ address: '10.0.0.1', link: la, clock: realTime ? undefined : time.clock() })
    const b = new Stack({ address: '10.0.0.2', link: lb, clock: realTime ? undefined : time.clock() })
    const later = (fn) => setTimeout(fn, 300).unref()
    ${body}`
  const run = (body: string, ...args: string[]) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program(body), '--', ...args],
      { cwd: resolve(import.meta.dirname, '../../..'), encoding: 'utf8', timeout: 20_000 })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    return { out: r.stdout.trim() }
  }

  it('on real time a listening server keeps the process alive, as net\'s, until close()', () => {
    expect(run(`const server = b.createServer().listen(7); later(() => { console.log('alive'); server.close() })`).out).toBe('alive')
  })

  it('an unref()d server does not', () => {
    expect(run(`b.createServer().listen(7).unref(); later(() => console.log('alive'))`).out).toBe('')
  })

  it('on real time an open socket keeps the process alive until it closes; unref() lets go', () => {
    const open = run(`b.createServer(s => s.pipe(s)).listen(7).unref()
      const sock = a.connect(7, '10.0.0.2', () => later(() => { console.log('alive'); sock.resume().end() }))`)
    expect(open.out).toBe('alive')
    const unrefd = run(`b.createServer(s => { s.unref(); s.pipe(s) }).listen(7).unref()
      const sock = a.connect(7, '10.0.0.2', () => { sock.unref(); later(() => console.log('alive')) })`)
    expect(unrefd.out).toBe('')
  })

  it('on virtual time nothing holds the loop: time moves only when the program moves it', () => {
    expect(run(`b.createServer().listen(7); a.connect(7, '10.0.0.2'); later(() => console.log('alive'))`, 'virtual').out).toBe('')
  })
})

describe('Socket members as net', () => {
  it('bytesRead and bytesWritten count an echo, bytes still buffered included', async () => {
    const { net, client, peer } = await echoPair()
    const got = collect(client)
    const big = Buffer.alloc(1 << 20, 7) // more than the send buffer: most of it waits in the stream
    client.write('hello')
    client.write(big)
    expect(client.bytesWritten).toBe(5 + big.length)
    await runUntil(net.clock, () => got.data().length === 5 + big.length)
    expect(client.bytesRead).toBe(5 + big.length)
    expect(peer.bytesRead).toBe(5 + big.length)
    expect(peer.bytesWritten).toBe(5 + big.length)
    client.end()
    await runFor(net.clock, 100)
    expect(client.destroyed).toBe(true)
    expect([client.bytesRead, client.bytesWritten]).toEqual([5 + big.length, 5 + big.length])
  })

  it("'close' carries net's hadError: true after an 'error', false after a clean close", async () => {
    const net = twoStacks()
    net.b.createServer(s => s.resume()).listen(7)
    const closes: boolean[] = []
    const refused = net.a.connect(9, B).on('error', () => undefined)
    refused.on('close', (hadError: boolean) => closes.push(hadError))
    const clean = net.a.connect(7, B).resume()
    clean.on('close', (hadError: boolean) => closes.push(hadError))
    await runFor(net.clock, 10)
    clean.end()
    await runFor(net.clock, 100)
    expect(closes).toEqual([true, false])
  })

  it('pending is true while connecting and after closing, false while connected', async () => {
    const net = twoStacks()
    net.b.createServer(s => s.resume().on('error', () => undefined)).listen(7)
    const client = net.a.connect(7, B)
    expect(client.pending).toBe(true)
    await runFor(net.clock, 10)
    expect(client.pending).toBe(false)
    client.destroy()
    expect(client.pending).toBe(true) // net: !this._handle || this.connecting
  })

  it('localFamily and remoteFamily are IPv4', async () => {
    const { client, peer } = await echoPair()
    expect([client.localFamily, client.remoteFamily, peer.localFamily, peer.remoteFamily]).toEqual(['IPv4', 'IPv4', 'IPv4', 'IPv4'])
  })

  it('readyState goes opening, open, readOnly after end(), closed', async () => {
    const net = twoStacks()
    net.b.createServer({ allowHalfOpen: true }, s => s.resume()).listen(7)
    const client = net.a.connect({ port: 7, host: B, allowHalfOpen: true })
    client.resume()
    expect(client.readyState).toBe('opening')
    await runFor(net.clock, 10)
    expect(client.readyState).toBe('open')
    client.end()
    expect(client.readyState).toBe('readOnly')
    client.destroy()
    expect(client.readyState).toBe('closed')
  })

  it('readyState is closed, not opening, after a refused connect', async () => {
    const net = twoStacks()
    const client = net.a.connect(7, B)
    client.on('error', () => undefined)
    await runFor(net.clock, 10)
    expect([client.connecting, client.readyState]).toEqual([false, 'closed'])
  })

  it('timeout is undefined until setTimeout(), then the ms given; setTimeout(0, callback) removes that callback', async () => {
    const { net, client } = await echoPair()
    expect(client.timeout).toBeUndefined()
    const fired: string[] = []
    const callback = () => fired.push('callback')
    client.on('timeout', () => fired.push('event'))
    client.setTimeout(1000, callback)
    expect(client.timeout).toBe(1000)
    client.setTimeout(0, callback)
    expect(client.timeout).toBe(0)
    client.setTimeout(500)
    await runFor(net.clock, 600)
    expect(fired).toEqual(['event'])
    expect(client.state).toBe('ESTABLISHED') // 'timeout' does not close
  })

  it('setTimeout rejects a negative or non-number time, as net does', async () => {
    const { client } = await echoPair()
    expect(() => client.setTimeout(-1)).toThrow(expect.objectContaining({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }))
    expect(() => client.setTimeout('1' as unknown as number)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }))
    expect(client.timeout).toBeUndefined()
  })

  it('destroySoon() sends what is written, then a FIN, and destroys without RST', async () => {
    const net = twoStacks()
    const peers: Socket[] = []
    net.b.createServer({ allowHalfOpen: true }, s => peers.push(s)).listen(7)
    const client = net.a.connect(7, B)
    await runFor(net.clock, 10)
    const got = collect(peers[0]!)
    const aOut = segmentsOut(net.a)
    client.write('last words')
    client.destroySoon()
    expect(client.destroyed).toBe(false)
    await runFor(net.clock, 100)
    expect(client.destroyed).toBe(true)
    expect(got.data().toString()).toBe('last words')
    expect(got.ended()).toBe(true)
    expect(aOut.filter(f => f.includes('R'))).toEqual([])
    expect(client.state).toBe('FIN-WAIT-2') // the orphaned TCB finishes the close on its own
  })

  it('resetAndDestroy() sends RST and closes without an error; the peer gets ECONNRESET', async () => {
    const { net, client, peer } = await echoPair()
    const clientErrors = errorsOf(client)
    const peerErrors = errorsOf(peer)
    const aOut = segmentsOut(net.a)
    let hadError: boolean | undefined
    client.on('close', (e: boolean) => { hadError = e })
    expect(client.resetAndDestroy()).toBe(client)
    await runFor(net.clock, 10)
    expect(aOut).toEqual(['R'])
    expect(clientErrors).toEqual([])
    expect(hadError).toBe(false)
    expect(peerErrors).toEqual(['ECONNRESET'])
    expect(net.a.connections()).toEqual([])
  })

  it('resetAndDestroy() resets even where destroy() would close cleanly (closeOnDestroy, FIN queued)', async () => {
    const net = twoStacks()
    const peers: Socket[] = []
    net.b.createServer({ closeOnDestroy: true }, s => { peers.push(s); s.resume() }).listen(7)
    const client = net.a.connect(7, B)
    const clientErrors = errorsOf(client)
    await runFor(net.clock, 10)
    const bOut = segmentsOut(net.b)
    peers[0]!.resetAndDestroy()
    await runFor(net.clock, 10)
    expect(bOut).toEqual(['R'])
    expect(clientErrors).toEqual(['ECONNRESET'])
  })

  it('resetAndDestroy() while connecting sends the RST once the connection is up, as net waits for connect', async () => {
    const net = twoStacks()
    const peerErrors: string[] = []
    net.b.createServer(s => s.on('error', e => peerErrors.push((e as NetError).code!))).listen(7)
    const aOut = segmentsOut(net.a)
    const client = net.a.connect(7, B)
    client.resetAndDestroy()
    expect(client.destroyed).toBe(false)
    await runFor(net.clock, 10)
    expect(aOut).toEqual(['S', '.', 'R']) // the handshake, then the reset
    expect(client.destroyed).toBe(true)
    expect(peerErrors).toEqual(['ECONNRESET'])
  })

  it('resetAndDestroy() on a socket already closed sends nothing and emits nothing more, as net', async () => {
    const net = twoStacks()
    const client = net.a.connect(7, B) // nothing listens: refused
    const errors = errorsOf(client)
    await runFor(net.clock, 10)
    const aOut = segmentsOut(net.a)
    expect(client.resetAndDestroy()).toBe(client)
    await runFor(net.clock, 10)
    expect(errors).toEqual(['ECONNREFUSED'])
    expect(aOut).toEqual([])
  })
})

describe('errors name the other end, as net', () => {
  it('a refused connect is "connect ECONNREFUSED <peer>:<port>", with syscall, errno, address and port of the peer', async () => {
    const net = twoStacks()
    const client = net.a.connect(7, B)
    const errors = netErrors(client)
    await runFor(net.clock, 10)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(TcpError)
    expect(errors[0]).toMatchObject({ message: `connect ECONNREFUSED ${B}:7`, code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: B, port: 7 })
    expect(errors[0]!.cause).toBeInstanceOf(TcpError) // the TCB's own error, with both ends
  })

  it('a connect that times out is "connect ETIMEDOUT <peer>:<port>"', async () => {
    const net = twoStacks({ tcp: { synRetries: 1 } })
    net.linkA.onSend = () => false // every SYN is lost
    const errors = netErrors(net.a.connect(80, B))
    await runUntil(net.clock, () => errors.length > 0, 60_000)
    expect(errors[0]).toMatchObject({ message: `connect ETIMEDOUT ${B}:80`, code: 'ETIMEDOUT', errno: -110, syscall: 'connect', address: B, port: 80 })
  })

  it('a reset of an open connection is "read ECONNRESET", without an address (as net)', async () => {
    const { net, client, peer } = await echoPair()
    const errors = netErrors(client)
    peer.destroy()
    await runFor(net.clock, 10)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ message: 'read ECONNRESET', code: 'ECONNRESET', errno: -104, syscall: 'read' })
    expect(errors[0]!.address).toBeUndefined()
  })

  it('an open connection whose data goes unacknowledged is "read ETIMEDOUT"', async () => {
    const net = twoStacks({ tcp: { dataRetries: 2 } })
    net.b.createServer(s => s.resume()).listen(7)
    const client = net.a.connect(7, B)
    await runFor(net.clock, 10)
    const errors = netErrors(client)
    net.linkA.onSend = () => false
    client.write('into the void')
    await runUntil(net.clock, () => errors.length > 0, 600_000)
    expect(errors[0]).toMatchObject({ message: 'read ETIMEDOUT', code: 'ETIMEDOUT', syscall: 'read' })
  })
})
