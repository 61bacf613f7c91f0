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
  /** Loss recoveries begun by duplicate ACKs or SACK: fast retransmits (RFC 5681 3.2, RFC 6675). */
  fastRetransmits = 0
  /** Retransmission timeouts (RFC 6298 5.4). */
  retransmitTimeouts = 0
  /** Tail loss probes sent (RFC 8985 7). */
  tailLossProbes = 0
  /** Fast recoveries undone: the timestamps showed the "lost" segment had arrived (RFC 3522, RFC 4015). */
  spuriousRecoveries = 0
  /** Reordering seen: an original segment arrived after later ones (each may raise a connection's DupThresh). */
  reorderingSeen = 0
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
  /** RFC 5961 challenge ACKs sent, and those the per-second budget held back. */
  challengeAcksSent = 0
  challengeAcksLimited = 0
  /** RFC 4987 SYN cookies: SYN,ACKs sent with a cookie (SYN queue full), and valid cookie ACKs that made a connection. */
  synCookiesSent = 0
  synCookiesAccepted = 0
  /**
   * Fast Open servers (RFC 7413; Linux's TcpExtTCPFastOpen* counters): connections that took a
   * SYN's data (Passive), bad cookies (PassiveFail), cookie requests (CookieReqd), and SYNs
   * that found the listener's Fast Open queue full (ListenOverflow).
   */
  fastOpenPassive = 0
  fastOpenPassiveFail = 0
  fastOpenCookieRequests = 0
  fastOpenListenOverflow = 0
  /**
   * ICMP errors that matched a connection and passed the RFC 5927 check: the MSS lowered
   * (RFC 1191), soft errors kept (RFC 1122 4.2.3.9), hard ones that ended an opening connection.
   */
  pmtuReductions = 0
  /** ECN (RFC 3168): CE-marked segments received, and cwnd reductions made for the peer's ECE. */
  ecnCeReceived = 0
  ecnReductions = 0
  icmpSoftErrors = 0
  icmpHardErrors = 0
  /**
   * Segments of ESTABLISHED connections that header prediction took (fast-path.ts): pure ACKs
   * of new data, and in-order data. Every other segment takes the full path of RFC 9293 3.10.7.4.
   */
  fastPathAcks = 0
  fastPathData = 0
  /** ACKs not sent because a later ACK (or data) of the same batch of packets covered them (ACK coalescing). */
  acksCoalesced = 0
  /** ACKs sent by the delayed-ACK timer (Linux's TcpExtDelayedACKs): an odd segment waited delayedAckMs. */
  delayedAcks = 0
  /** UDP datagrams taken for processing and sent (RFC 768; Linux's InDatagrams, OutDatagrams). */
  udpDatagramsIn = 0
  udpDatagramsOut = 0
  /** Hard ICMP errors reported to a connected UDP socket as an 'error' (udp/icmp.ts). */
  udpIcmpErrors = 0
  /** Any-destination flows the 'udp-flow' hook accepted, and those closed for idleness. */
  udpFlowsAccepted = 0
  udpFlowsExpired = 0
  /** ICMP errors we sent (port unreachable), and those the rate limit held back (ip/icmp-out.ts). */
  icmpErrorsSent = 0
  icmpErrorsLimited = 0
  /** Packets and segments dropped, by reason (a DropReason or a TCP rule). */
  readonly drops: Record<string, number> = {}
  /** How many times connections entered each state (RFC 9293 names). */
  readonly entered: Record<string, number> = {}
  /**
   * Packets of a protocol we do not speak, by kind: the IPv6 the kernel sends on a new link
   * (router solicitations, MLD reports; ip/ipv6-chatter.ts). Not errors, so not in `drops`.
   */
  readonly ignored: Record<string, number> = {}

  drop(reason: string): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1
  }

  ignore(kind: string): void {
    this.ignored[kind] = (this.ignored[kind] ?? 0) + 1
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
      retransmissions: this.retransmissions, fastRetransmits: this.fastRetransmits,
      retransmitTimeouts: this.retransmitTimeouts, tailLossProbes: this.tailLossProbes,
      spuriousRecoveries: this.spuriousRecoveries, reorderingSeen: this.reorderingSeen, resetsSent: this.resetsSent,
      resetsReceived: this.resetsReceived, pingsAnswered: this.pingsAnswered,
      activeOpens: this.activeOpens, passiveOpens: this.passiveOpens,
      connectionFailures: this.connectionFailures,
      challengeAcksSent: this.challengeAcksSent, challengeAcksLimited: this.challengeAcksLimited,
      synCookiesSent: this.synCookiesSent, synCookiesAccepted: this.synCookiesAccepted,
      fastOpenPassive: this.fastOpenPassive, fastOpenPassiveFail: this.fastOpenPassiveFail,
      fastOpenCookieRequests: this.fastOpenCookieRequests, fastOpenListenOverflow: this.fastOpenListenOverflow,
      pmtuReductions: this.pmtuReductions, ecnCeReceived: this.ecnCeReceived, ecnReductions: this.ecnReductions, icmpSoftErrors: this.icmpSoftErrors, icmpHardErrors: this.icmpHardErrors,
      fastPathAcks: this.fastPathAcks, fastPathData: this.fastPathData, acksCoalesced: this.acksCoalesced, delayedAcks: this.delayedAcks,
      udpDatagramsIn: this.udpDatagramsIn, udpDatagramsOut: this.udpDatagramsOut, udpIcmpErrors: this.udpIcmpErrors,
      udpFlowsAccepted: this.udpFlowsAccepted, udpFlowsExpired: this.udpFlowsExpired,
      icmpErrorsSent: this.icmpErrorsSent, icmpErrorsLimited: this.icmpErrorsLimited, drops: { ...this.drops }, entered: { ...this.entered }, ignored: { ...this.ignored },
    }
  }

  format(): string {
    const lines = [
      `packets in ${this.packetsIn}, out ${this.packetsOut}`,
      `segments in ${this.segmentsIn}, out ${this.segmentsOut}, retransmitted ${this.retransmissions} (fast retransmits ${this.fastRetransmits}, timeouts ${this.retransmitTimeouts}, tail loss probes ${this.tailLossProbes}, undone ${this.spuriousRecoveries}, reordering seen ${this.reorderingSeen})`,
      `resets sent ${this.resetsSent}, received ${this.resetsReceived}; pings answered ${this.pingsAnswered}`,
      `connections: active opens ${this.activeOpens}, passive opens ${this.passiveOpens}, failures ${this.connectionFailures}`,
      `hostile: challenge ACKs ${this.challengeAcksSent} (held back ${this.challengeAcksLimited}), ` +
        `SYN cookies sent ${this.synCookiesSent}, accepted ${this.synCookiesAccepted}; ` +
        `ICMP: MSS lowered ${this.pmtuReductions}, soft errors ${this.icmpSoftErrors}, hard ${this.icmpHardErrors}`,
      `fast path: header prediction took ${this.fastPathAcks} pure ACKs and ${this.fastPathData} in-order data segments; ` +
        `ACKs coalesced ${this.acksCoalesced}; delayed ACKs ${this.delayedAcks}`,
    ]
    if (this.fastOpenPassive + this.fastOpenPassiveFail + this.fastOpenCookieRequests + this.fastOpenListenOverflow > 0) {
      lines.push(`fast open (server): SYN data accepted ${this.fastOpenPassive}, bad cookies ${this.fastOpenPassiveFail}, ` +
        `cookie requests ${this.fastOpenCookieRequests}, queue full ${this.fastOpenListenOverflow}`)
    }
    if (this.udpDatagramsIn + this.udpDatagramsOut + this.icmpErrorsSent + this.icmpErrorsLimited > 0) {
      lines.push(`udp: datagrams in ${this.udpDatagramsIn}, out ${this.udpDatagramsOut}; ICMP errors reported ${this.udpIcmpErrors}; ` +
        `flows accepted ${this.udpFlowsAccepted}, expired ${this.udpFlowsExpired}; ` +
        `ICMP errors sent ${this.icmpErrorsSent} (rate-limited ${this.icmpErrorsLimited})`)
    }
    const states = Object.keys(this.entered)
    if (states.length > 0) lines.push('states entered: ' + states.map(s => `${s} ${this.entered[s]}`).join(', '))
    const reasons = Object.keys(this.drops).sort()
    lines.push(reasons.length === 0 ? 'drops: none' : 'drops: ' + reasons.map(r => `${r} ${this.drops[r]}`).join(', '))
    const kinds = Object.keys(this.ignored).sort()
    if (kinds.length > 0) lines.push('ignored (the link\'s own IPv6, by kind): ' + kinds.map(k => `${k} ${this.ignored[k]}`).join(', '))
    return lines.join('\n')
  }
}
