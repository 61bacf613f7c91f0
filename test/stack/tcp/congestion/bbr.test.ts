// BBR v1 on a clean, rate-limited path in virtual time (src/testkit/sim): Startup finds the
// bottleneck rate, Drain empties the queue, ProbeBW cycles its gains, ProbeRTT comes after
// 10 s without a lower RTT; pacing spaces the sends; the delivery rate reaches TCP_INFO.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { Socket } from '../../../../src/stack/socket/socket'
import type { Tcb } from '../../../../src/stack/tcp/tcb'
import { Bbr, BBR_PACING_GAINS } from '../../../../src/stack/tcp/congestion/bbr'
import { Simulation, type LinkModel } from '../../../../src/testkit/sim'

const SERVER = '10.0.0.2'
const CLIENT = '10.0.0.1'
/** 20 Mbit/s = 2500 bytes per ms, 20 ms each way, a queue of 200 KB (about 2 BDP). */
const LINK: LinkModel = { bandwidthBps: 20_000_000, queueBytes: 200_000, delayMs: 20 }
const BOTTLENECK = 2_500 // bytes per ms on the wire, IP and TCP headers included

const tcbOf = (s: Socket) => (s as unknown as { connection: Tcb }).connection
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

/** The server sends `bytes` with BBR; every `stepMs` of virtual time `watch` sees its Bbr. */
async function download(bytes: number, watch: (bbr: Bbr, tcb: Tcb, now: number) => void, stepMs = 5, limitMs = 120_000) {
  const sim = new Simulation({ seed: 1, link: LINK })
  const server = sim.addStack(SERVER, { tcp: { congestionControl: 'bbr' } })
  const client = sim.addStack(CLIENT)
  const body = Buffer.alloc(bytes)
  for (let i = 0; i < bytes; i++) body[i] = (i * 7 + (i >> 11)) & 0xff
  let sender: Socket | undefined
  server.createServer(s => { sender = s; s.end(body) }).listen(80)
  const chunks: Buffer[] = []
  let ended = false
  const c = client.connect({ host: SERVER, port: 80 })
  c.on('data', (d: Buffer) => chunks.push(d))
  c.on('end', () => { ended = true })
  while (!ended && sim.now() < limitMs) {
    await sim.runFor(stepMs)
    if (sender !== undefined && sender.state !== 'CLOSED') watch(tcbOf(sender).cc as Bbr, tcbOf(sender), sim.now())
  }
  expect(ended).toBe(true)
  expect(sha(Buffer.concat(chunks))).toBe(sha(body))
  return { sim, sender: sender! }
}

describe('BBR v1 on a clean 20 Mbit/s path', () => {
  it('Startup finds the bottleneck rate, Drain and ProbeBW follow, the gains cycle, ProbeRTT after 10 s', async () => {
    const modes: string[] = []
    const gains = new Set<number>()
    let btlBwAtProbeBw = 0
    let probeRttAt = 0
    let probeRttCwnd = Infinity
    let mss = 0
    await download(32 << 20, (bbr, tcb, now) => {
      mss = tcb.sndMss
      if (modes[modes.length - 1] !== bbr.mode) modes.push(bbr.mode)
      if (bbr.mode === 'probe-bw') {
        gains.add(bbr.pacingGain)
        btlBwAtProbeBw ||= bbr.btlBw
      }
      if (bbr.mode === 'probe-rtt') {
        expect(tcb.sent.rate.appLimited).toBeGreaterThan(0) // ProbeRTT's low rate is not the path's
        probeRttAt ||= now
        probeRttCwnd = Math.min(probeRttCwnd, bbr.cwnd)
      }
    })
    expect(modes.slice(0, 3)).toEqual(['startup', 'drain', 'probe-bw'])
    // The payload's share of the wire: 1448 of every 1500 bytes (with 1500-byte packets, timestamps on, 1448 + 52).
    const goodputShare = mss / (mss + 52)
    expect(btlBwAtProbeBw).toBeGreaterThan(0.85 * BOTTLENECK * goodputShare)
    expect(btlBwAtProbeBw).toBeLessThan(1.15 * BOTTLENECK)
    for (const g of new Set(BBR_PACING_GAINS)) expect(gains.has(g)).toBe(true)
    expect(modes).toContain('probe-rtt')
    expect(probeRttAt).toBeGreaterThan(10_000)
    expect(probeRttCwnd).toBe(4 * mss)
    // ProbeRTT ends: ProbeBW again.
    expect(modes.slice(modes.indexOf('probe-rtt'))).toContain('probe-bw')
  }, 120_000)

  it('keeps the queue short in ProbeBW: RTT near RTprop, goodput near the bottleneck', async () => {
    const rtts: number[] = []
    const { sim, sender } = await download(8 << 20, (bbr, tcb) => {
      if (bbr.mode === 'probe-bw' && tcb.rtt.srtt !== undefined) rtts.push(tcb.rtt.srtt)
    })
    const info = sender.info()
    expect(info.delivery_rate).toBeGreaterThan(0.8 * BOTTLENECK * 1000 * 0.96)
    expect(info.delivery_rate).toBeLessThan(1.15 * BOTTLENECK * 1000)
    rtts.sort((a, b) => a - b)
    const median = rtts[Math.floor(rtts.length / 2)]!
    expect(median).toBeLessThan(40 + 25) // 40 ms of propagation: at most about half a BDP queued
    expect(sim.path(SERVER, CLIENT).counters.queueDrops).toBeLessThan(50) // Startup may overflow the queue once
  }, 60_000)

  it('paces: new data leaves in quanta about the pacing rate apart, not in cwnd-sized bursts', async () => {
    const sim = new Simulation({ seed: 2, link: LINK })
    const server = sim.addStack(SERVER, { tcp: { congestionControl: 'bbr' } })
    const client = sim.addStack(CLIENT)
    let sender: Socket | undefined
    server.createServer(s => { sender = s; s.end(Buffer.alloc(4 << 20, 1)) }).listen(80)
    const c = client.connect({ host: SERVER, port: 80 })
    c.resume()
    // Watch the server's sends per ms once in ProbeBW.
    const perMs = new Map<number, number>()
    const route = sim.route.bind(sim)
    sim.route = (from, packet) => {
      if (from === 0x0a000002 && sender !== undefined && (tcbOf(sender).cc as Bbr).mode === 'probe-bw') {
        const t = Math.floor(sim.now())
        perMs.set(t, (perMs.get(t) ?? 0) + packet.length)
      }
      route(from, packet)
    }
    await sim.runFor(1_500)
    const bbr = tcbOf(sender!).cc as Bbr
    expect(bbr.mode).toBe('probe-bw')
    const rateBytesPerMs = bbr.pacingRate / 1000
    let most = 0
    for (const b of perMs.values()) most = Math.max(most, b)
    // A ms carries at most about one quantum at the highest gain (1.25) plus a segment: never a cwnd at once.
    expect(perMs.size).toBeGreaterThan(100)
    expect(most).toBeLessThan(1.25 * rateBytesPerMs + 2 * bbr.sendQuantum + 1600)
    expect(most).toBeLessThan(bbr.cwnd / 2)
  }, 60_000)
})
