import { describe, expect, it } from 'vitest'
import { MemoryLink, linkPair } from '../../src/tun/memory-link'

const pkt = (...bytes: number[]) => new Uint8Array(bytes)
const tick = () => new Promise<void>(resolve => setImmediate(resolve))

describe('MemoryLink', () => {
  it('delivers to the peer in order, after send() has returned', async () => {
    const [a, b] = linkPair()
    const got: number[] = []
    b.onReceive(p => got.push(p[0]!))
    a.send(pkt(1))
    a.send(pkt(2))
    a.send(pkt(3))
    expect(got).toEqual([])  // deferred
    await tick()
    expect(got).toEqual([1, 2, 3])
    expect(b.counters.delivered).toBe(3)
  })

  it('copies on send, so the sender may reuse its buffer', async () => {
    const [a, b] = linkPair()
    const got: number[] = []
    b.onReceive(p => got.push(p[0]!))
    const buf = pkt(7)
    a.send(buf)
    buf[0] = 8
    a.send(buf)
    await tick()
    expect(got).toEqual([7, 8])
  })

  it('is never re-entrant: a reply sent from a handler arrives after the handler returns', async () => {
    const [a, b] = linkPair()
    const events: string[] = []
    let depth = 0
    const both = (name: string, link: MemoryLink) => link.onReceive(p => {
      depth++
      expect(depth).toBe(1)
      events.push(`${name} got ${p[0]}`)
      if (p[0]! < 4) link.send(pkt(p[0]! + 1))
      events.push(`${name} done ${p[0]}`)
      depth--
    })
    both('a', a)
    both('b', b)
    a.send(pkt(1))
    await tick()
    expect(events).toEqual([
      'b got 1', 'b done 1', 'a got 2', 'a done 2', 'b got 3', 'b done 3', 'a got 4', 'a done 4',
    ])
  })

  it('keeps order between injected packets and packets from the peer', async () => {
    const [a, b] = linkPair()
    const got: number[] = []
    b.onReceive(p => got.push(p[0]!))
    b.inject(pkt(1))
    a.send(pkt(2))
    b.inject(pkt(3))
    await tick()
    expect(got).toEqual([1, 2, 3])
  })

  it('captures what an unconnected link sends, and take() empties the outbox', () => {
    const link = new MemoryLink()
    link.send(pkt(1))
    link.send(pkt(2))
    expect(link.outbox.map(p => p[0])).toEqual([1, 2])
    expect(link.take().map(p => p[0])).toEqual([1, 2])
    expect(link.outbox).toEqual([])
    link.send(pkt(3))
    expect(link.take().map(p => p[0])).toEqual([3])
  })

  it('inject() delivers as if from the wire, deferred', async () => {
    const link = new MemoryLink()
    const got: Uint8Array[] = []
    link.onReceive(p => got.push(p))
    const wire = pkt(0x45, 0, 0, 20)
    link.inject(wire)
    wire[0] = 0  // the link took a copy
    expect(got).toEqual([])
    await tick()
    expect(got).toEqual([pkt(0x45, 0, 0, 20)])
  })

  it('onSend sees every packet and can drop one (a lossy wire)', async () => {
    const [a, b] = linkPair()
    const got: number[] = []
    const seen: number[] = []
    b.onReceive(p => got.push(p[0]!))
    a.onSend = p => {
      seen.push(p[0]!)
      return p[0] !== 2
    }
    a.send(pkt(1))
    a.send(pkt(2))
    a.send(pkt(3))
    await tick()
    expect(seen).toEqual([1, 2, 3])
    expect(got).toEqual([1, 3])
    expect(a.counters.dropped).toBe(1)
  })

  it('drops packets bigger than the MTU', async () => {
    const link = new MemoryLink({ mtu: 4 })
    link.send(new Uint8Array(5))
    link.send(new Uint8Array(4))
    expect(link.outbox.length).toBe(1)
    expect(link.counters.dropped).toBe(1)
    const [a] = linkPair({ mtu: 576 })
    expect(a.mtu).toBe(576)
    expect(new MemoryLink().mtu).toBe(1500)
  })

  it('close() stops delivery both ways, including packets already queued', async () => {
    const [a, b] = linkPair()
    const atA: number[] = []
    const atB: number[] = []
    a.onReceive(p => atA.push(p[0]!))
    b.onReceive(p => atB.push(p[0]!))
    a.send(pkt(1))  // queued towards b
    b.send(pkt(2))  // queued towards a
    a.close()
    a.send(pkt(3))
    b.send(pkt(4))
    a.inject(pkt(5))
    await tick()
    expect(atA).toEqual([])
    expect(atB).toEqual([])
    expect(a.closed).toBe(true)
    expect(b.closed).toBe(false)
    a.close()  // idempotent
  })

  it('a handler that throws does not lose the packets behind it', async () => {
    const link = new MemoryLink()
    const got: number[] = []
    link.onReceive(p => {
      got.push(p[0]!)
      if (p[0] === 1) throw new Error('boom')
    })
    const errors: unknown[] = []
    const onError = (e: unknown) => errors.push(e)
    process.on('uncaughtException', onError)
    try {
      link.inject(pkt(1))
      link.inject(pkt(2))
      await tick()
    } finally {
      process.off('uncaughtException', onError)
    }
    expect(got).toEqual([1, 2])
  })
})
