// Any destination (StackOptions.promiscuous): a SYN for another host's address waits here
// for the application's decision before anything is answered, as a forwarder needs
// (tun2socks, slirp4netns: connect upstream first, then complete the client's handshake,
// or refuse it if upstream refused). The entry holds what the SYN,ACK will need (the 4-tuple,
// IRS, the SYN's options and window) but no buffers; it is its own undecided timer, as a
// TIME-WAIT entry is (time-wait.ts). The TCP layer keeps the entries by 4-tuple, so a
// retransmitted SYN finds its entry and is not offered again, and bounds them with the
// handshakes the hook accepted (synBacklog): in-flight handshakes cost little and are few.

import type { Address } from '../wire/address.js'
import { Timer } from '../time/timer-wheel.js'
import type { TcpSegment } from '../wire/tcp.js'
import type { Tcb } from './tcb.js'

/** Who is told how a pending SYN ends (socket/syn-request.ts implements it). */
export interface PendingSynUser {
  /** Accepted, and the handshake completed: the TCB is ESTABLISHED. */
  established(tcb: Tcb): void
  /** Accepted, but the handshake failed (`cause`: the client reset it, our SYN,ACK was never acknowledged, ...). */
  failed(cause: string): void
  /** Undecided for synDecisionTimeoutMs: dropped. */
  expired(): void
}

export class PendingSyn extends Timer {
  /** 'undecided' until accept, refuse or drop; 'handshake' while the accepted TCB is in SYN-RECEIVED; then 'done'. */
  phase: 'undecided' | 'handshake' | 'done' = 'undecided'
  user: PendingSynUser | null = null
  readonly localAddr: Address
  readonly localPort: number
  readonly remoteAddr: Address
  readonly remotePort: number
  /** The SYN as it came, less any data (the link's buffer is not kept): IRS, window, options. */
  readonly syn: TcpSegment
  /** An ISS chosen already (a SYN reopening TIME-WAIT, above the old incarnation), else undefined. */
  readonly iss: number | undefined

  constructor(src: Address, dst: Address, seg: TcpSegment, iss: number | undefined, onExpire: (p: PendingSyn) => void) {
    super(() => onExpire(this))
    this.localAddr = dst
    this.localPort = seg.dstPort
    this.remoteAddr = src
    this.remotePort = seg.srcPort
    this.syn = { ...seg, payload: new Uint8Array(0) }
    this.iss = iss
  }
}
