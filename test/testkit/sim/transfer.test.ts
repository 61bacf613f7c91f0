// Bulk transfers across a bad network, seed after seed: every byte must arrive intact
// (SHA-256 on both ends) and every connection must end properly, through TIME-WAIT
// on the side that closed first (RFC 9293 3.6) and CLOSED on the other.
// A failure prints its seed and the command that replays it.

import { createHash } from 'node:crypto'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { SeededRandom } from '../../../src/stack/random'
import type { Socket } from '../../../src/stack/socket/socket'
import { DROP_REASONS } from '../../../src/stack/wire/drop'
import { Simulation, simSeeds, withSeed, type LinkModel } from '../../../src/testkit/sim'

const FILE = relative(process.cwd(), fileURLToPath(import.meta.url))
const CLIENT = '10.0.0.1'
const SERVER = '10.0.0.2'

function bytes(seed: number, n: number): Buffer {
  const r = new SeededRandom(seed)
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i += 4) b.writeUInt32LE(r.nextUint32(), i)
  return b
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

/**
 * The client sends `up` bytes and closes; the server reads them all, answers with
 * `down` bytes and closes. Returns what each side received and the simulation.
 */
async function transfer(seed: number, link: LinkModel, up: number, down: number) {
  const sim = new Simulation({ seed, link })
  const server = sim.addStack(SERVER, { mslMs: 5_000 })
  const client = sim.addStack(CLIENT, { mslMs: 5_000 })
  const request = bytes(seed, up)
  const response = bytes(seed + 1_000_000, down)
  const atServer: Buffer[] = []
  const atClient: Buffer[] = []
  let serverEnded = false
  let clientEnded = false
  server.createServer({ allowHalfOpen: true }, (s: Socket) => {
    s.on('data', (c: Buffer) => atServer.push(c))
    s.on('end', () => {
      serverEnded = true
      s.end(response)
    })
  }).listen(9000)
  const sock = client.connect({ host: SERVER, port: 9000, allowHalfOpen: true })
  sock.on('data', (c: Buffer) => atClient.push(c))
  sock.on('end', () => { clientEnded = true })
  sock.end(request)
  await sim.runUntilQuiet()
  return { sim, server, client, request, response, atServer: Buffer.concat(atServer), atClient: Buffer.concat(atClient), serverEnded, clientEnded }
}

/** Wire-level drops (bad checksums and the like) across both stacks. */
function wireDrops(...stacks: { counters: { drops: Record<string, number> } }[]): number {
  let n = 0
  for (const s of stacks) for (const r of DROP_REASONS) n += s.counters.drops[r] ?? 0
  return n
}

const BAD_WIRE: LinkModel = { delayMs: 10, jitterMs: 4, loss: 0.02, duplicate: 0.02, reorder: 0.03, corrupt: 0.01 }

describe('1 MiB up and 256 KiB down over a lossy, reordering, duplicating, corrupting wire', () => {
  for (const seed of simSeeds(6)) {
    it(`seed ${seed}: every byte intact, both ends closed`, async () => {
      await withSeed(seed, FILE, async () => {
        const r = await transfer(seed, BAD_WIRE, 1 << 20, 256 << 10)
        expect(r.sim.internalErrors).toEqual([])
        expect(r.atServer.length).toBe(r.request.length)
        expect(sha256(r.atServer)).toBe(sha256(r.request))
        expect(sha256(r.atClient)).toBe(sha256(r.response))
        expect(r.serverEnded && r.clientEnded).toBe(true)
        // The client closed first: it went through TIME-WAIT; the server through LAST-ACK.
        const ends = r.sim.stateChanges.filter(c => c.to === 'CLOSED')
        expect(ends.map(c => `${c.host} ${c.from} (${c.cause})`).sort()).toEqual([
          `${CLIENT} TIME-WAIT (2MSL timeout)`, `${SERVER} LAST-ACK (ACK of FIN received)`,
        ])
        expect(r.client.connections()).toEqual([])
        expect(r.server.connections()).toEqual([])
        // Every corrupted packet that arrived was dropped by a checksum (or length) check.
        const corrupted = r.sim.path(CLIENT, SERVER).counters.corrupted + r.sim.path(SERVER, CLIENT).counters.corrupted
        expect(wireDrops(r.client, r.server)).toBe(corrupted)
      })
    }, 60_000)
  }
})

describe('full duplex through an echo server over a narrow, very lossy wire', () => {
  const NARROW: LinkModel = { delayMs: 15, jitterMs: 5, loss: 0.1, duplicate: 0.03, reorder: 0.05, corrupt: 0.02, bandwidthBps: 20_000_000, queueBytes: 64_000 }
  for (const seed of simSeeds(4)) {
    it(`seed ${seed}: 256 KiB echoed back intact while still being sent`, async () => {
      await withSeed(seed, FILE, async () => {
        const sim = new Simulation({ seed, link: NARROW })
        const server = sim.addStack(SERVER)
        const client = sim.addStack(CLIENT)
        server.createServer((s: Socket) => s.pipe(s)).listen(7)
        const data = bytes(seed, 256 << 10)
        const sock = client.connect({ host: SERVER, port: 7 })
        const back: Buffer[] = []
        sock.on('data', (c: Buffer) => back.push(c))
        sock.end(data)
        await sim.runUntilQuiet()
        expect(sim.internalErrors).toEqual([])
        expect(sha256(Buffer.concat(back))).toBe(sha256(data))
        expect(client.connections()).toEqual([])
        expect(server.connections()).toEqual([])
      })
    }, 60_000)
  }
})
