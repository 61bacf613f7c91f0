// UdpFlow: what the 'udp-flow' hook sees of the first datagram of a new flow in
// any-destination mode (StackOptions.promiscuous): who sent it, to which address and
// port. The listener decides before it returns: accept() gives a UdpSocket bound to
// that address and port and connected to the sender (what it sends carries the
// original destination as its source), refuse() answers with ICMP port unreachable,
// drop() sends nothing. A listener that decides nothing drops it.

import type { LoopHold } from '../socket/loop-hold.js'
import { addressText, familyOf } from '../wire/address.js'
import { UdpSocket } from './socket.js'
import type { FlowTuple, FlowVerdict, UdpLayer } from './udp-layer.js'

export class UdpFlow {
  /** The destination the sender meant: the address and port the accepted socket answers from. */
  readonly localAddress: string
  readonly localPort: number
  /** The sender. */
  readonly remoteAddress: string
  readonly remotePort: number
  readonly family: 'IPv4' | 'IPv6'
  /** Bytes of data in the first datagram. */
  readonly size: number
  private decided: FlowVerdict | null = null
  private open = true

  /** @internal the UDP layer makes these. */
  constructor(
    private readonly layer: UdpLayer,
    private readonly tuple: FlowTuple,
    size: number,
    private readonly loopHold: LoopHold | null,
  ) {
    this.localAddress = addressText(tuple.localAddr)
    this.localPort = tuple.localPort
    this.remoteAddress = addressText(tuple.remoteAddr)
    this.remotePort = tuple.remotePort
    this.family = familyOf(tuple.localAddr)
    this.size = size
  }

  /** The flow's socket: its first 'message' is this datagram. Idle for UdpConfig.flowIdleTimeoutMs, it closes. */
  accept(): UdpSocket {
    this.decide('accepted')
    const socket = new UdpSocket(this.layer, { type: this.family === 'IPv6' ? 'udp6' : 'udp4' }, this.loopHold)
    socket.adoptFlow(this.tuple)
    return socket
  }

  /** ICMP port unreachable from the destination address, as if nothing listened there. */
  refuse(): void {
    this.decide('refuse')
  }

  /** Nothing goes back; the sender's next datagram asks again. */
  drop(): void {
    this.decide('drop')
  }

  /** @internal What the listeners decided, once they have all returned; later calls throw. */
  close(): FlowVerdict {
    this.open = false
    return this.decided ?? 'drop'
  }

  private decide(verdict: FlowVerdict): void {
    if (!this.open) throw new Error('a UDP flow is decided in the udp-flow listener, before it returns')
    if (this.decided !== null) throw new Error(`this UDP flow was already decided: ${this.decided}`)
    this.decided = verdict
  }
}
