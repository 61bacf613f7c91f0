// State coverage: which (state, event) pairs of RFC 9293 a run exercised, and which
// arcs of the state diagram (figure 5, TRANSITIONS in src/stack/tcp/state.ts) it
// never took. The events follow RFC 9293 3.10 (event processing): the user calls
// OPEN, SEND, RECEIVE, CLOSE and ABORT; a segment arriving, by its control bits;
// and the timeouts. `npm run coverage:states` records every test this way
// (tools/state-coverage.ts); instrument() below does the recording.

import { STATES, TRANSITIONS, type State } from '../../stack/tcp/state.js'

/** The events of RFC 9293 3.10, as this report names them. */
export const EVENTS = [
  'OPEN', 'SEND', 'RECEIVE', 'CLOSE', 'ABORT',
  'rcv SYN', 'rcv SYN,ACK', 'rcv ACK', 'rcv data', 'rcv FIN', 'rcv RST',
  'RETRANSMISSION TIMEOUT', 'KEEPALIVE TIMEOUT', 'FIN-WAIT-2 TIMEOUT', 'TIME-WAIT TIMEOUT',
  'ICMP error',
] as const
export type Event = (typeof EVENTS)[number]

const ONLY_SEEN_IN_A_STATE_CHANGE = new Set<Event>([
  'OPEN', 'RETRANSMISSION TIMEOUT', 'KEEPALIVE TIMEOUT', 'FIN-WAIT-2 TIMEOUT', 'TIME-WAIT TIMEOUT', 'ICMP error',
])

/** The event behind a state change, from the cause string the TCB gives (Tcb.setState). */
export function eventOfCause(cause: string): Event | null {
  if (cause === 'active OPEN' || cause === 'passive OPEN') return 'OPEN'
  if (cause.startsWith('SYN,ACK received')) return 'rcv SYN,ACK'
  if (cause === 'SYN,ACK never acknowledged') return 'RETRANSMISSION TIMEOUT'
  if (cause.startsWith('SYN received') || cause.startsWith('new SYN')) return 'rcv SYN'
  if (cause.startsWith('ACK of') || cause.startsWith('ACK with')) return 'rcv ACK'
  if (cause.startsWith('ICMP')) return 'ICMP error' // RFC 1122 4.2.3.9, RFC 5927: hard errors abort an opening connection
  if (cause.startsWith('FIN')) return cause.startsWith('FIN-WAIT-2 timeout') ? 'FIN-WAIT-2 TIMEOUT' : 'rcv FIN'
  if (cause.startsWith('RST')) return 'rcv RST'
  if (cause.startsWith('CLOSE') || cause === 'listener closed') return 'CLOSE'
  if (cause === 'ABORT' || cause === 'shutdown') return 'ABORT'
  if (cause === 'data after close') return 'rcv data'
  if (cause === 'retransmission timeout') return 'RETRANSMISSION TIMEOUT'
  if (cause === 'keepalive timeout') return 'KEEPALIVE TIMEOUT'
  if (cause === '2MSL timeout') return 'TIME-WAIT TIMEOUT'
  return null
}

/** The event a segment is, by its control bits (RST first, as 3.10.7.4 checks it first). */
export function eventOfSegment(flags: { syn: boolean; ack: boolean; fin: boolean; rst: boolean }, dataLength: number): Event {
  if (flags.rst) return 'rcv RST'
  if (flags.syn) return flags.ack ? 'rcv SYN,ACK' : 'rcv SYN'
  if (flags.fin) return 'rcv FIN'
  if (dataLength > 0) return 'rcv data'
  return 'rcv ACK'
}

export interface CoverageData {
  /** "STATE|EVENT" -> times seen. */
  pairs: Record<string, number>
  /** "FROM>TO" -> cause -> times taken. */
  arcs: Record<string, Record<string, number>>
}

export class StateCoverage {
  readonly data: CoverageData = { pairs: {}, arcs: {} }

  /** An event met a connection in `state` (whether or not the state changed). */
  event(state: State, event: Event): void {
    const key = `${state}|${event}`
    this.data.pairs[key] = (this.data.pairs[key] ?? 0) + 1
  }

  /**
   * A connection moved from `from` to `to` because of `cause`. The events only a state
   * change shows (OPEN, the timeouts, ICMP errors) count as pairs here; segments and the
   * other user calls are counted where they happen (instrument.ts), changing state or not.
   */
  arc(from: State, to: State, cause: string): void {
    const key = `${from}>${to}`
    const causes = (this.data.arcs[key] ??= {})
    causes[cause] = (causes[cause] ?? 0) + 1
    const e = eventOfCause(cause)
    if (e !== null && ONLY_SEEN_IN_A_STATE_CHANGE.has(e)) this.event(from, e)
  }

  merge(other: CoverageData): void {
    for (const [k, n] of Object.entries(other.pairs)) this.data.pairs[k] = (this.data.pairs[k] ?? 0) + n
    for (const [k, causes] of Object.entries(other.arcs)) {
      const mine = (this.data.arcs[k] ??= {})
      for (const [c, n] of Object.entries(causes)) mine[c] = (mine[c] ?? 0) + n
    }
  }

  /** The arcs of the RFC's diagram never taken, as "FROM -> TO (event)". */
  missingArcs(): string[] {
    return TRANSITIONS.filter(t => this.data.arcs[`${t.from}>${t.to}`] === undefined).map(t => `${t.from} -> ${t.to} (${t.event})`)
  }

  /** State changes outside the diagram (the TCB refuses them, so this should stay empty). */
  strayArcs(): string[] {
    const known = new Set(TRANSITIONS.map(t => `${t.from}>${t.to}`))
    return Object.keys(this.data.arcs).filter(k => !known.has(k))
  }

  /** The report `npm run coverage:states` prints. */
  format(): string {
    const lines: string[] = []
    const hit = TRANSITIONS.length - this.missingArcs().length
    lines.push(`Arcs of the RFC 9293 state diagram taken: ${hit} of ${TRANSITIONS.length}`, '')
    for (const t of TRANSITIONS) {
      const causes = this.data.arcs[`${t.from}>${t.to}`]
      const seen = causes ? Object.entries(causes).sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} x${n}`).join(', ') : 'NEVER TAKEN'
      lines.push(`  ${causes ? ' ' : '!'} ${`${t.from} -> ${t.to}`.padEnd(28)} ${seen}`)
    }
    const stray = this.strayArcs()
    if (stray.length > 0) lines.push('', `State changes outside the diagram: ${stray.join(', ')}`)
    lines.push('', '(state, event) pairs exercised (count; "." never):', '')
    const width = 13
    const short = EVENTS.map(e => e.replace(' TIMEOUT', ' T/O').replace('RETRANSMISSION', 'RETRANSMIT'))
    lines.push(' '.repeat(width) + short.map(e => e.padStart(Math.max(6, e.length) + 1)).join(''))
    let pairs = 0
    for (const s of STATES) {
      let row = s.padEnd(width)
      EVENTS.forEach((e, i) => {
        const n = this.data.pairs[`${s}|${e}`]
        if (n !== undefined) pairs++
        row += (n === undefined ? '.' : compact(n)).padStart(Math.max(6, short[i]!.length) + 1)
      })
      lines.push(row)
    }
    lines.push('', `${pairs} of ${STATES.length * EVENTS.length} (state, event) pairs exercised.`)
    const missing = this.missingArcs()
    lines.push(missing.length === 0 ? 'Every arc of the diagram was taken.' : `Never taken: ${missing.join('; ')}`)
    return lines.join('\n')
  }
}

function compact(n: number): string {
  return n < 10_000 ? String(n) : n < 10_000_000 ? `${Math.round(n / 1000)}k` : `${Math.round(n / 1_000_000)}M`
}
