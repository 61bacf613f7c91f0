// Every way of closing (RFC 9293 3.6), seed after seed, over a wire that loses,
// duplicates, reorders and corrupts: whatever is lost, each end must walk its own
// close path to the end and finish CLOSED, the active closer by way of TIME-WAIT.

import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { Socket } from '../../../src/stack/socket/socket'
import type { Stack } from '../../../src/stack/stack'
import { Simulation, simSeeds, withSeed, type LinkModel } from '../../../src/testkit/sim'

const FILE = relative(process.cwd(), fileURLToPath(import.meta.url))
const CLIENT = '10.0.0.1'
const SERVER = '10.0.0.2'
const WIRE: LinkModel = { delayMs: 20, jitterMs: 10, loss: 0.1, duplicate: 0.05, reorder: 0.1, corrupt: 0.03 }

function setup(seed: number) {
  const sim = new Simulation({ seed, link: WIRE })
  // The default MSL (30 s): a TIME-WAIT much shorter than the peer's backed-off
  // retransmission timeout could end before a retransmitted FIN arrives (then a RST answers it).
  const server = sim.addStack(SERVER)
  const client = sim.addStack(CLIENT)
  return { sim, server, client }
}

/** The state path each host's connection took, e.g. 'ESTABLISHED -> FIN-WAIT-1 -> ... -> CLOSED'. */
function paths(sim: Simulation): Record<string, string> {
  const out: Record<string, string> = {}
  for (const c of sim.stateChanges) out[c.host] = (out[c.host] ?? c.from) + ' -> ' + c.to
  return out
}

function allClosed(sim: Simulation, ...stacks: Stack[]): void {
  expect(sim.internalErrors).toEqual([])
  for (const s of stacks) expect(s.connections()).toEqual([])
}

describe('close paths under loss', () => {
  for (const seed of simSeeds(8)) {
    it(`seed ${seed}: the server closes first (daytime): server through TIME-WAIT, client through LAST-ACK`, () =>
      withSeed(seed, FILE, async () => {
        const { sim, server, client } = setup(seed)
        server.createServer((s: Socket) => s.end('the time is now\r\n')).listen(13)
        const sock = client.connect({ host: SERVER, port: 13 })
        let text = ''
        sock.on('data', (c: Buffer) => { text += c.toString() })
        await sim.runUntilQuiet()
        expect(text).toBe('the time is now\r\n')
        allClosed(sim, server, client)
        const p = paths(sim)
        expect(p[SERVER], p[SERVER]).toMatch(/^LISTEN -> SYN-RECEIVED -> ESTABLISHED -> FIN-WAIT-1 -> ((FIN-WAIT-2|CLOSING) -> )?TIME-WAIT -> CLOSED$/)
        expect(p[CLIENT], p[CLIENT]).toMatch(/^CLOSED -> SYN-SENT -> ESTABLISHED -> CLOSE-WAIT -> LAST-ACK -> CLOSED$/)
      }))

    it(`seed ${seed}: both close at once: each end through FIN-WAIT-1 and TIME-WAIT`, () =>
      withSeed(seed, FILE, async () => {
        const { sim, server, client } = setup(seed)
        let serverSock: Socket | null = null
        server.createServer({ allowHalfOpen: true }, (s: Socket) => {
          serverSock = s
          s.resume()
        }).listen(9)
        const sock = client.connect({ host: SERVER, port: 9, allowHalfOpen: true })
        sock.resume()
        await sim.waitFor(() => serverSock !== null && sock.state === 'ESTABLISHED')
        sock.end()
        serverSock!.end()
        await sim.runUntilQuiet()
        allClosed(sim, server, client)
        // Which of CLOSING or FIN-WAIT-2 each end sees depends on what the wire lost.
        for (const host of [CLIENT, SERVER]) {
          expect(paths(sim)[host]).toMatch(/-> ESTABLISHED -> FIN-WAIT-1 -> (CLOSING|FIN-WAIT-2|TIME-WAIT)( -> TIME-WAIT)? -> CLOSED$/)
          expect(paths(sim)[host]).toContain('TIME-WAIT')
        }
      }))

    it(`seed ${seed}: an abort (RST) ends both ends, and the peer sees ECONNRESET`, () =>
      withSeed(seed, FILE, async () => {
        const { sim, server, client } = setup(seed)
        const errors: string[] = []
        let serverSock: Socket | null = null
        server.createServer((s: Socket) => {
          serverSock = s
          s.on('error', (e: Error & { code?: string }) => errors.push(e.code ?? e.message))
          s.resume()
        }).listen(9)
        const sock = client.connect({ host: SERVER, port: 9 })
        sock.write('some bytes first')
        await sim.waitFor(() => sock.state === 'ESTABLISHED' && serverSock?.state === 'ESTABLISHED')
        sock.destroy()
        await sim.runUntilQuiet()
        if (serverSock!.state === 'ESTABLISHED') {
          // The RST was lost: the server holds a half-open connection until it sends
          // something, which then draws a RST from the client (RFC 9293 3.5.2).
          serverSock!.write('anyone there?')
          await sim.runUntilQuiet()
        }
        expect(errors).toEqual(['ECONNRESET'])
        allClosed(sim, server, client)
        expect(paths(sim)[CLIENT]).toBe('CLOSED -> SYN-SENT -> ESTABLISHED -> CLOSED')
      }))
  }
})
