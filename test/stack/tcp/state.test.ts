// The state machine of RFC 9293 3.3.2 (figure 5): the eleven states, the arcs
// the TCB may take, and the TCB refusing any other arc.
import { describe, expect, it } from 'vitest'
import { STATES, TRANSITIONS, isSynchronized, isTransition, type State } from '../../../src/stack/tcp/state'
import { Tcb, type TcpHost } from '../../../src/stack/tcp/tcb'
import { DEFAULT_TCP_CONFIG } from '../../../src/stack/tcp/config'
import { Counters } from '../../../src/stack/counters'
import { TimerWheel } from '../../../src/stack/time/timer-wheel'
import { VirtualClock } from '../../../src/stack/time/virtual-clock'
import { PacketPeer } from '../../helpers/packet-peer'
import { settle } from '../../helpers/virtual-time'

const ELEVEN: State[] = [
  'CLOSED', 'LISTEN', 'SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1',
  'FIN-WAIT-2', 'CLOSE-WAIT', 'CLOSING', 'LAST-ACK', 'TIME-WAIT',
]

/** Figure 5 of RFC 9293, arc by arc. */
const FIGURE_5: [State, State][] = [
  ['CLOSED', 'LISTEN'], // passive OPEN
  ['CLOSED', 'SYN-SENT'], // active OPEN / snd SYN
  ['LISTEN', 'SYN-RECEIVED'], // rcv SYN / snd SYN,ACK
  ['LISTEN', 'CLOSED'], // CLOSE / delete TCB
  ['SYN-SENT', 'ESTABLISHED'], // rcv SYN,ACK / snd ACK
  ['SYN-SENT', 'SYN-RECEIVED'], // rcv SYN / snd SYN,ACK (simultaneous open)
  ['SYN-SENT', 'CLOSED'], // CLOSE / delete TCB
  ['SYN-RECEIVED', 'ESTABLISHED'], // rcv ACK of SYN
  ['SYN-RECEIVED', 'FIN-WAIT-1'], // CLOSE / snd FIN
  ['ESTABLISHED', 'FIN-WAIT-1'], // CLOSE / snd FIN
  ['ESTABLISHED', 'CLOSE-WAIT'], // rcv FIN / snd ACK
  ['FIN-WAIT-1', 'FIN-WAIT-2'], // rcv ACK of FIN
  ['FIN-WAIT-1', 'CLOSING'], // rcv FIN / snd ACK
  ['FIN-WAIT-2', 'TIME-WAIT'], // rcv FIN / snd ACK
  ['CLOSE-WAIT', 'LAST-ACK'], // CLOSE / snd FIN
  ['CLOSING', 'TIME-WAIT'], // rcv ACK of FIN
  ['LAST-ACK', 'CLOSED'], // rcv ACK of FIN
  ['TIME-WAIT', 'CLOSED'], // timeout = 2MSL
]

/**
 * Arcs the code documents beyond the figure: FIN-WAIT-1 straight to TIME-WAIT when
 * the peer's FIN acknowledges ours (3.10.7.4, eighth step), and the arcs to CLOSED
 * that the text gives for RST, ABORT and timeouts (3.10.5, 3.10.7.4 second step, 3.10.8).
 * SYN-RECEIVED -> LISTEN (a passive open reset, 3.10.7.4) is not here: a passive
 * connection is its own TCB, and the listener stays in LISTEN.
 */
const DOCUMENTED: [State, State][] = [
  ['FIN-WAIT-1', 'TIME-WAIT'],
  ['SYN-RECEIVED', 'CLOSED'],
  ['ESTABLISHED', 'CLOSED'],
  ['FIN-WAIT-1', 'CLOSED'],
  ['FIN-WAIT-2', 'CLOSED'],
  ['CLOSE-WAIT', 'CLOSED'],
  ['CLOSING', 'CLOSED'],
]

const key = ([from, to]: [State, State]) => `${from} -> ${to}`

describe('states (RFC 9293 3.3.2)', () => {
  it('lists all eleven, spelled as the RFC spells them, once each', () => {
    expect([...STATES].sort()).toEqual([...ELEVEN].sort())
    expect(new Set(STATES).size).toBe(11)
  })

  it('uses only those states in TRANSITIONS, and each has an event', () => {
    for (const t of TRANSITIONS) {
      expect(ELEVEN).toContain(t.from)
      expect(ELEVEN).toContain(t.to)
      expect(t.event.length).toBeGreaterThan(0)
    }
  })
})

describe('TRANSITIONS', () => {
  it('holds exactly the arcs of figure 5 plus the documented ones, without duplicates', () => {
    const got = TRANSITIONS.map(t => key([t.from, t.to]))
    expect(new Set(got).size).toBe(got.length)
    expect([...got].sort()).toEqual([...FIGURE_5, ...DOCUMENTED].map(key).sort())
  })

  it.each([
    ['ESTABLISHED', 'FIN-WAIT-1'], ['FIN-WAIT-1', 'FIN-WAIT-2'], ['FIN-WAIT-1', 'CLOSING'],
    ['FIN-WAIT-1', 'TIME-WAIT'], ['FIN-WAIT-2', 'TIME-WAIT'], ['CLOSING', 'TIME-WAIT'],
    ['TIME-WAIT', 'CLOSED'], ['ESTABLISHED', 'CLOSE-WAIT'], ['CLOSE-WAIT', 'LAST-ACK'],
    ['LAST-ACK', 'CLOSED'],
  ] as [State, State][])('allows the close arc %s -> %s', (from, to) => {
    expect(isTransition(from, to)).toBe(true)
  })

  it.each([
    ['CLOSE-WAIT', 'FIN-WAIT-1'], // the peer closed first: our CLOSE goes to LAST-ACK
    ['FIN-WAIT-2', 'CLOSING'], // our FIN is acknowledged already: a FIN leads to TIME-WAIT
    ['TIME-WAIT', 'ESTABLISHED'],
    ['LAST-ACK', 'TIME-WAIT'], // the passive closer never waits 2MSL
    ['CLOSED', 'ESTABLISHED'],
    ['LISTEN', 'ESTABLISHED'],
    ['FIN-WAIT-2', 'FIN-WAIT-1'],
    ['CLOSING', 'FIN-WAIT-2'],
    ['ESTABLISHED', 'SYN-RECEIVED'],
    ['ESTABLISHED', 'ESTABLISHED'],
  ] as [State, State][])('rejects %s -> %s', (from, to) => {
    expect(isTransition(from, to)).toBe(false)
  })

  it('isTransition agrees with the table for every pair of states', () => {
    const arcs = new Set(TRANSITIONS.map(t => key([t.from, t.to])))
    for (const from of ELEVEN) for (const to of ELEVEN) {
      expect(isTransition(from, to), `${from} -> ${to}`).toBe(arcs.has(key([from, to])))
    }
  })

  it('lets every state reach CLOSED, and every state be reached from CLOSED', () => {
    const reach = (start: State, forward: boolean) => {
      const seen = new Set<State>([start])
      const todo = [start]
      while (todo.length > 0) {
        const s = todo.pop()!
        for (const t of TRANSITIONS) {
          const [a, b] = forward ? [t.from, t.to] : [t.to, t.from]
          if (a === s && !seen.has(b)) { seen.add(b); todo.push(b) }
        }
      }
      return seen
    }
    expect(reach('CLOSED', true).size).toBe(11)
    expect(reach('CLOSED', false).size).toBe(11)
  })
})

describe('isSynchronized (RFC 9293 3.10.7.4)', () => {
  it.each(ELEVEN)('%s', state => {
    const unsynchronized = ['CLOSED', 'LISTEN', 'SYN-SENT', 'SYN-RECEIVED']
    expect(isSynchronized(state)).toBe(!unsynchronized.includes(state))
  })
})

describe('Tcb.setState', () => {
  /** A TCB on a minimal host that records what it is told. */
  function tcbOnHost() {
    const clock = new VirtualClock(0)
    const told: string[] = []
    const host: TcpHost = {
      clock,
      wheel: new TimerWheel(clock),
      config: DEFAULT_TCP_CONFIG,
      counters: new Counters(),
      tsoMaxPayload: 0,
      transmit: () => undefined,
      stateChanged: (_tcb, from, to, cause) => told.push(`${from} -> ${to} (${cause})`),
      accept: () => undefined,
      timeWait: () => undefined,
    }
    const nothing = () => undefined
    const tcb = new Tcb(host, 0x0a000002, 80, 0x0a000001, 40000, {
      retransmit: nothing, delayedAck: nothing, persist: nothing, keepalive: nothing, close: nothing, pace: nothing,
    })
    return { tcb, told }
  }

  it('starts CLOSED and follows legal arcs, telling the host each time', () => {
    const { tcb, told } = tcbOnHost()
    expect(tcb.state).toBe('CLOSED')
    for (const to of ['SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'CLOSED'] as State[]) {
      tcb.setState(to, 'test')
    }
    expect(told).toEqual([
      'CLOSED -> SYN-SENT (test)', 'SYN-SENT -> ESTABLISHED (test)', 'ESTABLISHED -> FIN-WAIT-1 (test)',
      'FIN-WAIT-1 -> FIN-WAIT-2 (test)', 'FIN-WAIT-2 -> TIME-WAIT (test)', 'TIME-WAIT -> CLOSED (test)',
    ])
  })

  it('ignores a change to the state it is already in', () => {
    const { tcb, told } = tcbOnHost()
    tcb.setState('CLOSED', 'same')
    expect(told).toEqual([])
  })

  it('throws on an arc not in RFC 9293 and leaves the state alone', () => {
    const { tcb, told } = tcbOnHost()
    expect(() => tcb.setState('ESTABLISHED', 'test')).toThrow(/no arc CLOSED -> ESTABLISHED/)
    tcb.setState('SYN-SENT', 'open')
    tcb.setState('ESTABLISHED', 'SYN,ACK')
    tcb.setState('CLOSE-WAIT', 'FIN')
    expect(() => tcb.setState('FIN-WAIT-1', 'CLOSE')).toThrow(/no arc CLOSE-WAIT -> FIN-WAIT-1/)
    expect(tcb.state).toBe('CLOSE-WAIT')
    expect(told).toHaveLength(3)
  })

  it('reaches the state of a real connection only by legal arcs (through a Stack)', async () => {
    const p = new PacketPeer()
    const seen: [State, State][] = []
    p.stack.on('state', ({ from, to }) => seen.push([from, to]))
    p.stack.createServer(s => s.end()).listen(80)
    await settle()
    await p.handshake()
    p.expect('F.', { seq: 1, ack: 1 })
    await p.send('F.', { seq: 1, ack: 2 })
    p.expect('.', { seq: 2, ack: 2 })
    expect(seen.map(key)).toEqual([
      'LISTEN -> SYN-RECEIVED', 'SYN-RECEIVED -> ESTABLISHED', 'ESTABLISHED -> FIN-WAIT-1', 'FIN-WAIT-1 -> TIME-WAIT',
    ])
    for (const [from, to] of seen) expect(isTransition(from, to)).toBe(true)
  })
})
