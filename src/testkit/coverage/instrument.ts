// Recording state coverage from any code that makes stacks (tests, scripts, the
// simulation) without changing it: wrap, on their prototypes, the few methods
// every event passes through.
//
//   Stack#onStateChange   every state change of every connection (the funnel behind 'state')
//   Stack#input           every packet in: the segment's event, in the state it finds
//   Server#listen, close  the listener is the LISTEN state of its port (passive OPEN, CLOSE)
//   Socket#_write, _read, _final, _destroy   the user calls SEND, RECEIVE, CLOSE, ABORT
//
// The first two are private in TypeScript; this file reaches them on purpose, as a
// debugger would, and is only for measuring. instrument() returns the undo.

import { Server } from '../../stack/socket/server.js'
import { Socket } from '../../stack/socket/socket.js'
import { Stack } from '../../stack/stack.js'
import type { State } from '../../stack/tcp/state.js'
import { parseIPv4 } from '../../stack/wire/ipv4.js'
import { ACK, FIN, RST, SYN, parseTcp } from '../../stack/wire/tcp.js'
import { eventOfSegment, type Event, type StateCoverage } from './state-coverage.js'

const IPPROTO_TCP = 6

/** What the wrappers read inside a Stack. */
interface StackInside {
  address: string
  tcp: {
    connections: { get(localAddr: number, localPort: number, remoteAddr: number, remotePort: number): { state: State } | undefined }
    listeners: Map<number, unknown>
  }
}

type Method = (this: unknown, ...args: unknown[]) => unknown

function wrap(proto: object, name: string, before: (self: unknown, args: unknown[]) => void): () => void {
  const target = proto as Record<string, Method>
  const original = target[name]
  if (typeof original !== 'function') throw new Error(`state coverage: no method ${name} to record`)
  target[name] = function (this: unknown, ...args: unknown[]) {
    try {
      before(this, args)
    } catch {
      // Recording must never change what the code under test does.
    }
    return original.apply(this, args)
  }
  return () => { target[name] = original }
}

/** The state a segment finds: its connection's, else LISTEN if its port has a listener, else CLOSED. */
function stateFor(stack: StackInside, src: number, dst: number, srcPort: number, dstPort: number): State {
  const conn = stack.tcp.connections.get(dst, dstPort, src, srcPort)
  if (conn !== undefined) return conn.state
  return stack.tcp.listeners.has(dstPort) ? 'LISTEN' : 'CLOSED'
}

export function instrument(coverage: StateCoverage): () => void {
  const undo: (() => void)[] = []
  const user = (event: Event) => (self: unknown) => coverage.event((self as Socket).state, event)
  undo.push(wrap(Stack.prototype, 'onStateChange', (_self, [, from, to, cause]) => coverage.arc(from as State, to as State, String(cause))))
  undo.push(wrap(Stack.prototype, 'input', (self, [packet]) => {
    const ip = parseIPv4(packet as Uint8Array)
    if (!ip.ok || ip.value.header.protocol !== IPPROTO_TCP) return
    const tcp = parseTcp(ip.value.payload, ip.value.header.src, ip.value.header.dst, false)
    if (!tcp.ok) return
    const s = tcp.value
    const state = stateFor(self as StackInside, ip.value.header.src, ip.value.header.dst, s.srcPort, s.dstPort)
    coverage.event(state, eventOfSegment({ syn: (s.flags & SYN) !== 0, ack: (s.flags & ACK) !== 0, fin: (s.flags & FIN) !== 0, rst: (s.flags & RST) !== 0 }, s.payload.length))
  }))
  undo.push(wrap(Server.prototype, 'listen', self => {
    if (!(self as Server).listening) coverage.arc('CLOSED', 'LISTEN', 'passive OPEN')
  }))
  undo.push(wrap(Server.prototype, 'close', self => {
    if (!(self as Server).listening) return
    coverage.event('LISTEN', 'CLOSE')
    coverage.arc('LISTEN', 'CLOSED', 'CLOSE')
  }))
  undo.push(wrap(Socket.prototype, '_write', user('SEND')))
  undo.push(wrap(Socket.prototype, '_read', user('RECEIVE')))
  undo.push(wrap(Socket.prototype, '_final', user('CLOSE')))
  undo.push(wrap(Socket.prototype, '_destroy', self => {
    // destroy() before end() is ABORT (a RST); after it, the stream is only letting go.
    const s = self as Socket
    if (!s.writableEnded && s.state !== 'CLOSED' && s.state !== 'TIME-WAIT') coverage.event(s.state, 'ABORT')
  }))
  return () => {
    for (const u of undo.reverse()) u()
  }
}
