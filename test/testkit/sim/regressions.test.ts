// Bugs the simulation found, each kept as a regression test once fixed: the smallest
// case that showed it, with the command that found it.

import { describe, expect, it } from 'vitest'
import type { Socket } from '../../../src/stack/socket/socket'
import { Simulation } from '../../../src/testkit/sim'

describe('found by simulation', () => {
  // A client that reconnects from the same port while the server still holds the old
  // connection in TIME-WAIT. RFC 6191 lets the server reopen on a SYN whose timestamp is
  // newer than the old incarnation's, which works when TSvals grow across incarnations of
  // one 4-tuple: RFC 7323 5.4 and Linux derive the TSval offset from a keyed hash of the
  // addresses. Ours was a fresh random number per connection, so about every other
  // reconnect was taken for an old duplicate: the server answered with its TIME-WAIT ACK,
  // the client reset, and the handshake waited out the 2MSL (60 s). Now the offset is
  // IsnGenerator.timestampOffset (src/stack/tcp/isn.ts), a keyed hash of the addresses.
  it('reopens a 4-tuple in TIME-WAIT at once, every time (RFC 6191, RFC 7323 5.4)', async () => {
    const sim = new Simulation({ seed: 1, link: { delayMs: 5 } })
    const server = sim.addStack('10.0.0.2')
    const client = sim.addStack('10.0.0.1')
    server.createServer((s: Socket) => s.end('time\r\n')).listen(13) // the server closes first: TIME-WAIT is on its side
    const handshakes: number[] = []
    for (let round = 0; round < 8; round++) {
      const start = sim.now()
      let connectedAt = 0
      let closed = false
      const sock = client.connect({ host: '10.0.0.2', port: 13, localPort: 5000 }, () => { connectedAt = sim.now() })
      sock.on('close', () => { closed = true })
      sock.resume()
      await sim.waitFor(() => closed && client.connections().length === 0)
      handshakes.push(connectedAt - start)
    }
    expect(server.connectionsByState()['TIME-WAIT']).toBe(1)
    expect(handshakes.filter(ms => ms > 1_000)).toEqual([])
  })
})
