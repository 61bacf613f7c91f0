// Delivery rate samples (draft-cheng-iccrg-delivery-rate-estimation) on the sent list alone:
// the bytes delivered since a segment's send over the longer of the send and ACK intervals.
import { describe, expect, it } from 'vitest'
import { SentSegments } from '../../../../src/stack/tcp/recovery/sent'

const MSS = 1000

/** Send `n` segments of MSS from `seq` at `now`, one by one as emit.ts records them without offload. */
function sendAt(sent: SentSegments, seq: number, n: number, now: number, sndNxt = seq): void {
  const again = seq < sndNxt // a retransmission: SND.NXT stays where it is
  for (let i = 0; i < n; i++) sent.onSend(seq + i * MSS, MSS, now, again ? sndNxt : seq + i * MSS)
}

describe('delivery rate samples', () => {
  it('one flight of 10 segments acknowledged 20 ms later: 10 MSS over 20 ms', () => {
    const sent = new SentSegments()
    sendAt(sent, 0, 10, 100)
    sent.trim(10 * MSS)
    const rs = sent.rate.sample(120, 10)!
    expect(rs).toMatchObject({ delivered: 10 * MSS, interval: 20, priorDelivered: 0, appLimited: false, rtt: 20 })
    expect(rs.rate).toBe(500) // bytes per ms
    expect(sent.rate.reported).toBe(rs)
  })

  it('takes the longer of the send and ACK intervals; sending from idle restarts both', () => {
    const sent = new SentSegments()
    sendAt(sent, 0, 2, 0)
    sent.trim(MSS)
    sent.rate.sample(20, 10) // delivered_time = 20, first_sent_time = 0 (the send time of what was delivered)
    // Four more while the second is in flight, all acknowledged at once at 70.
    for (let i = 2; i <= 5; i++) sendAt(sent, i * MSS, 1, 20 + (i - 1) * 5)
    sent.trim(6 * MSS)
    const rs = sent.rate.sample(70, 10)!
    // Send interval: 40 - 0; ACK interval: 70 - 20, the longer.
    expect(rs).toMatchObject({ interval: 50, delivered: 5 * MSS })
    // Nothing in flight now: the next send restarts both clocks (draft 3.2).
    sendAt(sent, 6 * MSS, 1, 100)
    sent.trim(7 * MSS)
    expect(sent.rate.sample(120, 10)).toMatchObject({ interval: 20, delivered: MSS })
  })

  it('no sample from an interval shorter than the minimum RTT, nor from an ACK that delivered nothing', () => {
    const sent = new SentSegments()
    sendAt(sent, 0, 2, 0)
    sent.trim(MSS)
    expect(sent.rate.sample(5, 10)).toBeNull()
    expect(sent.rate.sample(30, 10)).toBeNull()
  })

  it('marks samples app-limited until the data in flight when the sender ran dry is delivered', () => {
    const sent = new SentSegments()
    sendAt(sent, 0, 2, 0)
    sent.rate.markAppLimited(2 * MSS) // the application had nothing more: delivered (0) + 2 MSS in flight
    sendAt(sent, 2 * MSS, 1, 5, 2 * MSS)
    sent.trim(2 * MSS)
    expect(sent.rate.sample(20, 10)!.appLimited).toBe(false) // sent before the sender ran dry
    sent.trim(3 * MSS)
    const rs = sent.rate.sample(25, 10)!
    expect(rs.appLimited).toBe(true)
    expect(sent.rate.appLimited).toBe(0) // delivered passed the mark: the next sends are not limited
  })

  it('a retransmission is stamped anew, and its RTT is not taken (Karn)', () => {
    const sent = new SentSegments()
    sendAt(sent, 0, 3, 0)
    sent.onSend(0, MSS, 40, 3 * MSS) // the first segment again
    sent.trim(3 * MSS)
    const rs = sent.rate.sample(60, 10)!
    expect(rs.rtt).toBe(-1)
    expect(rs.delivered).toBe(3 * MSS)
  })
})
