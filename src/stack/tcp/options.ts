// The TCP options a connection negotiates on its SYNs and then uses on every
// segment: window scaling and timestamps (RFC 7323), SACK (RFC 2018). Each is
// on only when both SYNs carried it. The wire format is in wire/tcp.ts; this
// file holds the rules: what our SYN offers, what the peer's SYN turns on,
// the options of every later segment, PAWS, TS.Recent, RTT from TSecr.

import { defaultMss } from '../wire/address.js'
import { ACK, FIN, MAX_WINDOW_SCALE, RST, SYN, TCP_MAX_OPTIONS_LENGTH, type TcpOptions, type TcpSegment } from '../wire/tcp.js'
import type { SackBlock } from './sack.js'
import { seqAdd, seqDiff, seqGe, seqGt, seqInWindow, seqLe, seqLt } from './seq.js'
import type { Tcb } from './tcb.js'
import type { TcpConfig } from './config.js'

/** The largest value of the 16-bit window field. */
export const MAX_WINDOW_FIELD = 0xffff
/** Bytes the timestamps option takes in a header, with its two NOPs (RFC 7323 appendix A). */
export const TIMESTAMPS_LENGTH = 12
/** PAWS: TS.Recent older than this is no longer valid (RFC 7323 5.5: 24 days). */
export const TS_RECENT_MAX_AGE_MS = 24 * 24 * 3600 * 1000
/** An RTT from an echoed timestamp above this is not believed (a stale or forged TSecr). */
const MAX_ECHO_RTT_MS = 60_000

/** Our shift: the smallest that lets the 16-bit field cover the whole receive buffer, at most 14 (RFC 7323 2.3). */
export function windowShiftFor(space: number): number {
  let shift = 0
  while (shift < MAX_WINDOW_SCALE && MAX_WINDOW_FIELD * 2 ** shift < space) shift++
  return shift
}

/**
 * The shift our SYN offers: one that covers the largest the receive buffer may become
 * (rcvBufMax, Linux's tcp_rmem[2]), not only its size now, as Linux's
 * tcp_select_initial_window (net/ipv4/tcp_output.c) picks it. With defaults.sh's
 * tcp_rmem max of 15 MiB that is 8, with tuntcp's 2 MiB buffer 6.
 */
export function ourWindowShift(config: Pick<TcpConfig, 'rcvBufSize' | 'rcvBufMax'>): number {
  return windowShiftFor(Math.max(config.rcvBufSize, config.rcvBufMax))
}

/** Our TSval: the stack's clock in milliseconds plus this connection's random offset (RFC 7323 5.4, 7.1). */
export function tsVal(tcb: Tcb): number {
  return seqAdd(Math.floor(tcb.host.clock.now()), tcb.tsOffset)
}

/**
 * The options of our SYN or SYN,ACK (RFC 9293 3.7.1, RFC 7323 2.2 and 3.2, RFC 2018 2).
 * Our SYN offers what the config enables; a SYN,ACK carries only what the
 * peer's SYN offered too (acceptSynOptions has decided that already).
 */
export function synOptions(tcb: Tcb): TcpOptions {
  const config = tcb.host.config
  const options: TcpOptions = { mss: tcb.rcvMss }
  const offering = tcb.state === 'SYN-SENT'
  // RFC 7413 4.1.2: the cookie a Fast Open server gives, on its first SYN,ACK only (fast-open.ts).
  if (!offering && tcb.synAckCookie !== null) options.fastOpen = tcb.synAckCookie
  if (offering ? config.windowScaling : tcb.wsOk) options.windowScale = ourWindowShift(config)
  if (offering ? config.sack : tcb.sackOk) options.sackPermitted = true
  if (offering ? config.timestamps : tcb.tsOk) {
    // TSecr is meaningful only with ACK: zero in a SYN (RFC 7323 3.2).
    options.timestamp = { value: tsVal(tcb), echo: offering ? 0 : tcb.tsRecent }
  }
  // RFC 7413 4.1.1: a Fast Open client's first SYN carries its cookie, or an empty one to ask (fast-open-client.ts).
  const fastOpen = offering ? tcb.fastOpen?.synOption : null
  if (fastOpen != null) options.fastOpen = fastOpen
  return options
}

/**
 * The peer's SYN (passive open) or SYN,ACK (active open) arrived: turn on
 * each option both SYNs carry. Call after takeMss: with timestamps every
 * segment carries 12 more option bytes, so the data per segment shrinks
 * (RFC 9293 3.7.1, Eff.snd.MSS counts the TCP options).
 */
export function acceptSynOptions(tcb: Tcb, options: TcpOptions): void {
  const config = tcb.host.config
  // Window scaling (RFC 7323 2.2): both shifts apply only when both SYNs had the option.
  tcb.wsOk = config.windowScaling && options.windowScale !== undefined
  // A shift above 14 MUST be taken as 14 (RFC 7323 2.3).
  tcb.sndWndScale = tcb.wsOk ? Math.min(options.windowScale!, MAX_WINDOW_SCALE) : 0
  tcb.rcvWndScale = tcb.wsOk ? ourWindowShift(config) : 0
  // SACK (RFC 2018 2).
  tcb.sackOk = config.sack && options.sackPermitted === true
  // Timestamps (RFC 7323 3.2): TS.Recent starts at the SYN's TSval.
  tcb.tsOk = config.timestamps && options.timestamp !== undefined
  if (tcb.tsOk) {
    tcb.tsRecent = options.timestamp!.value
    tcb.tsRecentAge = tcb.host.clock.now()
    tcb.sndMss = Math.max(1, tcb.sndMss - TIMESTAMPS_LENGTH)
  }
}

/**
 * The options of a segment other than a SYN: TSopt on every one once negotiated
 * (RFC 7323 3.2; TSecr is TS.Recent, or 0 without ACK), and SACK blocks while
 * out-of-order data waits (RFC 2018 4), as many as fit beside the payload.
 */
export function segmentOptions(tcb: Tcb, ack: boolean, payloadLength: number): TcpOptions | undefined {
  let options: TcpOptions | undefined
  if (tcb.tsOk) options = { timestamp: { value: tsVal(tcb), echo: ack ? tcb.tsRecent : 0 } }
  if (tcb.sackOk && ack && (!tcb.reassembly.isEmpty || tcb.dsackToSend !== null)) {
    // Options and data share the peer's MSS. SND.MSS already leaves room for the
    // timestamps, so what a segment's data leaves below SND.MSS may take blocks
    // (with TSO each cut segment carries at most SND.MSS of data), within 40 option bytes.
    const used = tcb.tsOk ? TIMESTAMPS_LENGTH : 0
    const room = Math.min(tcb.sndMss - Math.min(payloadLength, tcb.sndMss), TCP_MAX_OPTIONS_LENGTH - used)
    const fit = Math.floor((room - 4) / 8) // kind, length and two NOPs, then 8 bytes a block
    if (fit > 0) {
      // RFC 2883 4: a duplicate segment just received is reported once, in the first block.
      const dsack = tcb.dsackToSend
      tcb.dsackToSend = null
      const blocks = dsack !== null ? [dsack, ...sackBlocksToSend(tcb, Math.min(fit, 4) - 1)] : sackBlocksToSend(tcb, Math.min(fit, 4))
      if (blocks.length > 0) (options ??= {}).sackBlocks = blocks
    }
  }
  return options
}

/**
 * The SACK blocks to send (RFC 2018 4): the first holds the most recently
 * received out-of-order segment, the next ones repeat the most recently
 * reported blocks, then any others, up to `max`.
 */
export function sackBlocksToSend(tcb: Tcb, max: number): SackBlock[] {
  const runs = tcb.reassembly.blocks()
  const out: SackBlock[] = []
  const recent: number[] = []
  for (const seq of tcb.sackRecent) {
    const run = runs.find(r => seqInWindow(seq, r.left, r.right))
    if (run === undefined) continue // delivered since, or dropped: forget it
    recent.push(seq)
    if (!out.includes(run) && out.length < max) out.push(run)
  }
  tcb.sackRecent = recent
  for (let i = runs.length - 1; i >= 0 && out.length < max; i--) if (!out.includes(runs[i]!)) out.push(runs[i]!)
  return out
}

/** Out-of-order data arrived at `seq`: its block goes first in the next SACK option (RFC 2018 4). */
export function noteOutOfOrder(tcb: Tcb, seq: number): void {
  const recent = tcb.sackRecent.filter(s => s !== seq)
  recent.unshift(seq)
  if (recent.length > 4) recent.length = 4
  tcb.sackRecent = recent
}

/** The window the peer advertised, in bytes: shifted, except in a SYN (RFC 7323 2.3; at most 65,535 << 14, under 2^31). */
export function peerWindow(tcb: Tcb, seg: TcpSegment): number {
  return seg.flags & SYN ? seg.window : seg.window << tcb.sndWndScale
}

/**
 * RFC 7323 5.3 R1 (PAWS) and 3.2: with timestamps on, a segment whose TSval is
 * older than TS.Recent is an old duplicate, and one without TSopt is dropped (unless
 * config.timestampsRequired is off, as on Linux).
 * RSTs are exempt from both. Returns the reason to drop it, or null to go on.
 */
export function pawsCheck(tcb: Tcb, seg: TcpSegment): string | null {
  if (seg.flags & RST) return null
  const ts = seg.options.timestamp
  if (ts === undefined) return tcb.host.config.timestampsRequired ? 'tcp-no-timestamp' : null
  if (tcb.host.clock.now() - tcb.tsRecentAge > TS_RECENT_MAX_AGE_MS) {
    // 5.5: after 24 idle days TS.Recent is not valid; take this segment's TSval instead.
    tcb.tsRecent = ts.value
    tcb.tsRecentAge = tcb.host.clock.now()
    return null
  }
  // Timestamps compare modulo 2^32, as sequence numbers do.
  if (!seqLt(ts.value, tcb.tsRecent)) return null
  return isDisorderedAck(tcb, seg) ? null : 'tcp-paws'
}

/**
 * A pure ACK overtaken on the way by a later segment, which PAWS would drop (and answer).
 * Like Linux (tcp_disordered_ack) we let it through when an old duplicate of it could
 * change nothing, which takes all four of:
 *   1. a pure ACK at RCV.NXT,
 *   2. acknowledging SND.UNA, so it can only be a duplicate ACK (loss recovery counts it),
 *   3. not changing the send window: the window-update rule (RFC 9293 3.10.7.4) either
 *      would not take it or would find SND.WND already equal to its window,
 *   4. a TSval at most about one RTO behind TS.Recent (our TS clock ticks in ms, as the
 *      RTO is kept), so a truly old segment from a past incarnation is still refused.
 */
function isDisorderedAck(tcb: Tcb, seg: TcpSegment): boolean {
  if ((seg.flags & (SYN | FIN | RST | ACK)) !== ACK || seg.payload.length !== 0) return false
  if (seg.seq !== tcb.rcvNxt || seg.ack !== tcb.sndUna) return false
  const newer = seqLt(tcb.sndWl1, seg.seq) || (tcb.sndWl1 === seg.seq && seqLe(tcb.sndWl2, seg.ack))
  if (newer && peerWindow(tcb, seg) !== tcb.sndWnd) return false
  return seqDiff(tcb.tsRecent, seg.options.timestamp!.value) <= tcb.rtt.rto
}

/**
 * RFC 7323 4.3: after the segment was found acceptable, keep its TSval as
 * TS.Recent if it is not older and the segment starts at or before the ACK we
 * last sent (so a delayed ACK echoes the earliest unacknowledged segment's TSval).
 */
export function updateTsRecent(tcb: Tcb, seg: TcpSegment): void {
  const ts = seg.options.timestamp
  if (ts === undefined) return
  // Not from an ACK of data never sent, which the fifth step drops: a forged segment with a
  // high TSval would otherwise make PAWS drop the peer's real ones (Linux updates ts_recent
  // only once tcp_ack has accepted the ACK, net/ipv4/tcp_input.c).
  if (seg.flags & ACK && seqGt(seg.ack, tcb.sndNxt)) return
  if (seqGe(ts.value, tcb.tsRecent) && seqLe(seg.seq, tcb.lastAckSent)) {
    tcb.tsRecent = ts.value
    tcb.tsRecentAge = tcb.host.clock.now()
  }
}

/**
 * RFC 7323 4.1 (RTTM): an ACK of new data echoes the TSval of the segment
 * that caused it; now minus TSecr is an RTT sample for RFC 6298. No Karn's
 * rule is needed: a retransmission carries its own TSval. Null when unusable.
 */
export function rttFromEcho(tcb: Tcb, echo: number | undefined): number | null {
  if (echo === undefined || echo === 0) return null
  const rtt = seqDiff(tsVal(tcb), echo)
  return rtt >= 0 && rtt <= MAX_ECHO_RTT_MS ? rtt : null
}

/** The peer's MSS option (RFC 9293 3.7.1): 536 when absent (1220 over IPv6); never above what our MTU carries. */
export function takeMss(tcb: Tcb, mss: number | undefined): void {
  tcb.sndMss = Math.max(1, Math.min(mss ?? defaultMss(tcb.remoteAddr), tcb.rcvMss))
}
