// BBR (congestionControl: 'bbr') against a kernel peer over the bad wire of lossy.test.ts:
// 5% loss, 5 ms +-1 ms delay, 10% reordering, 1% duplication and 0.5% corruption each way
// (test/helpers/netem-profile.ts; tc netem toward the stack, the stack's own faults away).
// curl downloads from the stack: every byte intact (SHA-256), at a goodput no loss-based
// sender reaches through 5% loss (docs/congestion-control.md). TUNTCP_LOSSY_MIB (default 20) MiB.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chargenBytes } from '../../src/apps/chargen'
import { serveAll } from '../../src/apps/index'
import { Stack } from '../../src/stack/stack'
import { TunDevice } from '../../src/tun/tun-device'
import { run, sha } from './helpers'
import { stackBehindBadWire } from './bad-wire'
import { requireFreshNetns } from './netns'

const DEV = 'tkbbr0'
const KERNEL = '10.65.0.1'
const ADDR = '10.65.0.2'
const MiB = 1024 * 1024
const SIZE = Math.round(Number(process.env.TUNTCP_LOSSY_MIB ?? 20) * MiB)
const TRANSFER_LIMIT_MS = Math.max(60_000, Math.ceil((SIZE / 100_000) * 1000))

let device: TunDevice | undefined
let stack: Stack
const internalErrors: unknown[] = []

beforeAll(() => {
  requireFreshNetns()
  const wire = stackBehindBadWire(DEV, KERNEL, ADDR, { tcp: { congestionControl: 'bbr' } })
  device = wire.device
  stack = wire.stack
  stack.on('internal-error', (e: unknown) => internalErrors.push(e))
  serveAll(stack)
}, 20_000)

afterAll(async () => {
  await stack?.shutdown(300)
  device?.close()
})

describe('BBR through the bad wire', () => {
  it(`curl GET /bytes/${SIZE} from a BBR sender: every byte intact (SHA-256)`, async () => {
    const t0 = Date.now()
    const r = await run('curl', ['-sS', '--fail', '--max-time', String(TRANSFER_LIMIT_MS / 1000), `http://${ADDR}/bytes/${SIZE}`], { timeoutMs: TRANSFER_LIMIT_MS + 5_000 })
    const seconds = (Date.now() - t0) / 1000
    const c = stack.counters
    console.log(`lossy-bbr: curl /bytes/${SIZE}: ${seconds.toFixed(1)} s, ${(SIZE / seconds / 1e6).toFixed(2)} MB/s; stack sent ${c.segmentsOut} segments, retransmitted ${c.retransmissions}` +
      ` (fast retransmits ${c.fastRetransmits}, timeouts ${c.retransmitTimeouts}, undone ${c.spuriousRecoveries})`)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.length).toBe(SIZE)
    expect(sha(r.stdout)).toBe(sha(chargenBytes(0, SIZE)))
    expect(internalErrors).toEqual([])
    // Loss-based senders, the kernel's CUBIC and Reno included, stay under 1 MB/s through this profile.
    expect(SIZE / seconds).toBeGreaterThan(1e6)
    // About 5.5% are really lost; runs here resend 7% on a quiet machine, up to 35% on a loaded
    // one (docs/congestion-control.md, BBR, what is left). Half would mean something else.
    expect(c.retransmissions).toBeLessThan(0.5 * c.segmentsOut)
  }, TRANSFER_LIMIT_MS + 10_000)
})
