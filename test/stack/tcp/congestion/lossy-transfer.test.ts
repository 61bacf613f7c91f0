// Many seeds of a bad wire, in virtual time: two stacks send 1 MiB each way at
// once through 5% loss, 10% reordering, 1% duplication and 0.5% corruption (the
// netem profile of test/kernel/lossy.test.ts, played by StackOptions.faults on
// both stacks' outbound paths), then close. Every byte must arrive intact, and
// both ends must finish the close (CLOSED, or TIME-WAIT for the first to close).
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { A, B, collect } from '../../../helpers/two-stacks'
import { NETEM_PROFILE } from '../../../helpers/netem-profile'
import { ClockGroup, runUntil } from '../../../helpers/virtual-time'
import { Stack } from '../../../../src/stack/stack'
import { SeededRandom } from '../../../../src/stack/random'
import { linkPair } from '../../../../src/tun/memory-link'
import type { Socket } from '../../../../src/stack/socket/socket'
import type { CongestionControlName } from '../../../../src/stack/tcp/congestion'

const SEEDS = 30
const SIZE = 1 << 20
const PROFILE = NETEM_PROFILE

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

function payload(seed: number): Buffer {
  const b = Buffer.alloc(SIZE)
  let x = seed * 2654435761 >>> 0
  for (let i = 0; i < SIZE; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    b[i] = x >>> 24
  }
  return b
}

/** Two stacks on one virtual clock, each sending through its own seeded faults. */
function lossyPair(seed: number, cc: CongestionControlName, sack: boolean) {
  const clock = new ClockGroup(1_000)
  const [linkA, linkB] = linkPair({ mtu: 1500 })
  const tcp = { congestionControl: cc, sack }
  const a = new Stack({ address: A, link: linkA, clock: clock.clock(), random: new SeededRandom(seed), tcp, faults: { ...PROFILE, seed: seed * 2 } })
  const b = new Stack({ address: B, link: linkB, clock: clock.clock(), random: new SeededRandom(seed + 1), tcp, faults: { ...PROFILE, seed: seed * 2 + 1 } })
  return { clock, a, b }
}

/** 1 MiB each way at once, then both close: every byte intact, both ends CLOSED or in TIME-WAIT. */
async function bothWays(seed: number, cc: CongestionControlName, sack: boolean) {
  const { clock, a, b } = lossyPair(seed, cc, sack)
  const up = payload(seed)
  const down = payload(seed + 1000)
  let server: Socket | undefined
  b.createServer({ allowHalfOpen: true }, s => {
    server = s
    s.end(down)
  }).listen(5001)
  const client = a.connect({ host: B, port: 5001, allowHalfOpen: true })
  const got = collect(client)
  client.end(up)
  await runUntil(clock, () => server !== undefined, 60_000)
  const serverGot = collect(server!)
  const done = () => got.ended() && serverGot.ended() &&
    ['CLOSED', 'TIME-WAIT'].includes(client.state) && ['CLOSED', 'TIME-WAIT'].includes(server!.state)
  const t0 = clock.now()
  await runUntil(clock, done, 600_000)
  if (process.env.LOSSY_DEBUG) console.log(`seed ${seed} ${cc} sack=${sack}: ${clock.now() - t0} ms virtual, rtx ${a.counters.retransmissions + b.counters.retransmissions}`)
  expect(sha(got.data())).toBe(sha(down))
  expect(sha(serverGot.data())).toBe(sha(up))
  expect(a.counters.retransmissions + b.counters.retransmissions).toBeGreaterThan(0)
}

describe('lossy transfers, many seeds (5% loss, reordering, duplicates, corruption)', () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const cc: CongestionControlName = seed % 2 === 0 ? 'newreno' : 'cubic'
    const sack = seed % 3 !== 0
    it(`seed ${seed}: 1 MiB each way intact, both ends closed (${cc}${sack ? ', SACK' : ''})`, () => bothWays(seed, cc, sack))
  }
})

describe('lossy transfers with BBR (the same profile and checks)', () => {
  for (let seed = 31; seed <= 36; seed++) {
    const sack = seed % 3 !== 0
    it(`seed ${seed}: 1 MiB each way intact, both ends closed (bbr${sack ? ', SACK' : ''})`, () => bothWays(seed, 'bbr', sack))
  }
})
