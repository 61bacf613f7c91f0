// Character generator (RFC 864): lines of 72 printable ASCII characters, each
// starting one character further along the 95 printable ones, sent as fast as
// the peer takes them until the peer closes. The same pattern is the body of
// HTTP /bytes/N, so a test can check every byte it receives.

import type { Server } from '../stack/socket/server.js'
import type { Stack } from '../stack/stack.js'

const PRINTABLE = 95 // ' ' (32) to '~' (126)
const LINE = 72

/** One full period of the pattern: 95 lines of 72 characters and CR LF (7030 bytes). */
export const CHARGEN_PERIOD: Buffer = (() => {
  const period = Buffer.alloc(PRINTABLE * (LINE + 2))
  let at = 0
  for (let line = 0; line < PRINTABLE; line++) {
    for (let i = 0; i < LINE; i++) period[at++] = 32 + ((line + i) % PRINTABLE)
    period[at++] = 13
    period[at++] = 10
  }
  return period
})()

/** Bytes [offset, offset + length) of the endless chargen stream. */
export function chargenBytes(offset: number, length: number): Buffer {
  const out = Buffer.alloc(length)
  let start = offset % CHARGEN_PERIOD.length
  let filled = 0
  while (filled < length) {
    const copied = CHARGEN_PERIOD.copy(out, filled, start)
    filled += copied
    start = 0
  }
  return out
}

/** A chunk of whole periods, about 64 KiB, so each write is one buffer. */
const CHUNK = Buffer.concat(Array.from({ length: 9 }, () => CHARGEN_PERIOD))

export function chargenServer(stack: Stack): Server {
  return stack.createServer(socket => {
    let open = true
    const stop = () => { open = false }
    socket.on('end', stop)
    socket.on('close', stop)
    socket.on('error', stop)
    socket.resume() // whatever the peer sends is ignored (RFC 864)
    const pump = () => {
      while (open && socket.write(CHUNK));
    }
    socket.on('drain', pump)
    pump()
  })
}
