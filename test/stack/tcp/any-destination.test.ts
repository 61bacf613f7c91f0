// Any-destination TCP and ping (StackOptions.promiscuous): B takes SYNs A sends to addresses
// B does not own (the link carries everything), offers each to its 'syn' hook before
// answering, and the connection the hook accepts answers from the address A meant. The
// decision may come later: retransmitted SYNs wait on the pending entry, bounded by
// synBacklog, and an undecided SYN is dropped after synDecisionTimeoutMs.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Stack } from '../../../src/stack/stack'
import { VirtualClock } from '../../../src/stack/time/virtual-clock'
import { MemoryLink } from '../../../src/tun/memory-link'
import type { Socket } from '../../../src/stack/socket/socket'
import type { SynRequest } from '../../../src/stack/socket/syn-request'
import { ICMP_CODE_FRAG_NEEDED, ICMP_DEST_UNREACHABLE, ICMP_ECHO_REQUEST, buildIcmpPacket } from '../../../src/stack/wire/icmp'
import { ACK, FIN, RST, SYN, buildTcpPacket, type TcpSegment } from '../../../src/stack/wire/tcp'
import { A, B, collect, errorsOf, twoStacks } from '../../helpers/two-stacks'
import { runFor, runUntil, settle } from '../../helpers/virtual-time'

const FAR = '198.51.100.7'
const FAR_NUM = 0xc6336407

/** The source address of every IP packet a stack sends. */
function sources(stack: Stack): string[] {
  const seen: string[] = []
  stack.on('packet', (dir: string, p: Uint8Array) => { if (dir === 'out') seen.push(`${p[12]}.${p[13]}.${p[14]}.${p[15]}`) })
  return seen
}

/** The accepted socket, its reset (the tests end by destroying the client) expected. */
const quiet = (accepting: Promise<Socket>) => accepting.then(sock => sock.on('error', () => {}))

/** An echo server for the hook's sockets. */
const echo = (sock: Socket) => sock.pipe(sock)

describe('any-destination TCP: the syn hook', () => {
  it('accepts a SYN at once: the connection answers from the address the client meant, both ends as they are', async () => {
    const { a, b, clock } = twoStacks({ promiscuous: true })
    const syns: string[] = []
    let accepted: Socket | undefined
    b.on('syn', (syn: SynRequest) => {
      syns.push(`${syn.remoteAddress}:${syn.remotePort} -> ${syn.localAddress}:${syn.localPort}`)
      void syn.accept().then(sock => { accepted = sock; echo(sock) })
    })
    const from = sources(b)
    const client = a.connect({ host: FAR, port: 8080, localPort: 40000 })
    const got = collect(client)
    client.end('hello, far host')
    await runUntil(clock, () => got.ended())
    expect(got.data().toString()).toBe('hello, far host')
    expect(syns).toEqual([`${A}:40000 -> ${FAR}:8080`])
    expect([accepted!.localAddress, accepted!.localPort, accepted!.remoteAddress, accepted!.remotePort]).toEqual([FAR, 8080, A, 40000])
    expect(new Set(from)).toEqual(new Set([FAR]))
    expect(client.remoteAddress).toBe(FAR)
  })

  it('lists such connections with the original destination as the local end (Stack.connections, tuntcp ss)', async () => {
    const { a, b, clock } = twoStacks({ promiscuous: true })
    b.on('syn', (syn: SynRequest) => void quiet(syn.accept()))
    const client = a.connect({ host: FAR, port: 443, localPort: 40001 })
    await runUntil(clock, () => client.state === 'ESTABLISHED')
    expect(b.connections().map(c => [c.state, `${c.localAddress}:${c.localPort}`, `${c.remoteAddress}:${c.remotePort}`]))
      .toEqual([['ESTABLISHED', `${FAR}:443`, `${A}:40001`]])
    client.destroy()
  })

  it('accepts later: the retransmitted SYNs find the pending entry and are not offered again', async () => {
    const { a, b, clock } = twoStacks({ promiscuous: true })
    const asked: SynRequest[] = []
    b.on('syn', (syn: SynRequest) => asked.push(syn))
    const synsIn: number[] = []
    b.on('segment', (dir: string, { seg }: { seg: TcpSegment }) => { if (dir === 'in' && seg.flags === SYN) synsIn.push(clock.now()) })
    const client = a.connect(8080, FAR)
    await runFor(clock, 3_500) // the client sends its SYN again at 1 s and 3 s
    expect(synsIn).toHaveLength(3)
    expect(asked).toHaveLength(1)
    expect(asked[0]!.pending).toBe(true)
    expect(b.counters.drops['tcp-syn-pending']).toBe(2)
    const accepting = quiet(asked[0]!.accept({ allowHalfOpen: true }))
    await runUntil(clock, () => client.state === 'ESTABLISHED')
    const sock = await accepting
    expect(sock.state).toBe('ESTABLISHED')
    expect(asked[0]!.pending).toBe(false)
    client.destroy()
  })

  it('takes a callback instead of a promise', async () => {
    const { a, b, clock } = twoStacks({ promiscuous: true })
    const results: Array<[Error | null, string | undefined]> = []
    b.on('syn', (syn: SynRequest) => syn.accept({}, (err, sock) => { sock?.on('error', () => {}); results.push([err, sock?.localAddress]) }))
    const client = a.connect(22, FAR)
    await runUntil(clock, () => results.length > 0)
    expect(results).toEqual([[null, FAR]])
    client.destroy()
  })

  it('refuses with a RST from the address the client meant: the client\'s connect fails with ECONNREFUSED', async () => {
    const { a, b, clock } = twoStacks({ promiscuous: true })
    b.on('syn', (syn: SynRequest) => void Promise.resolve().then(() => syn.refuse())) // later, as after a refused upstream connect
    const from = sources(b)
    const client = a.connect(8080, FAR)
    const errors = errorsOf(client)
    await runUntil(clock, () => errors.length > 0)
    expect(errors).toEqual(['ECONNREFUSED'])
    expect(from).toEqual([FAR])
    expect(b.counters.drops['tcp-syn-refused']).toBe(1)
    expect(b.connections()).toEqual([])
  })

  it('drops: nothing goes back, each SYN is offered again, and the client times out', async () => {
    const { a, b, clock } = twoStacks({ promiscuous: true })
    let asked = 0
    b.on('syn', (syn: SynRequest) => { asked++; syn.drop() })
    const client = a.connect(8080, FAR)
    const errors = errorsOf(client)
    await runUntil(clock, () => errors.length > 0)
    expect(errors).toEqual(['ETIMEDOUT'])
    expect(asked).toBe(1 + a.tcpConfig.synRetries)
    expect(b.counters.drops['tcp-syn-dropped']).toBe(asked)
    expect(b.counters.packetsOut).toBe(0)
  })

  it('refuses every SYN when nobody listens for syn', async () => {
    const { a, b, clock } = twoStacks({ promiscuous: true })
    const client = a.connect(8080, FAR)
    const errors = errorsOf(client)
    await runUntil(clock, () => errors.length > 0)
    expect(errors).toEqual(['ECONNREFUSED'])
    expect(b.counters.drops['tcp-syn-refused']).toBe(1)
  })

  it('bounds the in-flight handshakes by synBacklog: one SYN more is dropped and counted', async () => {
    const { a, b, clock } = twoStacks({ promiscuous: true, tcp: { synBacklog: 2 } })
    const asked: SynRequest[] = []
    b.on('syn', (syn: SynRequest) => asked.push(syn))
    const clients = [40000, 40001, 40002].map(localPort => a.connect({ host: FAR, port: 80, localPort }))
    for (const c of clients) c.on('error', () => {})
    await settle()
    expect(asked).toHaveLength(2)
    expect(b.counters.drops['tcp-syn-backlog-full']).toBe(1)
    // A decision frees its place: the third client's next SYN is offered.
    asked[0]!.refuse()
    await runFor(clock, 1_500)
    expect(asked.map(s => s.remotePort)).toEqual([40000, 40001, 40002])
    for (const c of clients) c.destroy()
  })

  it('drops a SYN left undecided for synDecisionTimeoutMs (counted), aborts its signal, and offers the next one again', async () => {
    const { a, b, clock } = twoStacks({ promiscuous: true, tcp: { synDecisionTimeoutMs: 2_000 } })
    const asked: SynRequest[] = []
    b.on('syn', (syn: SynRequest) => asked.push(syn))
    const client = a.connect(8080, FAR)
    client.on('error', () => {})
    await runFor(clock, 2_500)
    expect(b.counters.drops['tcp-syn-undecided']).toBe(1)
    expect(asked[0]!.pending).toBe(false)
    expect(asked[0]!.signal.aborted).toBe(true)
    await expect(asked[0]!.accept()).rejects.toMatchObject({ code: 'ETIMEDOUT' })
    await runFor(clock, 1_000) // the client's SYN at 3 s
    expect(asked).toHaveLength(2)
    void quiet(asked[1]!.accept())
    await runUntil(clock, () => client.state === 'ESTABLISHED')
    client.destroy()
  })

  it('rejects the accept with ECONNABORTED when the handshake does not complete', async () => {
    const { a, b, clock, linkA } = twoStacks({ promiscuous: true })
    linkA.onSend = p => (p[33]! & ACK) === 0 // the client's SYN gets through, nothing after it
    let accepting: Promise<Socket> | undefined
    b.on('syn', (syn: SynRequest) => { accepting = syn.accept() })
    const client = a.connect(8080, FAR)
    client.on('error', () => {})
    await runUntil(clock, () => accepting !== undefined)
    const outcome = accepting!.then(() => 'accepted', (e: { code?: string }) => e.code)
    await runUntil(clock, () => b.connections().length === 0)
    expect(await outcome).toBe('ECONNABORTED')
    client.destroy()
  })

  it('gives the accepted connection the buffer sizes asked for', async () => {
    const { a, b, clock } = twoStacks({ promiscuous: true })
    let accepting: Promise<Socket> | undefined
    b.on('syn', (syn: SynRequest) => { accepting = quiet(syn.accept({ rcvBufSize: 4_000, sndBufSize: 8_000 })) })
    const windows: number[] = []
    b.on('segment', (dir: string, { seg }: { seg: TcpSegment }) => { if (dir === 'out' && seg.flags === (SYN | ACK)) windows.push(seg.window) })
    const client = a.connect(8080, FAR)
    await runUntil(clock, () => client.state === 'ESTABLISHED')
    const sock = await accepting!
    expect(windows).toEqual([4_000]) // a SYN's window is never scaled (RFC 7323 2.2)
    const tcb = (sock as unknown as { connection: { sendSpace: number; rcvSpace(): number } }).connection
    expect(tcb.sendSpace).toBe(8_000)
    expect(tcb.rcvSpace()).toBe(4_000)
    // A bigger transfer still goes through the small buffers.
    const got = collect(client)
    sock.end(Buffer.alloc(50_000, 7))
    await runUntil(clock, () => got.ended())
    expect(got.data().length).toBe(50_000)
    client.destroy()
  })

  it('leaves the stack\'s own address to its listeners: the listener wins for its port, other ports get RST, the hook is not asked', async () => {
    const { a, b, clock } = twoStacks({ promiscuous: true })
    b.on('syn', () => { throw new Error('not asked') })
    b.createServer(echo).listen(8080)
    const client = a.connect(8080, B)
    const got = collect(client)
    client.end('to B itself')
    const closed = a.connect(9, B)
    const errors = errorsOf(closed)
    await runUntil(clock, () => got.ended() && errors.length > 0)
    expect(got.data().toString()).toBe('to B itself')
    expect(errors).toEqual(['ECONNREFUSED'])
  })

  it('keeps connections apart that differ only in the address the client meant', async () => {
    const { a, b, clock } = twoStacks({ promiscuous: true })
    b.on('syn', (syn: SynRequest) => void syn.accept().then(sock => sock.end(`I am ${syn.localAddress}`)))
    // The same client port to two destinations: two 4-tuples, as Linux allows.
    const one = a.connect({ host: '198.51.100.1', port: 80, localPort: 40000 })
    const two = a.connect({ host: '198.51.100.2', port: 80, localPort: 40000 })
    const [g1, g2] = [collect(one), collect(two)]
    await runUntil(clock, () => g1.ended() && g2.ended())
    expect([g1.data().toString(), g2.data().toString()]).toEqual(['I am 198.51.100.1', 'I am 198.51.100.2'])
  })

  it('finds such a connection by its 4-tuple for an ICMP error quoting its segment (RFC 1191 fragmentation needed)', async () => {
    const { a, b, clock, linkA } = twoStacks({ promiscuous: true })
    let sock: Socket | undefined
    b.on('syn', (syn: SynRequest) => void quiet(syn.accept()).then(s => { sock = s }))
    const client = a.connect(8080, FAR)
    await runUntil(clock, () => sock !== undefined)
    const sent: Uint8Array[] = []
    b.on('packet', (dir: string, p: Uint8Array) => { if (dir === 'out' && p.length > 1000) sent.push(p.slice()) })
    linkA.onSend = p => p[9] === 1 // the client's ACKs are lost: B's data stays in flight; ICMP goes through
    sock!.write(new Uint8Array(3000))
    await settle()
    expect(sent.length).toBeGreaterThan(0)
    expect(`${sent[0]![12]}.${sent[0]![13]}.${sent[0]![14]}.${sent[0]![15]}`).toBe(FAR)
    // A router on the way says the packet from 198.51.100.7 to the client was too big.
    linkA.send(buildIcmpPacket({ src: 0x0a000063, dst: FAR_NUM, type: ICMP_DEST_UNREACHABLE, code: ICMP_CODE_FRAG_NEEDED, rest: 1280, body: sent[0]!.subarray(0, 28) }))
    await settle()
    expect(b.counters.pmtuReductions).toBe(1)
    expect(b.connections()[0]!.mss).toBeLessThanOrEqual(1240)
    linkA.onSend = null
    client.destroy()
  })

  it('a new SYN ends the TIME-WAIT of a forwarded connection (RFC 9293 3.6.1) and is offered to the hook again', async () => {
    const { a, b, clock } = twoStacks({ promiscuous: true })
    let asked = 0
    b.on('syn', (syn: SynRequest) => { asked++; void syn.accept().then(sock => sock.end('bye')) }) // B closes first: B holds TIME-WAIT
    const first = a.connect({ host: FAR, port: 13, localPort: 40000 })
    first.resume()
    await runUntil(clock, () => b.connections()[0]?.state === 'TIME-WAIT' && first.state === 'CLOSED')
    expect(b.connections()[0]!.localAddress).toBe(FAR)
    const again = a.connect({ host: FAR, port: 13, localPort: 40000 })
    const got = collect(again)
    await runUntil(clock, () => got.ended())
    expect(got.data().toString()).toBe('bye')
    expect(asked).toBe(2)
  })

  it('without promiscuous changes nothing: a SYN for another address is ip-not-for-us and the hook is never asked', async () => {
    const { a, b } = twoStacks()
    b.on('syn', () => { throw new Error('not asked') })
    const client = a.connect(8080, FAR)
    client.on('error', () => {})
    await settle()
    expect(b.counters.drops).toEqual({ 'ip-not-for-us': 1 })
    client.destroy()
  })
})

describe('any-destination ping', () => {
  const echoRequest = (dst: number) => buildIcmpPacket({ src: 0x0a000001, dst, type: ICMP_ECHO_REQUEST, code: 0, rest: 0x12340001, body: new Uint8Array([1, 2, 3]) })

  it('answers an echo request to any address from that address', async () => {
    const { b, linkA } = twoStacks({ promiscuous: true })
    const from = sources(b)
    linkA.send(echoRequest(FAR_NUM))
    linkA.send(echoRequest(0xe0000001)) // multicast: never answered from such an address
    await settle()
    expect(from).toEqual([FAR])
    expect(b.counters.pingsAnswered).toBe(1)
    expect(b.counters.drops['icmp-echo-not-unicast']).toBe(1)
  })

  it('without promiscuous, answers its own address only', async () => {
    const { b, linkA } = twoStacks()
    linkA.send(echoRequest(FAR_NUM))
    await settle()
    expect(b.counters.pingsAnswered).toBe(0)
    expect(b.counters.drops).toEqual({ 'ip-not-for-us': 1 })
  })
})

describe('hostile TCP input in any-destination mode', () => {
  it('never throws, never holds more handshakes than synBacklog, and leaks none once time passes (property)', async () => {
    const link = new MemoryLink()
    const clock = new VirtualClock()
    const stack = new Stack({ address: B, link, clock, promiscuous: true, tcp: { synBacklog: 4, synDecisionTimeoutMs: 1_000 } })
    const internal: unknown[] = []
    stack.on('internal-error', e => internal.push(e))
    const later: SynRequest[] = []
    let n = 0
    stack.on('syn', (syn: SynRequest) => {
      const pick = n++ % 5
      if (pick === 0) void syn.accept().then(sock => sock.on('error', () => {}), () => {})
      else if (pick === 1) syn.refuse()
      else if (pick === 2) syn.drop()
      else if (pick === 3) later.push(syn) // decided after the next packets, or never
    })
    const inFlight = () => (stack as unknown as { tcp: { synHandshakes: number } }).tcp.synHandshakes
    const segment = fc.record({
      src: fc.constantFrom(0x0a000001, 0x0a000005), dst: fc.constantFrom(0x0a000002, FAR_NUM, 0x08080808, 0xe0000001),
      srcPort: fc.constantFrom(40000, 40001, 40002), dstPort: fc.constantFrom(80, 443), seq: fc.nat(), ack: fc.nat(),
      flags: fc.constantFrom(SYN, SYN, SYN | ACK, ACK, RST, FIN | ACK, RST | ACK), window: fc.nat(65535),
      payload: fc.uint8Array({ maxLength: 8 }),
    }).map(f => buildTcpPacket(f))
    let most = 0
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(segment, fc.nat(1500)), { maxLength: 25 }), async steps => {
      for (const [packet, wait] of steps) {
        link.inject(packet)
        await settle(1) // the link delivers on a later turn
        most = Math.max(most, inFlight())
        clock.advance(wait)
        for (const syn of later.splice(0)) if (syn.pending) syn.accept().then(s => s.on('error', () => {}), () => {})
      }
    }), { numRuns: 100 })
    await settle()
    expect(internal).toEqual([])
    expect(most).toBe(4) // reached, never passed
    clock.advance(600_000) // every undecided SYN and unanswered SYN,ACK has given up by now
    await settle()
    expect(inFlight()).toBe(0)
    expect(internal).toEqual([])
  })
})
