// Dual-stack sockets, as net gives them on Linux: an IPv6 socket carrying an IPv4 connection
// names its addresses IPv4-mapped, ::ffff:a.b.c.d (RFC 4291 2.5.5.2, RFC 3493 3.7), while the
// wire carries plain IPv4. Between two stacks in virtual time.
import { describe, expect, it } from 'vitest'
import type { Socket } from '../../../src/stack/socket/socket'
import { mappedV6, unmappedV4 } from '../../../src/stack/wire/address'
import { parseAddress } from '../../../src/stack/wire/ipv4'
import { A, B, B6, collect, twoStacks } from '../../helpers/two-stacks'
import { runFor, runUntil } from '../../helpers/virtual-time'

/** The IP version of every packet A sends. */
function versionsSent(net: ReturnType<typeof twoStacks>): Set<number> {
  const versions = new Set<number>()
  net.linkA.onSend = p => { versions.add(p[0]! >> 4) }
  return versions
}

describe('IPv4-mapped IPv6 addresses (RFC 4291 2.5.5.2)', () => {
  it('unmappedV4 finds the IPv4 address in ::ffff:a.b.c.d only; mappedV6 writes it', () => {
    expect(unmappedV4('::ffff:10.0.0.2')).toBe(parseAddress('10.0.0.2'))
    expect(unmappedV4('::ffff:0:0')).toBe(0)
    expect(unmappedV4('::10.0.0.2')).toBeNull() // the deprecated IPv4-compatible form (2.5.5.1) is not mapped
    expect(unmappedV4('fd00::2')).toBeNull()
    expect(unmappedV4(parseAddress('10.0.0.2')!)).toBeNull()
    expect(mappedV6(parseAddress('10.77.0.1')!)).toBe('::ffff:10.77.0.1')
  })
})

describe("dual-stack listening, as net's", () => {
  it("listen on '::' takes IPv4 and shows the peer as ::ffff:a.b.c.d, family IPv6, even on a stack without an IPv6 address", async () => {
    const net = twoStacks()
    const versions = versionsSent(net)
    const peers: Socket[] = []
    const server = net.b.createServer(s => { peers.push(s); s.pipe(s) }).listen(7, '::')
    const client = net.a.connect(7, B)
    const got = collect(client)
    client.end('four')
    await runUntil(net.clock, () => got.ended())
    expect(got.data().toString()).toBe('four')
    expect(server.address()).toEqual({ address: '::', port: 7, family: 'IPv6' })
    const s = peers[0]!
    expect([s.remoteFamily, s.remoteAddress, s.localFamily, s.localAddress]).toEqual(['IPv6', `::ffff:${A}`, 'IPv6', `::ffff:${B}`])
    expect(s.address()).toEqual({ address: `::ffff:${B}`, port: 7, family: 'IPv6' })
    // The wire carries IPv4, and the client's socket is a plain IPv4 one.
    expect([...versions]).toEqual([4])
    expect([client.remoteFamily, client.remoteAddress]).toEqual(['IPv4', B])
  })

  it("listen on '0.0.0.0' (or the IPv4 address) is an IPv4 socket: the peer stays IPv4 on a dual-stack stack", async () => {
    const net = twoStacks({}, 2, true)
    const peers: string[] = []
    net.b.createServer(s => { peers.push(`${s.remoteFamily} ${s.remoteAddress}`) }).listen(7, '0.0.0.0')
    net.b.createServer(s => { peers.push(`${s.remoteFamily} ${s.remoteAddress}`) }).listen(8, B)
    net.a.connect(7, B)
    net.a.connect(8, B)
    await runFor(net.clock, 10)
    expect(peers).toEqual([`IPv4 ${A}`, `IPv4 ${A}`])
  })

  it("listen on the stack's IPv4 address mapped (::ffff:10.0.0.2) is an IPv6 socket; another mapped address is EADDRNOTAVAIL", async () => {
    const net = twoStacks({}, 3)
    const peers: string[] = []
    const server = net.b.createServer(s => { peers.push(`${s.remoteFamily} ${s.remoteAddress}`) }).listen(7, `::ffff:${B}`)
    const other = net.b.createServer().listen(8, '::ffff:10.9.9.9')
    const errors: string[] = []
    other.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message))
    net.a.connect(7, B)
    await runFor(net.clock, 10)
    expect(server.address()).toEqual({ address: `::ffff:${B}`, port: 7, family: 'IPv6' })
    expect(peers).toEqual([`IPv6 ::ffff:${A}`])
    expect(errors).toEqual(['EADDRNOTAVAIL'])
    expect(other.listening).toBe(false)
  })
})

describe('connecting to an IPv4-mapped address', () => {
  it('goes over IPv4 and the socket shows ::ffff: addresses, family IPv6; the server sees a plain IPv4 peer', async () => {
    const net = twoStacks({}, 4)
    const versions = versionsSent(net)
    const peers: string[] = []
    net.b.createServer(s => { peers.push(`${s.remoteFamily} ${s.remoteAddress}`); s.pipe(s) }).listen(7, '0.0.0.0')
    const client = net.a.connect({ host: `::ffff:${B}`, port: 7 })
    const got = collect(client)
    client.end('mapped')
    await runUntil(net.clock, () => got.ended())
    expect(got.data().toString()).toBe('mapped')
    expect([client.remoteFamily, client.remoteAddress, client.localFamily, client.localAddress]).toEqual(['IPv6', `::ffff:${B}`, 'IPv6', `::ffff:${A}`])
    expect([...versions]).toEqual([4])
    expect(peers).toEqual([`IPv4 ${A}`])
  })

  it("a refused connect names the peer as it was given: 'connect ECONNREFUSED ::ffff:10.0.0.2:9'", async () => {
    const net = twoStacks({}, 5)
    const client = net.a.connect({ host: `::ffff:${B}`, port: 9 })
    const errors: Error[] = []
    client.on('error', e => errors.push(e))
    await runFor(net.clock, 10)
    expect(errors.map(e => e.message)).toEqual([`connect ECONNREFUSED ::ffff:${B}:9`])
  })

  it('a real IPv6 address still needs the stack to have one', () => {
    const net = twoStacks({}, 6)
    expect(() => net.a.connect({ host: B6, port: 7 })).toThrow(/no IPv6 address/)
  })
})
