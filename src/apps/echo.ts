// Echo (RFC 862): every byte received is sent back. After the peer's FIN the
// echo finishes sending what it has, then closes: pipe() ends the writable side
// when the readable side ends, and a half-open socket lets that happen in order.

import type { Server } from '../stack/socket/server.js'
import type { Stack } from '../stack/stack.js'

export function echoServer(stack: Stack): Server {
  return stack.createServer({ allowHalfOpen: true }, socket => {
    socket.on('error', () => {}) // a reset peer just ends the echo
    socket.pipe(socket)
  })
}
