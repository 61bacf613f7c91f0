// What the stack counts: packets, segments, drops by reason, retransmissions.
// `serve` prints these on exit; tests assert on them (no internal errors, drops).

export class Counters {
  /** IP packets received from the link. */
  packetsIn = 0
  /** IP packets sent to the link. */
  packetsOut = 0
  /** TCP segments accepted for processing. */
  segmentsIn = 0
  /** TCP segments sent. */
  segmentsOut = 0
  /** Segments sent again after a retransmission timeout or fast retransmit. */
  retransmissions = 0
  /** RSTs sent (for segments matching no connection, and aborts). */
  resetsSent = 0
  /** Valid RSTs that aborted a connection. */
  resetsReceived = 0
  /** ICMP echo requests answered. */
  pingsAnswered = 0
  /** Connections opened by us (active OPEN). */
  activeOpens = 0
  /** Connections accepted by a listener (passive OPEN). */
  passiveOpens = 0
  /** Connections that failed: reset, refused, timed out. */
  connectionFailures = 0
  /** Packets and segments dropped, by reason (a DropReason or a TCP rule). */
  readonly drops: Record<string, number> = {}
  /** How many times connections entered each state (RFC 9293 names). */
  readonly entered: Record<string, number> = {}

  drop(reason: string): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1
  }

  enter(state: string): void {
    this.entered[state] = (this.entered[state] ?? 0) + 1
  }

  get dropped(): number {
    let n = 0
    for (const k in this.drops) n += this.drops[k]!
    return n
  }

  toJSON(): Record<string, unknown> {
    return {
      packetsIn: this.packetsIn, packetsOut: this.packetsOut,
      segmentsIn: this.segmentsIn, segmentsOut: this.segmentsOut,
      retransmissions: this.retransmissions, resetsSent: this.resetsSent,
      resetsReceived: this.resetsReceived, pingsAnswered: this.pingsAnswered,
      activeOpens: this.activeOpens, passiveOpens: this.passiveOpens,
      connectionFailures: this.connectionFailures, drops: { ...this.drops }, entered: { ...this.entered },
    }
  }

  format(): string {
    const lines = [
      `packets in ${this.packetsIn}, out ${this.packetsOut}`,
      `segments in ${this.segmentsIn}, out ${this.segmentsOut}, retransmitted ${this.retransmissions}`,
      `resets sent ${this.resetsSent}, received ${this.resetsReceived}; pings answered ${this.pingsAnswered}`,
      `connections: active opens ${this.activeOpens}, passive opens ${this.passiveOpens}, failures ${this.connectionFailures}`,
    ]
    const states = Object.keys(this.entered)
    if (states.length > 0) lines.push('states entered: ' + states.map(s => `${s} ${this.entered[s]}`).join(', '))
    const reasons = Object.keys(this.drops).sort()
    lines.push(reasons.length === 0 ? 'drops: none' : 'drops: ' + reasons.map(r => `${r} ${this.drops[r]}`).join(', '))
    return lines.join('\n')
  }
}
