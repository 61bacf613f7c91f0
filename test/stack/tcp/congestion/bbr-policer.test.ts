// BBR's policer detection (bbr-policer.ts): the long-term sampler on hand-made samples, then
// BBR on a simulated path with a token-bucket policer in virtual time (src/testkit/sim).
import { describe, expect, it } from 'vitest'
import type { Socket } from '../../../../src/stack/socket/socket'
import type { Tcb } from '../../../../src/stack/tcp/tcb'
import type { Bbr } from '../../../../src/stack/tcp/congestion/bbr'
import { LongTermBandwidth, LT_MAX_ROUNDS, LT_MIN_ROUNDS, type LtSample } from '../../../../src/stack/tcp/congestion/bbr-policer'
import { Simulation } from '../../../../src/testkit/sim'

/**
 * Feed `rounds` rounds of 10 ms at `rate` bytes per ms, `lossShare` of it lost, a loss on
 * every ACK; `t` carries the clock and totals from one call to the next.
 */
function feed(lt: LongTermBandwidth, t: LtSample, rounds: number, rate: number, lossShare: number, opts: { probeBw?: boolean; appLimited?: boolean } = {}): boolean[] {
  const restarts: boolean[] = []
  for (let r = 0; r < rounds; r++) {
    t.now += 10
    t.delivered += rate * 10
    t.lost += rate * 10 * lossShare
    t.roundStart = true
    t.appLimited = opts.appLimited ?? false
    t.losses = lossShare > 0
    restarts.push(lt.onSample(t, opts.probeBw ?? true))
  }
  return restarts
}

const start = (): LtSample => ({ now: 0, roundStart: false, appLimited: false, losses: true, delivered: 0, lost: 0 })

describe('the long-term sampler (bbr_lt_bw_sampling)', () => {
  it('two lossy intervals at one rate: the policed rate, their mean, used for 48 rounds, then sampling starts over', () => {
    const lt = new LongTermBandwidth()
    const t = start()
    lt.onSample(t, true) // the loss that starts the first interval
    feed(lt, t, LT_MIN_ROUNDS, 1000, 0.25)
    expect(lt.inUse).toBe(false) // one interval measured: its rate is kept, nothing is used yet
    expect(lt.bw).toBeCloseTo(1000, 0)
    feed(lt, t, LT_MIN_ROUNDS, 1100, 0.25) // within 1/8 of the first
    expect(lt.inUse).toBe(true)
    expect(lt.bw).toBeCloseTo(1050, 0)
    const restarts = feed(lt, t, LT_MAX_ROUNDS, 1000, 0)
    expect(restarts.indexOf(true)).toBe(LT_MAX_ROUNDS - 1) // the 48th round start ends it
    expect(lt.inUse).toBe(false)
    expect(lt.bw).toBe(0)
  })

  it('rates that differ by more than 1/8 are no policer: the newer interval is kept and measured against', () => {
    const lt = new LongTermBandwidth()
    const t = start()
    lt.onSample(t, true)
    feed(lt, t, LT_MIN_ROUNDS, 1000, 0.25)
    feed(lt, t, LT_MIN_ROUNDS, 1500, 0.25)
    expect(lt.inUse).toBe(false)
    expect(lt.bw).toBeCloseTo(1500, 0)
    feed(lt, t, LT_MIN_ROUNDS, 1450, 0.25)
    expect(lt.inUse).toBe(true)
  })

  it('little loss, an app-limited sample, or an interval past 16 rounds: no policer', () => {
    const light = new LongTermBandwidth()
    const t1 = start()
    light.onSample(t1, true)
    feed(light, t1, 3 * LT_MIN_ROUNDS, 1000, 0.1) // 10% lost: below 50/256
    expect(light.inUse).toBe(false)
    expect(light.bw).toBe(0)

    const limited = new LongTermBandwidth()
    const t2 = start()
    limited.onSample(t2, true)
    feed(limited, t2, LT_MIN_ROUNDS, 1000, 0.25)
    feed(limited, t2, 1, 1000, 0.25, { appLimited: true }) // the application stopped: everything is forgotten
    expect(limited.bw).toBe(0)
    feed(limited, t2, LT_MIN_ROUNDS, 1000, 0.25)
    expect(limited.inUse).toBe(false) // one interval again, not two

    const long = new LongTermBandwidth()
    const t3 = start()
    long.onSample(t3, true)
    // Losses on the first ACKs only, then none for 17 rounds: the interval is too long and is dropped.
    feed(long, t3, 1, 1000, 0.3)
    feed(long, t3, 4 * LT_MIN_ROUNDS, 1000, 0)
    expect(long.bw).toBe(0)
    expect(long.inUse).toBe(false)
  })
})

const tcbOf = (s: Socket) => (s as unknown as { connection: Tcb }).connection

describe('BBR behind a token-bucket policer', () => {
  it('finds the policed rate and paces at it: half the retransmissions of BtlBw\'s probing, the same goodput', async () => {
    // A 100 Mbit/s link, 20 ms each way, policed to 10 Mbit/s with a 100 KB bucket.
    const sim = new Simulation({ seed: 1, link: { bandwidthBps: 100_000_000, queueBytes: 500_000, delayMs: 20, policerBps: 10_000_000, policerBurstBytes: 100_000 } })
    const server = sim.addStack('10.0.0.2', { tcp: { congestionControl: 'bbr' } })
    const client = sim.addStack('10.0.0.1')
    const bytes = 8 << 20
    let sender: Socket | undefined
    server.createServer(s => { sender = s; s.end(Buffer.alloc(bytes, 1)) }).listen(80)
    let got = 0
    let ended = false
    const c = client.connect({ host: '10.0.0.2', port: 80 })
    c.on('data', (d: Buffer) => { got += d.length })
    c.on('end', () => { ended = true })
    let policedMs = 0
    let policedRate = 0
    while (!ended && sim.now() < 60_000) {
      await sim.runFor(50)
      const bbr = sender === undefined ? undefined : tcbOf(sender).cc as Bbr
      if (bbr?.longTerm.inUse) {
        policedMs += 50
        policedRate = bbr.longTerm.bw
        expect(bbr.pacingGain).toBe(1) // no 1.25 probes into the policer
      }
    }
    expect(ended).toBe(true)
    expect(got).toBe(bytes)
    // The policer passes 10 Mbit/s of IP packets: 9.65 Mbit/s of payload in 1500-byte packets.
    expect(policedRate * 8 / 1000).toBeGreaterThan(9.0)
    expect(policedRate * 8 / 1000).toBeLessThan(10.5)
    expect(policedMs).toBeGreaterThan(0.5 * sim.now()) // most of the transfer
    // Without the sampler the same transfer resends 24.8% of its bytes (docs/congestion-control.md).
    const resent = (tcbOf(sender!).totalRetransmits * 1448) / bytes
    expect(resent).toBeLessThan(0.18)
    expect(sim.path('10.0.0.2', '10.0.0.1').counters.policerDrops).toBeGreaterThan(0)
    expect((got * 8) / sim.now() / 1000).toBeGreaterThan(8) // Mbit/s: the policer's rate, less Startup
  }, 60_000)
})
