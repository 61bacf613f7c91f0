// UDP over IPv6 between two stacks in virtual time: 'udp6' sockets (IPv6-only), the
// IPv6 pseudo header with its mandatory checksum (RFC 8200 8.1), an ICMPv6 port unreachable
// for a closed port reported on a connected socket, and udp4 beside it on the same port.
import { describe, expect, it } from 'vitest'
import type { RemoteInfo } from '../../../src/stack/udp/socket'
import { parseIPv6 } from '../../../src/stack/wire/ipv6'
import { IPPROTO_UDP, buildUdpPacket, parseUdp } from '../../../src/stack/wire/udp'
import { A6, B, B6, twoStacks, messages } from '../../helpers/two-stacks'
import { runFor } from '../../helpers/virtual-time'


describe('UDP over IPv6 (dgram udp6)', () => {
  it('sends and answers datagrams over IPv6: rinfo and address() say IPv6, the checksum covers the IPv6 pseudo header', async () => {
    const net = twoStacks({}, 1, true)
    const server = net.b.createSocket('udp6')
    server.on('message', (msg: Buffer, rinfo: RemoteInfo) => server.send(msg.toString().toUpperCase(), rinfo.port, rinfo.address))
    server.bind(53)
    const client = net.a.createSocket('udp6')
    const got = messages(client)
    const wire: Uint8Array[] = []
    net.linkA.onSend = p => { wire.push(p) }
    client.send('hello six', 53, B6)
    await runFor(net.clock, 10)
    expect(got).toEqual([['HELLO SIX', { address: B6, family: 'IPv6', port: 53, size: 9 }]])
    expect(server.address()).toEqual({ address: '::', family: 'IPv6', port: 53 })
    expect(client.address()).toMatchObject({ address: '::', family: 'IPv6' })
    const ip = parseIPv6(wire[0]!)
    if (!ip.ok) throw new Error(ip.reason)
    expect(ip.value.header.protocol).toBe(IPPROTO_UDP)
    const d = parseUdp(ip.value.payload, ip.value.header.src, ip.value.header.dst)
    expect(d.ok && Buffer.from(d.value.payload).toString()).toBe('hello six')
  })

  it('keeps the families apart: a udp4 and a udp6 socket on one port each get their own datagrams', async () => {
    const net = twoStacks({}, 2, true)
    const four = net.b.createSocket('udp4').bind(7000)
    const six = net.b.createSocket('udp6').bind(7000)
    const got4 = messages(four)
    const got6 = messages(six)
    net.a.createSocket('udp4').send('to four', 7000, B)
    net.a.createSocket('udp6').send('to six', 7000, B6)
    await runFor(net.clock, 10)
    expect(got4.map(m => m[0])).toEqual(['to four'])
    expect(got6.map(m => [m[0], m[1].address])).toEqual([['to six', A6]])
  })

  it('a connected udp6 socket gets ECONNREFUSED from the ICMPv6 port unreachable for a closed port (RFC 4443 3.1)', async () => {
    const net = twoStacks({}, 3, true)
    const client = net.a.createSocket('udp6')
    const errors: string[] = []
    client.on('error', e => errors.push((e as NodeJS.ErrnoException).code!))
    client.connect(9999, B6)
    await runFor(net.clock, 1)
    client.send('anyone?')
    await runFor(net.clock, 10)
    expect(errors).toEqual(['ECONNREFUSED'])
    expect(net.b.counters.icmpErrorsSent).toBe(1)
  })

  it('drops an IPv6 datagram with no checksum (zero), which RFC 8200 8.1 forbids, and refuses addresses of the other family', async () => {
    const net = twoStacks({}, 4, true)
    const six = net.b.createSocket('udp6').bind(53)
    const got = messages(six)
    const bare = buildUdpPacket({ src: A6, dst: B6, srcPort: 1000, dstPort: 53, payload: Uint8Array.of(1) })
    bare[46] = 0; bare[47] = 0
    net.linkA.send(bare)
    await runFor(net.clock, 10)
    expect(got).toEqual([])
    expect(net.b.counters.drops['udp-checksum']).toBe(1)
    expect(() => six.send('x', 53, B)).toThrow(/not an IPv6 address: 10.0.0.2/)
    expect(() => net.b.createSocket('udp4').bind(54, B6)).toThrow(/not an IPv4 address: fd00::2/)
  })
})
