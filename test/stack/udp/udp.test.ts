// UDP sockets (RFC 768, RFC 1122 4.1) between two stacks over an in-memory link, in
// virtual time: the dgram-shaped API, ephemeral ports, port unreachable for a closed
// port (RFC 1122 4.1.3.1) and what a connected socket makes of it, the bounded receive queue.
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Stack } from '../../../src/stack/stack'
import { VirtualClock } from '../../../src/stack/time/virtual-clock'
import type { UdpSocket } from '../../../src/stack/udp/socket'
import { ICMP_DEST_UNREACHABLE, parseIcmp } from '../../../src/stack/wire/icmp'
import { IPPROTO_ICMP, parseIPv4 } from '../../../src/stack/wire/ipv4'
import { buildUdpPacket, parseUdp } from '../../../src/stack/wire/udp'
import { MemoryLink } from '../../../src/tun/memory-link'
import { A, B, twoStacks, messages } from '../../helpers/two-stacks'
import { runFor, settle } from '../../helpers/virtual-time'

const A_ADDR = 0x0a000001
const B_ADDR = 0x0a000002


/** The codes of a socket's 'error's. */
function errors(socket: UdpSocket): Array<Error & { code?: string; syscall?: string }> {
  const seen: Array<Error & { code?: string; syscall?: string }> = []
  socket.on('error', e => seen.push(e))
  return seen
}

/** The ICMP messages a stack sends, decoded. */
function icmpOut(stack: Stack) {
  const out: Array<{ src: number; dst: number; type: number; code: number; quote: Uint8Array }> = []
  stack.on('packet', (dir: string, packet: Uint8Array) => {
    const ip = parseIPv4(packet)
    if (dir !== 'out' || !ip.ok || ip.value.header.protocol !== IPPROTO_ICMP) return
    const icmp = parseIcmp(ip.value.payload)
    if (icmp.ok) out.push({ src: ip.value.header.src, dst: ip.value.header.dst, type: icmp.value.type, code: icmp.value.code, quote: icmp.value.body.slice() })
  })
  return out
}

function noInternalErrors(...stacks: Stack[]) {
  const seen: unknown[] = []
  for (const s of stacks) s.on('internal-error', e => seen.push(e))
  return seen
}

describe('UDP sockets (dgram-shaped)', () => {
  it('echoes a datagram: bind, message with rinfo, send back to rinfo', async () => {
    const { a, b } = twoStacks()
    const internal = noInternalErrors(a, b)
    const echo = b.createSocket('udp4', (msg, rinfo) => echo.send(msg, rinfo.port, rinfo.address))
    const listening: string[] = []
    echo.bind(7, () => listening.push('listening'))
    const client = a.createSocket({ type: 'udp4' })
    const got = messages(client)
    const sent: Array<[Error | null, number | undefined]> = []
    client.send('hello over udp', 7, B, (err, bytes) => sent.push([err, bytes]))
    await settle()
    expect(listening).toEqual(['listening'])
    expect(sent).toEqual([[null, 14]])
    expect(got).toEqual([['hello over udp', { address: B, family: 'IPv4', port: 7, size: 14 }]])
    expect(echo.address()).toEqual({ address: '0.0.0.0', family: 'IPv4', port: 7 })
    expect(a.counters.udpDatagramsOut).toBe(1)
    expect(b.counters.udpDatagramsIn).toBe(1)
    client.close()
    echo.close()
    expect(internal).toEqual([])
  })

  it('binds an ephemeral port for bind(), bind(0) and a send() on an unbound socket (RFC 6056 range, as Linux)', async () => {
    const { a, b } = twoStacks()
    const server = b.createSocket('udp4')
    const got = messages(server)
    server.bind({ port: 5000, address: B })
    const x = a.createSocket('udp4').bind()
    const y = a.createSocket('udp4').bind(0, A)
    const z = a.createSocket('udp4')
    expect(() => z.address()).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'getsockname' }))
    z.send('implicit bind', 5000, B)
    await settle()
    const ports = [x, y, z].map(s => s.address().port)
    for (const port of ports) expect(port).toBeGreaterThanOrEqual(32768), expect(port).toBeLessThanOrEqual(60999)
    expect(new Set(ports).size).toBe(3)
    expect(y.address().address).toBe(A)
    expect(got.map(([text, r]) => [text, r.port])).toEqual([['implicit bind', ports[2]]])
  })

  it('refuses a port in use with EADDRINUSE, and an address not the stack\'s with EADDRNOTAVAIL, as bind(2)', async () => {
    const { b } = twoStacks()
    b.createSocket('udp4').bind(53)
    const again = b.createSocket('udp4')
    const specific = b.createSocket('udp4')
    const elsewhere = b.createSocket('udp4')
    const [e1, e2, e3] = [errors(again), errors(specific), errors(elsewhere)]
    again.bind(53)
    specific.bind(53, B) // 0.0.0.0:53 already covers B:53
    elsewhere.bind(53, '10.0.0.9')
    await settle()
    expect(e1).toEqual([expect.objectContaining({ code: 'EADDRINUSE', syscall: 'bind', address: '0.0.0.0', port: 53, message: 'bind EADDRINUSE 0.0.0.0:53' })])
    expect(e1[0]).toHaveProperty('errno', -98)
    expect(e2).toEqual([expect.objectContaining({ code: 'EADDRINUSE', address: B })])
    expect(e3).toEqual([expect.objectContaining({ code: 'EADDRNOTAVAIL', message: 'bind EADDRNOTAVAIL 10.0.0.9:53' })])
  })

  it('throws dgram\'s errors for misuse, before doing anything', async () => {
    const { a } = twoStacks()
    expect(() => a.createSocket('udp5' as 'udp4')).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_BAD_TYPE' }))
    expect(() => a.createSocket('udp6')).toThrow(/needs an IPv6 address: StackOptions.address6/) // this stack has none
    const s = a.createSocket('udp4')
    expect(() => s.bind(70000)).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_BAD_PORT' }))
    expect(() => s.send('x', 0, B)).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_BAD_PORT' }))
    expect(() => s.send('x', 7)).toThrow(/needs an address/)
    expect(() => s.send(42 as unknown as string, 7, B)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    expect(() => s.send(Buffer.from('abc'), 2, 5, 7, B)).toThrow(expect.objectContaining({ code: 'ERR_BUFFER_OUT_OF_BOUNDS' }))
    expect(() => s.remoteAddress()).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' }))
    expect(() => s.getRecvBufferSize()).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_BUFFER_SIZE' })) // not bound yet
    s.bind(4000)
    expect(() => s.bind(4001)).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_ALREADY_BOUND' }))
    s.connect(7, B)
    expect(() => s.connect(8, B)).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_DGRAM_IS_CONNECTED' }))
    expect(() => s.send('x', 0, 1, 7, B)).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_DGRAM_IS_CONNECTED' }))
    const closed: string[] = []
    s.close(() => closed.push('close'))
    expect(() => s.send('x')).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_DGRAM_NOT_RUNNING', message: 'Not running' }))
    expect(() => s.close()).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' }))
    await settle()
    expect(closed).toEqual(['close'])
  })

  it('sends a slice with offset and length, and a list of buffers as one datagram', async () => {
    const { a, b } = twoStacks()
    const server = b.createSocket('udp4').bind(9)
    const got = messages(server)
    const client = a.createSocket('udp4')
    client.send(Buffer.from('xxhelloxx'), 2, 5, 9, B)
    client.send([Buffer.from('one '), new Uint8Array([0x74, 0x77, 0x6f]), 'three'], 9, B)
    client.connect(9, B, () => client.send('connected', (err, n) => expect([err, n]).toEqual([null, 9])))
    await settle()
    expect(got.map(([t]) => t)).toEqual(['hello', 'one twothree', 'connected'])
    expect(client.remoteAddress()).toEqual({ address: B, family: 'IPv4', port: 9 })
  })

  it('closes when its AbortSignal aborts, and disconnect() undoes connect(), as dgram\'s', async () => {
    const { a } = twoStacks()
    const controller = new AbortController()
    const s = a.createSocket({ type: 'udp4', signal: controller.signal }).bind(5000)
    s.connect(7, B)
    expect(s.remoteAddress().port).toBe(7)
    s.disconnect()
    expect(() => s.remoteAddress()).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' }))
    expect(() => s.disconnect()).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' }))
    const closed: string[] = []
    s.on('close', () => closed.push('close'))
    controller.abort()
    await settle()
    expect(closed).toEqual(['close'])
    expect(() => s.address()).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' }))
    a.createSocket('udp4').bind(5000) // the port is free again
  })

  it('refuses a datagram larger than the link MTU with EMSGSIZE: no fragmentation, as no reassembly', async () => {
    const { a } = twoStacks() // MTU 1500: at most 1472 bytes of data
    const s = a.createSocket('udp4')
    const results: unknown[] = []
    s.send(Buffer.alloc(1472), 9, B, err => results.push(err))
    s.send(Buffer.alloc(1473), 9, B, err => results.push(err))
    const errs = errors(s)
    s.send(Buffer.alloc(2000), 9, B) // no callback: an 'error'
    await settle()
    expect(results[0]).toBeNull()
    expect(results[1]).toMatchObject({ code: 'EMSGSIZE', syscall: 'send', message: `send EMSGSIZE ${B}:9` })
    expect(errs.map(e => e.code)).toEqual(['EMSGSIZE'])
    expect(a.counters.udpDatagramsOut).toBe(1)
  })

  it('answers a datagram to a closed port with ICMP port unreachable quoting it (RFC 1122 4.1.3.1, RFC 792)', async () => {
    const { a, b } = twoStacks()
    const icmp = icmpOut(b)
    const s = a.createSocket('udp4')
    const errs = errors(s)
    s.send('anyone?', 9999, B)
    await settle()
    expect(icmp).toHaveLength(1)
    expect(icmp[0]).toMatchObject({ src: B_ADDR, dst: A_ADDR, type: ICMP_DEST_UNREACHABLE, code: 3 })
    // The quote: the whole datagram (under 548 bytes), IP header first.
    const quoted = parseIPv4(icmp[0]!.quote)
    if (!quoted.ok) throw new Error(quoted.reason)
    const d = parseUdp(quoted.value.payload, A_ADDR, B_ADDR)
    expect(d.ok && [d.value.dstPort, Buffer.from(d.value.payload).toString()]).toEqual([9999, 'anyone?'])
    expect(b.counters.drops['udp-no-port']).toBe(1)
    expect(b.counters.icmpErrorsSent).toBe(1)
    // An unconnected socket cannot tell whose error it is: counted, not reported (as Linux and dgram).
    expect(errs).toEqual([])
    expect(a.counters.drops['udp-icmp-not-connected']).toBe(1)
  })

  it('reports the port unreachable to a connected socket as dgram does: recvmsg ECONNREFUSED, the socket still usable', async () => {
    const { a, b } = twoStacks()
    const s = a.createSocket('udp4')
    const errs = errors(s)
    s.connect(9999, B)
    await settle()
    s.send('anyone?')
    await settle()
    expect(errs).toEqual([expect.objectContaining({ code: 'ECONNREFUSED', syscall: 'recvmsg', message: 'recvmsg ECONNREFUSED', errno: -111 })])
    expect(a.counters.udpIcmpErrors).toBe(1)
    const late = b.createSocket('udp4').bind(9999)
    const got = messages(late)
    s.send('now?')
    await settle()
    expect(got.map(([t]) => t)).toEqual(['now?'])
  })

  it('lets a connected socket take only its peer\'s datagrams; others find no socket (port unreachable, as Linux)', async () => {
    const { a, b } = twoStacks()
    const s = b.createSocket('udp4').bind(5000)
    s.connect(6000, A)
    const got = messages(s)
    const fromPeer = a.createSocket('udp4').bind(6000)
    const stranger = a.createSocket('udp4').bind(6001)
    fromPeer.send('peer', 5000, B)
    stranger.send('stranger', 5000, B)
    await settle()
    expect(got.map(([t]) => t)).toEqual(['peer'])
    expect(b.counters.drops['udp-no-port']).toBe(1)
  })

  it('rate-limits the ICMP errors it sends: bursts of 50, 1000 a second (Linux\'s icmp_msgs_burst, icmp_msgs_per_sec)', async () => {
    const { a, b, clock } = twoStacks({ icmpRate: { perSecond: 100, burst: 50 } })
    const icmp = icmpOut(b)
    const s = a.createSocket('udp4')
    for (let i = 0; i < 60; i++) s.send('x', 9999, B)
    await settle()
    expect(icmp).toHaveLength(50)
    expect(b.counters.icmpErrorsLimited).toBe(10)
    await runFor(clock, 100) // 100 ms at 100 a second: 10 tokens back
    for (let i = 0; i < 20; i++) s.send('x', 9999, B)
    await settle()
    expect(icmp).toHaveLength(60)
    expect(b.counters.icmpErrorsLimited).toBe(20)
  })

  it('bounds the receive queue: datagrams beyond setRecvBufferSize are dropped and counted', async () => {
    const { a, b } = twoStacks()
    const server = b.createSocket('udp4').bind(9)
    server.setRecvBufferSize(1000)
    expect(server.getRecvBufferSize()).toBe(1000)
    const got = messages(server)
    const client = a.createSocket('udp4')
    for (let i = 0; i < 20; i++) client.send(Buffer.alloc(100, i), 9, B) // all arrive in one turn of the loop
    await settle()
    // Each costs its 100 bytes plus 64 of bookkeeping: 6 fit in 1000.
    expect(got).toHaveLength(6)
    expect(b.counters.drops['udp-receive-queue-full']).toBe(14)
    for (let i = 0; i < 3; i++) client.send('again', 9, B) // the queue drained: room again
    await settle()
    expect(got).toHaveLength(9)
  })

  it('takes a datagram with checksum 0 ("none", RFC 768) and drops a bad one as udp-checksum', async () => {
    const link = new MemoryLink()
    const stack = new Stack({ address: B, link, clock: new VirtualClock() })
    const got = messages(stack.createSocket('udp4').bind(9))
    link.inject(buildUdpPacket({ src: A_ADDR, dst: B_ADDR, srcPort: 1234, dstPort: 9, payload: Buffer.from('no sum'), noChecksum: true }))
    const bad = buildUdpPacket({ src: A_ADDR, dst: B_ADDR, srcPort: 1234, dstPort: 9, payload: Buffer.from('bad sum') })
    bad[bad.length - 1]! ^= 1
    link.inject(bad)
    await settle()
    expect(got.map(([t, r]) => [t, r.port])).toEqual([['no sum', 1234]])
    expect(stack.counters.drops['udp-checksum']).toBe(1)
    expect(link.outbox).toEqual([]) // a damaged datagram gets no ICMP: we cannot trust its ports
  })

  it('sends no ICMP error about a datagram from no one host or to a multicast group (RFC 1122 3.2.2)', async () => {
    const link = new MemoryLink()
    const stack = new Stack({ address: B, link, promiscuous: true, clock: new VirtualClock() })
    link.inject(buildUdpPacket({ src: 0, dst: B_ADDR, srcPort: 68, dstPort: 67, payload: Buffer.from('from 0.0.0.0') }))
    link.inject(buildUdpPacket({ src: A_ADDR, dst: 0xe00000fb, srcPort: 5353, dstPort: 5353, payload: Buffer.from('mDNS') }))
    link.inject(buildUdpPacket({ src: A_ADDR, dst: B_ADDR, srcPort: 5353, dstPort: 5353, payload: Buffer.from('to us') }))
    await settle()
    expect(stack.counters.drops).toEqual({ 'udp-no-port': 2, 'udp-not-unicast': 1 }) // a multicast group starts no flow either
    expect(stack.counters.icmpErrorsSent).toBe(1) // only the last
    expect(link.outbox).toHaveLength(1)
  })

  it('closes every UDP socket on shutdown()', async () => {
    const { b } = twoStacks()
    const closed: string[] = []
    b.createSocket('udp4').bind(9).on('close', () => closed.push('9'))
    b.createSocket('udp4').on('close', () => closed.push('unbound'))
    await b.shutdown(100)
    await settle()
    expect(closed.sort()).toEqual(['9', 'unbound'])
  })

  // What keeps a process alive is seen only from outside it (as net-api.test.ts does): each case
  // is its own node process, whose unref'd timer prints 'alive' only if something else holds the loop.
  const program = (body: string) => `
    import { Stack } from './src/stack/stack.ts'
    import { linkPair } from './src/tun/memory-link.ts'
    const [la] = linkPair()
    const a = new Stack({ address: '10.0.0.1', link: la })
    const later = (fn) => setTimeout(fn, 300).unref()
    ${body}`
  const alive = (body: string) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program(body)],
      { cwd: resolve(import.meta.dirname, '../../..'), encoding: 'utf8', timeout: 20_000 })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    return r.stdout.trim() === 'alive'
  }

  it('on real time a bound socket keeps the process alive, as dgram\'s, until close(); an unbound one does not', () => {
    expect(alive(`const s = a.createSocket('udp4').bind(9); later(() => { console.log('alive'); s.close() })`)).toBe(true)
    expect(alive(`a.createSocket('udp4'); later(() => console.log('alive'))`)).toBe(false)
  })

  it('an unref()d socket does not', () => {
    expect(alive(`a.createSocket('udp4').bind(9).unref(); later(() => console.log('alive'))`)).toBe(false)
  })
})
