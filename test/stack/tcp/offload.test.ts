// Segmentation offload from the stack's side: on a link that cuts large TCP packets
// (a TUN device with TSO, here the in-memory link doing the same), the stack hands
// it whole multiples of the MSS with a partial checksum, and the peer still gets
// every byte in MSS-sized, fully checksummed segments.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { SeededRandom } from '../../../src/stack/random'
import { Stack } from '../../../src/stack/stack'
import { parseIPv4 } from '../../../src/stack/wire/ipv4'
import { parseTcp } from '../../../src/stack/wire/tcp'
import { linkPair } from '../../../src/tun/memory-link'
import { collect } from '../../helpers/two-stacks'
import { ClockGroup, runUntil } from '../../helpers/virtual-time'

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

function net(offload: boolean) {
  const clock = new ClockGroup(1_000)
  const [linkA, linkB] = linkPair({ mtu: 1500, tsoMaxPayload: 65_495 })
  const a = new Stack({ address: '10.0.0.1', link: linkA, clock: clock.clock(), random: new SeededRandom(1), offload })
  const b = new Stack({ address: '10.0.0.2', link: linkB, clock: clock.clock(), random: new SeededRandom(2), offload })
  // What each stack hands its link, and what arrives at the peer after the link cut it.
  const handed: number[] = []
  a.on('packet', (dir: string, packet: Uint8Array) => { if (dir === 'out') handed.push(packet.length) })
  const wire: Uint8Array[] = []
  b.on('packet', (dir: string, packet: Uint8Array) => { if (dir === 'in') wire.push(packet.slice()) })
  return { clock, a, b, handed, wire }
}

async function upload(offload: boolean, size: number) {
  const n = net(offload)
  const received = { data: (): Buffer => Buffer.alloc(0) }
  n.b.createServer(s => { Object.assign(received, collect(s)) }).listen(9)
  const sock = n.a.connect({ host: '10.0.0.2', port: 9 })
  const data = new Uint8Array(size)
  for (let i = 0; i < size; i++) data[i] = (i * 7) & 0xff
  sock.end(data)
  await runUntil(n.clock, () => sock.state === 'TIME-WAIT' || sock.state === 'CLOSED')
  return { ...n, data, got: received.data() }
}

describe('segmentation offload', () => {
  it('hands the link segments of many MSS, which reach the peer cut to the MSS with valid checksums', async () => {
    const { handed, wire, data, got, a, b } = await upload(true, 1 << 20)
    expect(sha(got)).toBe(sha(data))
    // The stack sent packets far beyond the MTU (whole multiples of the 1460-byte MSS).
    expect(Math.max(...handed)).toBeGreaterThan(1500)
    // On the wire every packet fits the MTU and parses with its checksum checked.
    for (const packet of wire) {
      expect(packet.length).toBeLessThanOrEqual(1500)
      const ip = parseIPv4(packet)
      expect(ip.ok).toBe(true)
      if (ip.ok) expect(parseTcp(ip.value.payload, ip.value.header.src, ip.value.header.dst).ok).toBe(true)
    }
    expect(a.counters.drops['tcp-checksum']).toBeUndefined()
    expect(b.counters.drops['tcp-checksum']).toBeUndefined()
  })

  it('sends nothing larger than the MTU with offload off, and the data is the same', async () => {
    const { handed, data, got } = await upload(false, 256 * 1024)
    expect(sha(got)).toBe(sha(data))
    expect(Math.max(...handed)).toBeLessThanOrEqual(1500)
  })
})
