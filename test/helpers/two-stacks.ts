// Two stacks joined by an in-memory link, on one virtual clock and seeded
// randomness: A is 10.0.0.1 (usually the client), B is 10.0.0.2; with `ipv6`
// they also have A6 = fd00::1 and B6 = fd00::2.

import { Stack, type StackOptions, type StateChange } from '../../src/stack/stack'
import { SeededRandom } from '../../src/stack/random'
import { ClockGroup } from './virtual-time'
import { linkPair } from '../../src/tun/memory-link'
import type { Socket } from '../../src/stack/socket/socket'
import type { RemoteInfo, UdpSocket } from '../../src/stack/udp/socket'
import type { State } from '../../src/stack/tcp/state'
import { flagsToString, type TcpSegment } from '../../src/stack/wire/tcp'

export const A = '10.0.0.1'
export const B = '10.0.0.2'
export const A6 = 'fd00::1'
export const B6 = 'fd00::2'

export function twoStacks(options: Partial<StackOptions> = {}, seed = 1, ipv6 = false) {
  const clock = new ClockGroup(1_000)
  const [linkA, linkB] = linkPair({ mtu: 1500 })
  const a = new Stack({ address: A, address6: ipv6 ? A6 : undefined, link: linkA, clock: clock.clock(), random: new SeededRandom(seed), ...options })
  const b = new Stack({ address: B, address6: ipv6 ? B6 : undefined, link: linkB, clock: clock.clock(), random: new SeededRandom(seed + 1), ...options })
  return { clock, a, b, linkA, linkB }
}

/** Record a socket's state changes as `FROM -> TO` strings. */
/** Each stack's state history, per connection, as 'FROM -> TO'. */
export function histories(net: ReturnType<typeof twoStacks>): { a: string[]; b: string[] } {
  const a: string[] = []
  const b: string[] = []
  net.a.on('state', (c: StateChange) => a.push(`${c.from} -> ${c.to}`))
  net.b.on('state', (c: StateChange) => b.push(`${c.from} -> ${c.to}`))
  return { a, b }
}

/** `n` bytes of a seeded linear congruential sequence: payloads whose SHA-256 tells any mix-up. */
export function bytes(n: number, seed = 1): Buffer {
  const out = Buffer.alloc(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

export function recordStates(socket: Socket): string[] {
  const seen: string[] = []
  socket.on('state', (from: State, to: State) => seen.push(`${from} -> ${to}`))
  return seen
}

/** Collect everything a socket reads. */
export function collect(socket: Socket): { data: () => Buffer; ended: () => boolean } {
  const chunks: Buffer[] = []
  let ended = false
  socket.on('data', (c: Buffer) => chunks.push(c))
  socket.on('end', () => { ended = true })
  return { data: () => Buffer.concat(chunks), ended: () => ended }
}

/** Error codes a socket emits. */
export function errorsOf(socket: Socket): string[] {
  const codes: string[] = []
  socket.on('error', e => codes.push((e as NodeJS.ErrnoException).code ?? e.message))
  return codes
}

/** Flags of every segment a stack sends, tcpdump style. */
export function segmentsOut(stack: Stack): string[] {
  const flags: string[] = []
  stack.on('segment', (dir: 'in' | 'out', { seg }: { seg: TcpSegment }) => {
    if (dir === 'out') flags.push(flagsToString(seg.flags))
  })
  return flags
}

/** Every 'message' a UDP socket emits, as [text, rinfo]. */
export function messages(socket: UdpSocket): Array<[string, RemoteInfo]> {
  const seen: Array<[string, RemoteInfo]> = []
  socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => seen.push([msg.toString(), rinfo]))
  return seen
}
