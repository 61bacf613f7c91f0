// TUN offload against the kernel: with IFF_VNET_HDR and TUNSETOFFLOAD the kernel
// hands the stack large (GSO) segments and takes large ones from it, cutting them
// at the MSS itself; with --no-offload every packet fits the MTU. Either way a
// kernel socket gets every byte back from echo, and curl gets /bytes intact.

import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { connect as netConnect } from 'node:net'
import { describe, expect, it } from 'vitest'
import { chargenBytes } from '../../src/apps/chargen'
import { serveAll } from '../../src/apps/index'
import { Stack } from '../../src/stack/stack'
import { configureKernelSide } from '../../src/tun/iproute'
import { TunDevice } from '../../src/tun/tun-device'
import { sha } from './helpers'
import { requireFreshNetns } from './netns'

const KERNEL = '10.68.0.1'
const ADDR = '10.68.0.2'

/** Echo `size` random bytes through port 7 from a kernel socket; the bytes that came back. */
function echo(size: number): Promise<{ sent: Buffer; got: Buffer }> {
  const sent = randomBytes(size)
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const sock = netConnect({ host: ADDR, port: 7 }, () => sock.end(sent))
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('echo took over 20 s')) }, 20_000)
    sock.on('data', (c: Buffer) => chunks.push(c))
    sock.on('error', e => { clearTimeout(timer); reject(e) })
    sock.on('close', () => { clearTimeout(timer); resolve({ sent, got: Buffer.concat(chunks) }) })
  })
}

function curl(url: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-sS', '--max-time', '20', url], { stdio: ['ignore', 'pipe', 'inherit'] })
    const out: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.on('error', reject)
    child.on('close', code => code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`curl exited ${code}`)))
  })
}

/** Bring up a device and a stack serving everything, run `body`, and take them down again. */
async function withStack(offload: boolean, body: (stack: Stack, largest: { in: number; out: number }) => Promise<void>) {
  requireFreshNetns()
  const name = offload ? 'tkoff0' : 'tkoff1'
  const device = TunDevice.open({ name, mtu: 1500, offload })
  try {
    configureKernelSide(name, `${KERNEL}/24`, 1500)
    const stack = new Stack({ address: ADDR, link: device, mslMs: 500 })
    const largest = { in: 0, out: 0 }
    stack.on('packet', (dir: 'in' | 'out', packet: Uint8Array) => { largest[dir] = Math.max(largest[dir], packet.length) })
    serveAll(stack)
    expect(device.offload).toBe(offload)
    await body(stack, largest)
    expect(stack.counters.drops['tcp-checksum']).toBeUndefined()
    expect(stack.counters.drops['internal-error']).toBeUndefined()
    await stack.shutdown(300)
  } finally {
    device.close()
  }
}

describe('TUN offload', () => {
  it('on: large segments both ways, checksums left to the kernel, every byte intact', async () => {
    await withStack(true, async (_stack, largest) => {
      const { sent, got } = await echo(4 << 20)
      expect(sha(got)).toBe(sha(sent))
      const body = await curl(`http://${ADDR}/bytes/8388608`)
      expect(sha(body)).toBe(sha(chargenBytes(0, 8 << 20)))
      expect(largest.in).toBeGreaterThan(1500)
      expect(largest.out).toBeGreaterThan(1500)
    })
  })

  it('on: an upload from a kernel socket gets an ACK once 64 KiB is held, not one per batch (ackCoalescingMaxBytes, as Linux ACKs each GRO packet)', async () => {
    await withStack(true, async stack => {
      const size = 32 << 20
      // Bytes of in-order data received and not yet ACKed, as the segments go by; `late`
      // counts data segments that came while more was held than the rule allows.
      let rcvNxt: number | null = null
      let held = 0
      let late = 0
      let acks = 0
      let largest = 0
      stack.on('segment', (dir: 'in' | 'out', { seg }: { seg: { dstPort: number; srcPort: number; seq: number; ack: number; flags: number; payload: Uint8Array } }) => {
        if (dir === 'in' && seg.dstPort === 9 && seg.payload.length > 0 && (rcvNxt === null || seg.seq === rcvNxt)) {
          if (held + 1460 > 65_536) late++
          held += seg.payload.length
          largest = Math.max(largest, seg.payload.length)
          rcvNxt = (seg.seq + seg.payload.length) >>> 0
        } else if (dir === 'out' && seg.srcPort === 9 && rcvNxt !== null && seg.ack === rcvNxt) {
          if (held > 0) acks++
          held = 0
        }
      })
      await new Promise<void>((resolve, reject) => {
        const sock = netConnect({ host: ADDR, port: 9 }, () => sock.end(Buffer.alloc(size, 1)))
        const timer = setTimeout(() => { sock.destroy(); reject(new Error('upload took over 20 s')) }, 20_000)
        sock.on('error', e => { clearTimeout(timer); reject(e) })
        sock.on('close', () => { clearTimeout(timer); resolve() })
      })
      console.log(`upload of ${size} bytes: ${acks} ACKs for data, ${(size / acks / 1024).toFixed(1)} KiB each, largest segment ${largest} bytes`)
      expect(largest).toBeGreaterThan(1500) // offloaded segments came
      expect(late).toBe(0)
      // With the whole batch behind one ACK: 63 ACKs for this upload, 520 KiB each.
      expect(size / acks).toBeLessThan(128 << 10)
    })
  })

  it('off (--no-offload): nothing larger than the MTU either way, the same bytes', async () => {
    await withStack(false, async (stack, largest) => {
      const { sent, got } = await echo(1 << 20)
      expect(sha(got)).toBe(sha(sent))
      const body = await curl(`http://${ADDR}/bytes/2097152`)
      expect(sha(body)).toBe(sha(chargenBytes(0, 2 << 20)))
      expect(largest.in).toBeLessThanOrEqual(1500)
      expect(largest.out).toBeLessThanOrEqual(1500)
      // Header prediction took pure ACKs (the download) and in-order data (the upload half of
      // the echo); segments read in one batch shared one ACK (ACK coalescing).
      expect(stack.counters.fastPathAcks).toBeGreaterThan(0)
      expect(stack.counters.fastPathData).toBeGreaterThan(0)
      expect(stack.counters.acksCoalesced).toBeGreaterThan(0)
    })
  })
})
