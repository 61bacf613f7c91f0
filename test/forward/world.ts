// An in-memory world for the forwarder's tests, on one virtual clock:
//
//   client 10.0.0.1, fd00::100  --link-->  forwarder 10.0.0.2, fd00::2 (promiscuous)  the namespace's side
//   out 203.0.113.1, 2001:db8:1::1  --link-->  server 198.51.100.7, 2001:db8:2::7    "the internet"
//
// The forwarder's upstream is the `out` stack: its connect and datagram sockets stand for the
// kernel's, so a test sees the whole relay in virtual time.

import { isIPv6 } from 'node:net'
import { Forwarder, type ForwarderOptions } from '../../src/forward/forwarder'
import type { Upstream, UpstreamConnection, UpstreamDatagrams } from '../../src/forward/upstream'
import { SeededRandom } from '../../src/stack/random'
import { Stack, type StackOptions } from '../../src/stack/stack'
import { linkPair } from '../../src/tun/memory-link'
import { ClockGroup } from '../helpers/virtual-time'

export const SERVER = '198.51.100.7'
export const SERVER6 = '2001:db8:2::7'

/** Upstream through a tuntcp stack (the forwarder's "kernel" in these tests). */
export class StackUpstream implements Upstream {
  readonly name = 'stack'
  constructor(private readonly out: Stack) {}

  connect(host: string, port: number, signal: AbortSignal): Promise<UpstreamConnection> {
    return new Promise((resolve, reject) => {
      const socket = this.out.connect({ host, port, allowHalfOpen: true })
      const abort = () => {
        socket.destroy()
        reject(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' }))
      }
      signal.addEventListener('abort', abort, { once: true })
      socket.once('error', reject)
      socket.once('connect', () => {
        signal.removeEventListener('abort', abort)
        socket.off('error', reject)
        resolve({
          socket,
          local: { address: socket.localAddress!, port: socket.localPort! },
          remote: { address: socket.remoteAddress!, port: socket.remotePort! },
        })
      })
    })
  }

  openDatagrams(host: string, port: number, onMessage: (message: Buffer) => void): UpstreamDatagrams {
    const socket = this.out.createSocket(isIPv6(host) ? 'udp6' : 'udp4', message => onMessage(message))
    socket.on('error', () => {})
    socket.connect(port, host)
    return {
      send: message => socket.send(message),
      close: () => socket.close(),
      local: () => { try { const a = socket.address(); return { address: a.address, port: a.port } } catch { return null } },
      remote: () => ({ address: host, port }),
    }
  }
}

export function world(options: ForwarderOptions = {}, stackOptions: Partial<StackOptions> = {}, upstream?: (out: Stack) => Upstream) {
  const clock = new ClockGroup(1_000)
  const [clientLink, forwarderLink] = linkPair({ mtu: 1500 })
  const [outLink, serverLink] = linkPair({ mtu: 1500 })
  const make = (address: string, address6: string, link: typeof clientLink, seed: number, extra: Partial<StackOptions> = {}) =>
    new Stack({ address, address6, link, clock: clock.clock(), random: new SeededRandom(seed), mslMs: 1000, ...extra })
  const client = make('10.0.0.1', 'fd00::100', clientLink, 1)
  const forwarding = make('10.0.0.2', 'fd00::2', forwarderLink, 2, { promiscuous: true, ...stackOptions })
  const out = make('203.0.113.1', '2001:db8:1::1', outLink, 3)
  const server = make(SERVER, SERVER6, serverLink, 4)
  const forwarder = new Forwarder(forwarding, upstream?.(out) ?? new StackUpstream(out), options)
  return { clock, client, forwarding, out, server, forwarder }
}
