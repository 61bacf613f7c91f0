// The simulation itself: reproducible from its seed, link models that do what they
// say (delay, bandwidth, loss), any number of hosts, and runs that stop where asked.

import { describe, expect, it } from 'vitest'
import type { Stack } from '../../../src/stack/stack'
import type { Socket } from '../../../src/stack/socket/socket'
import { Simulation, SimulationError, type LinkModel } from '../../../src/testkit/sim'

/** A client at .1 sends `n` bytes to a discard server at .2 and closes; resolves with the sim after it is quiet. */
async function upload(seed: number, link: LinkModel, n: number, record = false) {
  const sim = new Simulation({ seed, link, record })
  const server = sim.addStack('10.0.0.2', { mslMs: 1000 })
  const client = sim.addStack('10.0.0.1', { mslMs: 1000 })
  let received = 0
  let finishedAt = 0
  server.createServer((s: Socket) => {
    s.on('data', (c: Buffer) => { received += c.length })
    s.on('end', () => {
      finishedAt = sim.now()
      s.end()
    })
  }).listen(9)
  const sock = client.connect({ host: '10.0.0.2', port: 9 })
  sock.resume()
  sock.end(Buffer.alloc(n, 0x61))
  await sim.runUntilQuiet()
  return { sim, received, finishedAt }
}

const LOSSY: LinkModel = { delayMs: 3, jitterMs: 2, loss: 0.05, duplicate: 0.05, reorder: 0.1, corrupt: 0.02 }

describe('Simulation', () => {
  it('replays a run exactly from its seed: same events, same times, same packets', async () => {
    const a = await upload(42, LOSSY, 200_000, true)
    const b = await upload(42, LOSSY, 200_000, true)
    expect(a.sim.log.length).toBeGreaterThan(100)
    expect(b.sim.log).toEqual(a.sim.log)
    expect(b.sim.traceDigest()).toBe(a.sim.traceDigest())
    expect(b.sim.now()).toBe(a.sim.now())
    const c = await upload(43, LOSSY, 200_000)
    expect(c.sim.traceDigest()).not.toBe(a.sim.traceDigest())
    expect(c.received).toBe(200_000)
  })

  it('keeps a readable log of packets, faults and state changes', async () => {
    const { sim } = await upload(1, { delayMs: 1 }, 10, true)
    expect(sim.log.find(l => l.includes(' deliver '))).toMatch(/^1001\.000 deliver 10\.0\.0\.1:\d+ > 10\.0\.0\.2:9 S seq \d+ ack 0 win \d+ len 0$/)
    expect(sim.log.some(l => / 10\.0\.0\.1 \d+>10\.0\.0\.2:9 ESTABLISHED -> FIN-WAIT-1 \(CLOSE\)$/.test(l))).toBe(true)
  })

  it('carries IPv6 between hosts given address6, on the paths of their IPv4 addresses, and logs it', async () => {
    const sim = new Simulation({ seed: 3, link: { delayMs: 5, loss: 0.05, reorder: 0.1, jitterMs: 2 }, record: true })
    const server = sim.addStack('10.0.0.2', { address6: 'fd00::2', mslMs: 1000 })
    const client = sim.addStack('10.0.0.1', { address6: 'fd00::1', mslMs: 1000 })
    let received = 0
    server.createServer((s: Socket) => { s.on('data', (c: Buffer) => { received += c.length }); s.on('end', () => s.end()) }).listen(9)
    const sock = client.connect({ host: 'fd00::2', port: 9 })
    sock.resume()
    sock.end(Buffer.alloc(100_000, 0x61))
    await sim.runUntilQuiet()
    expect(received).toBe(100_000)
    expect(sim.log.find(l => l.includes(' deliver '))).toMatch(/deliver fd00::1:\d+ > fd00::2:9 S seq \d+ ack 0 win \d+ len 0$/)
    expect(sim.internalErrors).toEqual([])
    expect(() => sim.addStack('10.0.0.3', { address6: 'fd00::2' })).toThrow(/fd00::2 already has a host/)
  })

  it('delays every packet by delayMs: the handshake takes one round trip', async () => {
    const sim = new Simulation({ seed: 1, link: { delayMs: 25 } })
    const server = sim.addStack('10.0.0.2')
    const client = sim.addStack('10.0.0.1')
    server.createServer(() => {}).listen(80)
    let connectedAt = 0
    client.connect({ host: '10.0.0.2', port: 80 }, () => { connectedAt = sim.now() })
    await sim.waitFor(() => connectedAt > 0)
    expect(connectedAt).toBe(1000 + 2 * 25) // SYN there, SYN,ACK back
  })

  it('limits bandwidth: 1 MiB over 10 Mbit/s takes at least 0.84 s of virtual time', async () => {
    const { received, finishedAt } = await upload(5, { bandwidthBps: 10_000_000 }, 1 << 20)
    expect(received).toBe(1 << 20)
    const seconds = (finishedAt - 1000) / 1000
    expect(seconds).toBeGreaterThan((8 * (1 << 20)) / 10_000_000)
    expect(seconds).toBeLessThan(1.5) // headers and ACK clocking, not stalls
  })

  it('drops from the tail of a full queue and the transfer still completes', async () => {
    const { sim, received } = await upload(6, { bandwidthBps: 1_000_000, queueBytes: 8_000, delayMs: 5 }, 300_000)
    expect(sim.path('10.0.0.1', '10.0.0.2').counters.queueDrops).toBeGreaterThan(0)
    expect(received).toBe(300_000)
  })

  it('loses what the model says: loss 1 one way, and the SYN times out (ETIMEDOUT)', async () => {
    const sim = new Simulation({ seed: 2 })
    sim.addStack('10.0.0.2').createServer(() => {}).listen(80)
    const client = sim.addStack('10.0.0.1')
    sim.setLink('10.0.0.1', '10.0.0.2', { loss: 1 })
    const sock = client.connect({ host: '10.0.0.2', port: 80 })
    let error: (Error & { code?: string }) | undefined
    sock.on('error', e => { error = e })
    await sim.runUntilQuiet()
    expect(error?.code).toBe('ETIMEDOUT')
    const path = sim.path('10.0.0.1', '10.0.0.2')
    expect(path.counters.lost).toBe(path.counters.packets)
    expect(path.counters.delivered).toBe(0)
  })

  it('carries any number of hosts: five clients to one server at once', async () => {
    const sim = new Simulation({ seed: 9, link: { delayMs: 2, loss: 0.02 } })
    const server = sim.addStack('10.0.0.100', { mslMs: 1000 })
    const totals = new Map<string, number>()
    server.createServer((s: Socket) => {
      s.on('data', (c: Buffer) => totals.set(s.remoteAddress!, (totals.get(s.remoteAddress!) ?? 0) + c.length))
      s.on('end', () => s.end())
    }).listen(9)
    const clients: Stack[] = []
    for (let i = 1; i <= 5; i++) {
      const c = sim.addStack(`10.0.0.${i}`, { mslMs: 1000 })
      clients.push(c)
      const sock = c.connect({ host: '10.0.0.100', port: 9 })
      sock.resume()
      sock.end(Buffer.alloc(i * 10_000, i))
    }
    await sim.runUntilQuiet()
    for (let i = 1; i <= 5; i++) expect(totals.get(`10.0.0.${i}`)).toBe(i * 10_000)
    for (const c of [server, ...clients]) expect(c.connections()).toEqual([])
    expect(sim.internalErrors).toEqual([])
  })

  it('runUntil stops at a virtual deadline; runUntilQuiet fails with the seed when it cannot finish', async () => {
    const sim = new Simulation({ seed: 77, link: { delayMs: 1, bandwidthBps: 10_000_000 } })
    const server = sim.addStack('10.0.0.2')
    const client = sim.addStack('10.0.0.1')
    // A server that talks forever (like chargen): the network never goes quiet.
    server.createServer((s: Socket) => {
      const more = () => { while (s.write(Buffer.alloc(1000))); }
      s.on('drain', more)
      more()
    }).listen(19)
    client.connect({ host: '10.0.0.2', port: 19 }).resume()
    await sim.runUntil(1_050)
    expect(sim.now()).toBe(1_050)
    const error = await sim.runUntilQuiet(20).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SimulationError)
    expect((error as Error).message).toBe('not quiet after 20 ms of virtual time (seed 77)')
  })

  it('counts packets for addresses no host has', async () => {
    const sim = new Simulation({ seed: 1 })
    const client = sim.addStack('10.0.0.1')
    const sock = client.connect({ host: '10.9.9.9', port: 80 })
    sock.on('error', () => {})
    await sim.runFor(1)
    expect(sim.unroutable).toBe(1)
  })

  it('refuses a second host on one address and bad link models', () => {
    const sim = new Simulation({ seed: 1 })
    sim.addStack('10.0.0.1')
    expect(() => sim.addStack('10.0.0.1')).toThrow('10.0.0.1 already has a host')
    expect(() => sim.setLink('10.0.0.1', '10.0.0.2', { loss: 1.5 })).toThrow(RangeError)
    expect(() => sim.setLink('10.0.0.1', '10.0.0.2', { bandwidthBps: 0 })).toThrow(RangeError)
  })
})
