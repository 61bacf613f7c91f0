// Delivery rate estimation (draft-cheng-iccrg-delivery-rate-estimation; Linux's tcp_rate.c):
// how fast the path delivered data lately, measured from the ACKs. Each send stamps its
// segment with the connection's delivery counters as they stood then; when the segment is
// delivered (cumulatively ACKed or SACKed) the bytes delivered since that stamp, over the
// longer of the send interval and the ACK interval, is one sample of the delivery rate.
// The longer interval keeps ACK compression (ACKs bunched together) from inflating it.
// BBR (bbr.ts) models the bottleneck from these samples; TCP_INFO reports the
// last as tcpi_delivery_rate.
//
//   on send       segment.rate = { delivered, deliveredTime, firstSentTime, appLimited }
//                 (with nothing in flight, first_sent_time = delivered_time = now)
//   on delivery   delivered += bytes; the newest segment delivered by this ACK is P
//   on each ACK   sample: delivered - P.delivered over max(send elapsed, ACK elapsed)
//
// Names follow the draft's: C.delivered, C.delivered_time, C.first_sent_time, C.app_limited.

/** What one send stamps on its segment (the draft's P.delivered, P.delivered_time, P.first_sent_time, P.is_app_limited). */
export interface RateStamp {
  delivered: number
  deliveredTime: number
  firstSentTime: number
  appLimited: boolean
}

/** One rate sample (the draft's rs), produced per ACK. */
export interface RateSample {
  /** Bytes delivered over the interval (rs.delivered). */
  delivered: number
  /** The interval, ms (rs.interval): the longer of the send and the ACK interval. */
  interval: number
  /** Bytes per ms: delivered / interval. */
  rate: number
  /** The delivered count when the newest segment of the sample was sent (rs.prior_delivered): BBR's round counting. */
  priorDelivered: number
  /** That segment was sent while the application, not the network, limited the sender (rs.is_app_limited). */
  appLimited: boolean
  /** The RTT of that segment (ms), or -1 when it was retransmitted (its ACK is ambiguous, Karn). */
  rtt: number
}

/** The per-connection counters of the draft (section 3.1), kept by SentSegments (recovery/sent.ts). */
export class DeliveryRate {
  /** C.delivered: bytes delivered so far, each once (cumulatively ACKed or SACKed). */
  delivered = 0
  /** C.delivered_time: when `delivered` last grew (ms). */
  deliveredTime = 0
  /** C.first_sent_time: when the newest delivered segment was sent, the start of the next send interval (ms). */
  firstSentTime = 0
  /** C.app_limited: the `delivered` count at which an application-limited stretch ends, or 0 when the sender is not limited. */
  appLimited = 0
  /** SentSegments.lostBytes as of the last ACK taken: the difference is that ACK's losses (rs.losses, in bytes). */
  lostBytes = 0
  /** The last valid sample kept for TCP_INFO (Linux's rate_delivered over rate_interval_us). */
  reported: RateSample | null = null

  /** The newest segment delivered by the ACK being taken (the draft's P), or null. */
  private newest: { stamp: RateStamp; sentAt: number; order: number; retransmitted: boolean } | null = null
  private ackDelivered = 0

  /** A segment is sent at `now`; `idle`: nothing was in flight (draft 3.2, "if there are no packets in flight"). */
  stamp(now: number, idle: boolean): RateStamp {
    if (idle) {
      this.firstSentTime = now
      this.deliveredTime = now
    }
    return { delivered: this.delivered, deliveredTime: this.deliveredTime, firstSentTime: this.firstSentTime, appLimited: this.appLimited !== 0 }
  }

  /** `bytes` of a segment sent at `sentAt` (send number `order`) are delivered: count them, and keep the newest (draft 3.3). */
  onDelivered(stamp: RateStamp, bytes: number, sentAt: number, order: number, retransmitted: boolean): void {
    this.delivered += bytes
    this.ackDelivered += bytes
    const newest = this.newest
    if (newest === null || order > newest.order) {
      this.newest = { stamp, sentAt, order, retransmitted }
      this.firstSentTime = sentAt // the next send interval starts where this one ended
    }
  }

  /**
   * The sender ran out of data with room left in cwnd (draft 3.4): samples of what is in
   * flight now measure the application, not the path. `inFlight`: bytes in flight.
   */
  markAppLimited(inFlight: number): void {
    this.appLimited = Math.max(this.delivered + inFlight, 1)
  }

  /**
   * The ACK is taken: its sample (draft 3.3, "upon receiving ACK"), or null when it delivered
   * nothing or the interval is shorter than `minRtt` (too short to measure: ACK compression).
   */
  sample(now: number, minRtt: number): RateSample | null {
    if (this.appLimited !== 0 && this.delivered > this.appLimited) this.appLimited = 0 // the limited stretch is delivered
    if (this.ackDelivered > 0) this.deliveredTime = now
    const p = this.newest
    this.newest = null
    this.ackDelivered = 0
    if (p === null) return null
    const sendElapsed = p.sentAt - p.stamp.firstSentTime
    const ackElapsed = now - p.stamp.deliveredTime
    const interval = Math.max(sendElapsed, ackElapsed)
    const delivered = this.delivered - p.stamp.delivered
    if (interval <= 0 || interval < minRtt) return null
    const rs: RateSample = {
      delivered, interval, rate: delivered / interval, priorDelivered: p.stamp.delivered,
      appLimited: p.stamp.appLimited, rtt: p.retransmitted ? -1 : now - p.sentAt,
    }
    // TCP_INFO keeps a sample that measured the path, or one faster than the last kept (as tcp_rate_gen).
    if (!rs.appLimited || this.reported === null || rs.rate >= this.reported.rate) this.reported = rs
    return rs
  }
}
