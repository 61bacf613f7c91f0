// The retransmission timeout of RFC 6298: SRTT and RTTVAR from RTT samples,
// Karn's rule (never sample a retransmitted segment), exponential backoff.

export interface RtoConfig {
  initialRtoMs: number
  minRtoMs: number
  maxRtoMs: number
  /** The minimum bounds 4 * RTTVAR rather than the RTO (Linux's tcp_set_rto). */
  minRtoOnVariance: boolean
}

const CLOCK_GRANULARITY_MS = 1 // G of RFC 6298: the timer wheel ticks in milliseconds

export class RtoEstimator {
  /** Smoothed round-trip time (ms), undefined before the first sample. */
  srtt: number | undefined = undefined
  /** Round-trip time variation (ms). */
  rttvar = 0
  /** How many times the timer expired since the last new sample (RFC 6298 5.5). */
  private backoffCount = 0
  /** The timeout with backoff applied: worked out when it changes (a sample, a backoff), read for every segment sent. */
  private current: number

  constructor(private readonly config: RtoConfig) {
    this.current = config.initialRtoMs // RFC 6298 2.1: 1 second before any sample
  }

  /** The timeout to arm now (ms), with backoff applied. */
  get rto(): number {
    return this.current
  }

  /** How many times the timer expired since the last new sample (RFC 6298 5.5). */
  get backoff(): number {
    return this.backoffCount
  }

  /** RFC 6298 2.2 and 2.3: fold in a new measurement R (ms). Clears the backoff (Karn). */
  sample(r: number): void {
    if (this.srtt === undefined) {
      this.srtt = r
      this.rttvar = r / 2
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r)
      this.srtt = 0.875 * this.srtt + 0.125 * r
    }
    const { minRtoMs, maxRtoMs, minRtoOnVariance } = this.config
    const rto = minRtoOnVariance
      ? this.srtt + Math.max(minRtoMs, 4 * this.rttvar) // Linux's tcp_set_rto
      : Math.max(this.srtt + Math.max(CLOCK_GRANULARITY_MS, 4 * this.rttvar), minRtoMs) // 2.3, 2.4
    this.current = Math.min(rto, maxRtoMs) // 2.5
    this.backoffCount = 0
  }

  /** RFC 6298 5.5: the timer expired, double the timeout (up to the maximum, 2.5). */
  backOff(): void {
    if (this.current >= this.config.maxRtoMs) return
    this.backoffCount++
    this.current = Math.min(this.current * 2, this.config.maxRtoMs)
  }
}
