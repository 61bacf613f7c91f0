// Output coalescing against the kernel (tcp-layer.ts holdOutput, Stack.endBatch): node:http
// answers a `Connection: close` request with the response and, a few process.nextTick
// callbacks later, ends the socket. Both wait for the end of the TUN batch that carried
// the request, so curl's kernel gets the response and our FIN in one segment: three
// segments from us per connection (SYN,ACK; response + FIN; the ACK of curl's FIN), and
// curl still reads the whole page. With tcp.outputCoalescing off the FIN is a fourth.

import { describe, expect, it } from 'vitest'
import { serveAll } from '../../src/apps/index'
import { FIN, SYN, type TcpSegment } from '../../src/stack/wire/tcp'
import { run, stackOnTun } from './helpers'
import { requireFreshNetns } from './netns'

const KERNEL = '10.83.0.1'
const ADDR = '10.83.0.2'

/** curl GET / with Connection: close on a fresh stack; what we sent on that connection, as (payload bytes, FIN) pairs. */
async function oneRequest(dev: string, outputCoalescing: boolean): Promise<{ body: string; out: [number, boolean][] }> {
  requireFreshNetns()
  const t = stackOnTun(dev, KERNEL, ADDR, { tcp: { outputCoalescing } })
  try {
    serveAll(t.stack)
    const out: [number, boolean][] = []
    t.stack.on('segment', (dir: string, { seg }: { seg: TcpSegment }) => {
      if (dir === 'out' && seg.srcPort === 80 && !(seg.flags & SYN)) out.push([seg.payload.length, (seg.flags & FIN) !== 0])
    })
    const r = await run('curl', ['-sS', '--max-time', '10', '-H', 'Connection: close', `http://${ADDR}/`])
    expect(r.code).toBe(0)
    expect(t.internalErrors).toEqual([])
    return { body: r.stdout.toString(), out }
  } finally {
    await t.close()
  }
}

describe('output coalescing over TUN', () => {
  it('node:http\'s response and the FIN after it go as one segment (Connection: close)', async () => {
    const { body, out } = await oneRequest('tkcoal0', true)
    expect(body).toContain('tuntcp')
    expect(out.length).toBe(2) // response + FIN, then the ACK of curl's FIN
    expect(out[0]![0]).toBeGreaterThan(0)
    expect(out[0]![1]).toBe(true)
    expect(out[1]).toEqual([0, false])
  })

  it('with tcp.outputCoalescing false the FIN is a segment of its own', async () => {
    const { body, out } = await oneRequest('tkcoal1', false)
    expect(body).toContain('tuntcp')
    expect(out.filter(([len, fin]) => len > 0 && !fin).length).toBe(1)
    expect(out.filter(([len, fin]) => len === 0 && fin).length).toBe(1)
  })
})
