// Any-destination UDP (StackOptions.promiscuous): B takes datagrams A sends to any
// address, and its 'udp-flow' hook decides each new flow: accept (a socket that answers
// from the original destination), refuse (ICMP port unreachable from that address) or
// drop. Flows end after an idle time on the timer wheel and are bounded in number.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Stack } from '../../../src/stack/stack'
import { VirtualClock } from '../../../src/stack/time/virtual-clock'
import { IPV4_HEADER_LENGTH, writeIPv4Header } from '../../../src/stack/wire/ipv4'
import { buildUdpPacket } from '../../../src/stack/wire/udp'
import { MemoryLink } from '../../../src/tun/memory-link'
import type { UdpFlow } from '../../../src/stack/udp/flow'
import type { UdpSocket } from '../../../src/stack/udp/socket'
import { A, B, twoStacks, messages } from '../../helpers/two-stacks'
import { runFor, settle } from '../../helpers/virtual-time'

const DNS = '8.8.8.8'


describe('any-destination UDP flows', () => {
  it('accepts a flow: the socket answers from the destination the client meant, and takes the rest of the flow', async () => {
    const { a, b } = twoStacks({ promiscuous: true })
    const flows: UdpFlow[] = []
    b.on('udp-flow', (flow: UdpFlow) => {
      flows.push(flow)
      const socket = flow.accept()
      socket.on('message', (msg: Buffer) => socket.send(`answer to ${msg}`))
    })
    const client = a.createSocket('udp4').bind(40000)
    const got = messages(client)
    client.send('query 1', 53, DNS)
    client.send('query 2', 53, DNS)
    await settle()
    expect(flows.map(f => [f.remoteAddress, f.remotePort, f.localAddress, f.localPort, f.size])).toEqual([[A, 40000, DNS, 53, 7]])
    expect(got).toEqual([
      ['answer to query 1', { address: DNS, family: 'IPv4', port: 53, size: 17 }],
      ['answer to query 2', { address: DNS, family: 'IPv4', port: 53, size: 17 }],
    ])
    expect(b.counters.udpFlowsAccepted).toBe(1)
  })

  it('gives the accepted socket the flow\'s two ends', async () => {
    const { a, b } = twoStacks({ promiscuous: true })
    let socket: UdpSocket | undefined
    b.on('udp-flow', (flow: UdpFlow) => { socket = flow.accept() })
    a.createSocket('udp4').bind(40001).send('hi', 123, '192.0.2.7')
    await settle()
    expect(socket!.address()).toEqual({ address: '192.0.2.7', family: 'IPv4', port: 123 })
    expect(socket!.remoteAddress()).toEqual({ address: A, family: 'IPv4', port: 40001 })
  })

  it('refuses a flow with ICMP port unreachable from the destination address: a connected client sees ECONNREFUSED', async () => {
    const { a, b } = twoStacks({ promiscuous: true })
    b.on('udp-flow', (flow: UdpFlow) => flow.refuse())
    const client = a.createSocket('udp4')
    const errs: Array<{ code?: string }> = []
    client.on('error', e => errs.push(e))
    const icmpFrom: string[] = []
    a.on('packet', (dir: string, p: Uint8Array) => { if (dir === 'in' && p[9] === 1) icmpFrom.push(`${p[12]}.${p[13]}.${p[14]}.${p[15]}`) })
    client.connect(53, DNS)
    await settle()
    client.send('query')
    await settle()
    expect(errs.map(e => e.code)).toEqual(['ECONNREFUSED'])
    expect(icmpFrom).toEqual([DNS])
    expect(b.counters.drops['udp-flow-refused']).toBe(1)
  })

  it('drops a flow: nothing goes back, counted, and the next datagram asks again', async () => {
    const { a, b } = twoStacks({ promiscuous: true })
    let asked = 0
    b.on('udp-flow', (flow: UdpFlow) => { asked++; flow.drop() })
    const client = a.createSocket('udp4')
    client.send('one', 53, DNS)
    client.send('two', 53, DNS)
    await settle()
    expect(asked).toBe(2)
    expect(b.counters.drops['udp-flow-dropped']).toBe(2)
    expect(b.counters.packetsOut).toBe(0)
  })

  it('refuses a flow when nobody listens for udp-flow, and takes a flow decided by nobody as dropped', async () => {
    const { a, b } = twoStacks({ promiscuous: true })
    const client = a.createSocket('udp4')
    client.send('x', 53, DNS)
    await settle()
    expect(b.counters.drops['udp-flow-refused']).toBe(1)
    let late: UdpFlow | undefined
    b.on('udp-flow', (flow: UdpFlow) => { late = flow })
    client.send('y', 53, DNS)
    await settle()
    expect(b.counters.drops['udp-flow-dropped']).toBe(1)
    expect(() => late!.accept()).toThrow(/before it returns/)
  })

  it('closes a flow idle for flowIdleTimeoutMs (virtual time), a datagram either way keeping it open', async () => {
    const { a, b, clock } = twoStacks({ promiscuous: true, udp: { flowIdleTimeoutMs: 30_000 } })
    let socket: UdpSocket | undefined
    let closedAt: number | undefined
    b.on('udp-flow', (flow: UdpFlow) => {
      socket = flow.accept()
      socket.on('close', () => { closedAt = clock.now() })
    })
    const client = a.createSocket('udp4').bind(40000)
    const start = clock.now()
    client.send('first', 53, DNS)
    await runFor(clock, 20_000)
    socket!.send('reply at 20 s') // an answer counts as activity too
    await runFor(clock, 20_000)
    expect(closedAt).toBeUndefined() // 40 s in, but only 20 s idle
    await runFor(clock, 15_000)
    expect(closedAt! - start).toBe(50_000) // 30 s after the last datagram
    expect(b.counters.udpFlowsExpired).toBe(1)
    // The flow is gone: the same 4-tuple is a new flow.
    client.send('again', 53, DNS)
    await settle()
    expect(b.counters.udpFlowsAccepted).toBe(2)
  })

  it('bounds the number of flows: the first datagram of one more is dropped and counted', async () => {
    const { a, b } = twoStacks({ promiscuous: true, udp: { maxFlows: 2 } })
    let asked = 0
    b.on('udp-flow', (flow: UdpFlow) => { asked++; flow.accept() })
    for (const port of [40000, 40001, 40002]) a.createSocket('udp4').bind(port).send('x', 53, DNS)
    await settle()
    expect(asked).toBe(2)
    expect(b.counters.drops['udp-flow-limit']).toBe(1)
    expect(b.counters.packetsOut).toBe(0) // no ICMP for a flow we had no room for
  })

  it('frees a flow whose socket the application closes', async () => {
    const { a, b } = twoStacks({ promiscuous: true, udp: { maxFlows: 1 } })
    b.on('udp-flow', (flow: UdpFlow) => flow.accept().close())
    const client = a.createSocket('udp4').bind(40000)
    client.send('x', 53, DNS)
    await settle()
    client.send('y', 53, DNS)
    await settle()
    expect(b.counters.udpFlowsAccepted).toBe(2)
    expect(b.counters.drops['udp-flow-limit']).toBeUndefined()
  })

  it('serves its own address as usual, and a bind to another host\'s address takes that address without the hook', async () => {
    const { a, b } = twoStacks({ promiscuous: true })
    b.on('udp-flow', () => { throw new Error('not asked') })
    const own = messages(b.createSocket('udp4').bind(7))
    const fixed = messages(b.createSocket('udp4').bind(53, DNS))
    const client = a.createSocket('udp4')
    client.send('to B', 7, B)
    client.send('to 8.8.8.8', 53, DNS)
    await settle()
    expect(own.map(([t]) => t)).toEqual(['to B'])
    expect(fixed.map(([t]) => t)).toEqual(['to 8.8.8.8'])
  })

  it('without promiscuous, drops a datagram for another address as ip-not-for-us', async () => {
    const { a, b } = twoStacks()
    a.createSocket('udp4').send('x', 53, DNS)
    await settle()
    expect(b.counters.drops).toEqual({ 'ip-not-for-us': 1 })
  })

})

describe('hostile UDP input', () => {
  it('never throws, nor holds more flows than maxFlows, whatever the datagrams (property)', async () => {
    const link = new MemoryLink()
    const stack = new Stack({ address: B, link, clock: new VirtualClock(), promiscuous: true, udp: { maxFlows: 8 } })
    const internal: unknown[] = []
    stack.on('internal-error', e => internal.push(e))
    let n = 0
    stack.on('udp-flow', (flow: UdpFlow) => { if (n++ % 3 === 0) flow.accept().on('error', () => {}); else if (n % 3 === 1) flow.refuse() })
    stack.createSocket('udp4').bind(53).on('error', () => {})
    const packet = fc.oneof(
      // Well-formed datagrams to a few addresses and ports.
      fc.record({ src: fc.integer({ min: 0x0a000001, max: 0x0a000010 }), dst: fc.constantFrom(0x0a000002, 0x08080808, 0xe00000fb, 0xffffffff),
        srcPort: fc.nat(65535), dstPort: fc.constantFrom(0, 53, 9999), payload: fc.uint8Array({ maxLength: 64 }), noChecksum: fc.boolean() })
        .map(f => buildUdpPacket(f)),
      // An IPv4 header claiming UDP over random bytes.
      fc.uint8Array({ maxLength: 40 }).map(body => {
        const p = new Uint8Array(IPV4_HEADER_LENGTH + body.length)
        writeIPv4Header(p, 0, { src: 0x0a000001, dst: 0x08080808, protocol: 17, payloadLength: body.length })
        p.set(body, IPV4_HEADER_LENGTH)
        return p
      }),
    )
    fc.assert(fc.property(fc.array(packet, { maxLength: 30 }), packets => {
      for (const p of packets) link.inject(p)
    }), { numRuns: 200 })
    await settle()
    expect(internal).toEqual([])
    expect(stack.counters.udpFlowsAccepted - stack.counters.udpFlowsExpired).toBeLessThanOrEqual(8)
  })
})
