// The socket options Linux programs set with setsockopt(), as Socket methods:
// TCP_CORK, MSG_EOR, TCP_USER_TIMEOUT (RFC 5482), SO_SNDBUF, SO_RCVBUF,
// TCP_NOTSENT_LOWAT, and the queue sizes of ioctl(SIOCINQ/SIOCOUTQ/SIOCOUTQNSD).
// Two stacks in virtual time.
import { describe, expect, it } from 'vitest'
import type { Socket } from '../../../src/stack/socket/socket'
import type { Stack } from '../../../src/stack/stack'
import type { TcpSegment } from '../../../src/stack/wire/tcp'
import { B, errorsOf, twoStacks } from '../../helpers/two-stacks'
import { runFor } from '../../helpers/virtual-time'

async function connected() {
  const net = twoStacks()
  const accepted: Socket[] = []
  net.b.createServer(s => accepted.push(s)).listen(7)
  const client = net.a.connect({ host: B, port: 7 })
  await runFor(net.clock, 10)
  expect(accepted).toHaveLength(1)
  return { net, client, peer: accepted[0]! }
}

/** Payload lengths of the data segments a stack sends. */
function payloadsOut(stack: Stack): number[] {
  const lengths: number[] = []
  stack.on('segment', (dir: 'in' | 'out', { seg }: { seg: TcpSegment }) => {
    if (dir === 'out' && seg.payload.length > 0) lengths.push(seg.payload.length)
  })
  return lengths
}

describe('TCP_CORK (setCork)', () => {
  it('holds partial segments while corked and sends them at once on uncork', async () => {
    const { net, client } = await connected()
    const out = payloadsOut(net.a)
    client.setNoDelay(true).setCork(true)
    client.write(Buffer.alloc(100))
    client.write(Buffer.alloc(200))
    await runFor(net.clock, 50)
    expect(out).toEqual([]) // corked: no partial segment goes, Nagle off or not
    client.setCork(false)
    await runFor(net.clock, 10)
    expect(out).toEqual([300]) // one segment with both writes
  })

  it('lets full-sized segments go while corked', async () => {
    const { net, client } = await connected()
    const out = payloadsOut(net.a)
    client.setCork(true)
    client.write(Buffer.alloc(1448 * 2 + 10))
    await runFor(net.clock, 50)
    const mss = client.info().snd_mss
    expect(out.reduce((a, b) => a + b, 0)).toBe(mss * 2) // the 10-byte tail (plus what the 2 MSS left) waits
  })

  it('sends what it holds when the persist timer fires with nothing in flight', async () => {
    const { net, client } = await connected()
    const out = payloadsOut(net.a)
    client.setCork(true)
    client.write(Buffer.alloc(10))
    await runFor(net.clock, 5_000)
    expect(out).toEqual([10])
  })
})

describe('MSG_EOR (endRecord)', () => {
  it('never puts the bytes of two records in one segment, and pushes each record', async () => {
    const { net, client } = await connected()
    const out = payloadsOut(net.a)
    const psh: boolean[] = []
    net.a.on('segment', (dir: 'in' | 'out', { seg }: { seg: TcpSegment }) => {
      if (dir === 'out' && seg.payload.length > 0) psh.push((seg.flags & 0x08) !== 0)
    })
    client.setCork(true) // hold them so that they could coalesce
    client.write(Buffer.alloc(300))
    client.endRecord()
    client.write(Buffer.alloc(400))
    await runFor(net.clock, 10)
    expect(out).toEqual([300]) // the record's end goes; the partial after it stays corked
    client.setCork(false)
    await runFor(net.clock, 10)
    expect(out).toEqual([300, 400])
    expect(psh[0]).toBe(true)
  })
})

describe('TCP_USER_TIMEOUT (setUserTimeout, RFC 5482)', () => {
  it('fails the connection with ETIMEDOUT once data stays unacknowledged that long, not after the retry count', async () => {
    const { net, client } = await connected()
    const errors = errorsOf(client)
    client.setUserTimeout(3_000)
    net.linkB.onSend = () => false // the peer's ACKs are lost
    net.linkA.onSend = () => false
    client.write('hello')
    await runFor(net.clock, 2_500)
    expect(errors).toEqual([])
    await runFor(net.clock, 1_000)
    expect(errors).toEqual(['ETIMEDOUT'])
  })

  it('is refused when negative', async () => {
    const { client } = await connected()
    expect(() => client.setUserTimeout(-1)).toThrow(RangeError)
  })
})

describe('SO_SNDBUF, SO_RCVBUF, TCP_NOTSENT_LOWAT and the queues', () => {
  it('a smaller receive buffer keeps the window from growing past what the SYN offered', async () => {
    const unreadAfter = async (rcvBuf?: number) => {
      const { net, client, peer } = await connected()
      if (rcvBuf !== undefined) peer.setReceiveBufferSize(rcvBuf)
      peer.pause()
      client.write(Buffer.alloc(200_000))
      await runFor(net.clock, 1_000)
      return { unread: peer.queues().unread, client: client.queues() }
    }
    expect((await unreadAfter()).unread).toBe(200_000) // the default 2 MiB buffer takes it all
    const small = await unreadAfter(4096)
    expect(small.unread).toBeLessThan(70_000) // about the SYN's window (scaled, rounded up): never grown
    expect(small.client.unacked).toBe(200_000 - small.unread)
  })

  it('a send buffer size makes writes wait for room (backpressure)', async () => {
    const { net, client } = await connected()
    client.setSendBufferSize(1000)
    client.write(Buffer.alloc(1500))
    client.write(Buffer.alloc(100))
    expect(client.writableLength).toBe(1600) // the first fills the buffer, the second waits in the stream
    await runFor(net.clock, 100)
    expect(client.writableLength).toBe(0)
  })

  it('with TCP_NOTSENT_LOWAT the socket is not writable while that much waits unsent', async () => {
    const { net, client, peer } = await connected()
    peer.setReceiveBufferSize(2000)
    peer.pause()
    client.setNotSentLowat(1000)
    client.write(Buffer.alloc(200_000))
    await runFor(net.clock, 200)
    expect(client.queues().unsent).toBeGreaterThanOrEqual(1000)
    expect(client.writeSpace).toBe(0)
    expect(() => client.setSendBufferSize(0)).toThrow(RangeError)
  })
})
