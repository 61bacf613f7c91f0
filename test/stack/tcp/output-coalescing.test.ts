// Output coalescing (tcp-layer.ts holdOutput, Stack.endBatch): on a link that delivers
// packets in batches, what the application sends or closes while a batch is handled goes
// when the batch ends, so a response and the FIN after it leave as one segment, with the
// ACK of the request on board. Outside a batch every SEND goes at once, as before.

import { describe, expect, it } from 'vitest'
import { settle } from '../../helpers/virtual-time'
import { batchedPeer } from '../../helpers/batched-peer'
import { ACK, FIN } from '../../../src/stack/wire/tcp'
import type { Socket } from '../../../src/stack/socket/socket'
import type { TcpConfig } from '../../../src/stack/tcp/config'

const REQUEST = new TextEncoder().encode('GET / HTTP/1.0\r\n\r\n')
const RESPONSE = Buffer.from('HTTP/1.0 200 OK\r\n\r\nhello')

/** One connection on a batching link; `onData` is the server's reaction to data. */
const served = (onData: (s: Socket) => void, tcp: Partial<TcpConfig> = {}) => batchedPeer(tcp, s => s.on('data', () => onData(s)))

describe('output coalescing on a batching link', () => {
  it('a response written and ended while the request is handled leaves as one segment: data, FIN and the ACK', async () => {
    const t = await served(s => { s.write(RESPONSE); s.end() })
    t.link.inject(t.segment(ACK, 101, t.iss + 1, REQUEST))
    await settle()
    const out = t.sent()
    expect(out).toHaveLength(1)
    expect(out[0]!.flags & (FIN | ACK)).toBe(FIN | ACK)
    expect(out[0]!.ack).toBe(101 + REQUEST.length) // the request is acknowledged: no ACK of its own
    expect(Buffer.from(out[0]!.payload).equals(RESPONSE)).toBe(true)
    expect(t.socket.state).toBe('FIN-WAIT-1')
  })

  it('a response written from the data handler waits for the FIN of a later nextTick: the text step leaves it to the batch end', async () => {
    const t = await served(s => { s.write(RESPONSE); process.nextTick(() => s.end()) })
    t.link.inject(t.segment(ACK, 101, t.iss + 1, REQUEST))
    await settle()
    const out = t.sent()
    expect(out.map(s => [s.payload.length, s.flags & FIN])).toEqual([[RESPONSE.length, FIN]])
  })

  it('several writes in one batch go as one segment', async () => {
    const t = await served(s => { s.write('a'); s.write('b'); s.write('c') })
    t.link.inject(t.segment(ACK, 101, t.iss + 1, REQUEST))
    await settle()
    const out = t.sent()
    expect(out.map(s => Buffer.from(s.payload).toString())).toEqual(['abc'])
  })

  it('a bulk write, more than one send, is not held: it goes while the batch is handled, as the window allows', async () => {
    let duringBatch = -1
    const t = await served(s => {
      s.write(Buffer.alloc(20_000, 0x62)) // more than one segment (no offload here)
      duringBatch = t.sent().length // what the link has been handed already, inside the batch
    })
    t.link.inject(t.segment(ACK, 101, t.iss + 1, REQUEST))
    await settle()
    expect(duringBatch).toBeGreaterThan(1) // the window's worth at once, not at the batch end
  })

  it('a write outside any batch goes at once', async () => {
    const t = await served(() => {})
    t.socket.write('now')
    const out = t.sent() // no settle: nothing waits for a batch end
    expect(out.map(s => Buffer.from(s.payload).toString())).toEqual(['now'])
  })

  it('is off with tcp.outputCoalescing false: the response goes at once and the FIN after it', async () => {
    const t = await served(s => { s.write(RESPONSE); s.end() }, { outputCoalescing: false })
    t.link.inject(t.segment(ACK, 101, t.iss + 1, REQUEST))
    await settle()
    const out = t.sent()
    expect(out.map(s => [s.payload.length, s.flags & FIN])).toEqual([[RESPONSE.length, 0], [0, FIN]])
  })

  it('a response written in a nextTick and ended in the next (as node:http does) still leaves as one segment', async () => {
    const t = await served(s => process.nextTick(() => { s.write(RESPONSE); process.nextTick(() => s.end()) }))
    t.link.inject(t.segment(ACK, 101, t.iss + 1, REQUEST))
    await settle()
    const out = t.sent()
    expect(out.map(s => [s.payload.length, s.flags & FIN, s.ack])).toEqual([[RESPONSE.length, FIN, 101 + REQUEST.length]])
  })
})
