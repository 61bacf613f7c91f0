// Joining two byte streams, the client's (a stack Socket) and the upstream's, as one
// connection: bytes each way through pipe() (which pauses a side whose other side's
// buffer is full: backpressure), a FIN each way passed on alone (pipe's end() on the
// reader's 'end'; both sides are allowHalfOpen, so the other direction goes on), and an
// error or reset on either side a reset of the other.

import type { Duplex } from 'node:stream'

/** Abort with RST where the stream can (a net.Socket or our Socket), else just destroy. */
export function reset(stream: Duplex): void {
  const s = stream as Duplex & { resetAndDestroy?: () => void }
  if (s.destroyed) return
  if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy()
  else s.destroy()
}

/** Splice `client` and `upstream`; `onClosed` runs once both have closed. */
export function splice(client: Duplex, upstream: Duplex, onClosed: () => void): void {
  client.pipe(upstream)
  upstream.pipe(client)
  client.on('error', () => reset(upstream))
  upstream.on('error', () => reset(client))
  let open = 2
  const closed = () => {
    if (--open === 0) onClosed()
  }
  client.once('close', closed)
  upstream.once('close', closed)
}
