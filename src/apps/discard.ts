// Discard (RFC 863): read and drop everything; close after the peer's FIN.

import type { Server } from '../stack/socket/server.js'
import type { Stack } from '../stack/stack.js'

export function discardServer(stack: Stack): Server {
  return stack.createServer(socket => {
    socket.on('error', () => {})
    socket.resume() // without allowHalfOpen, the peer's FIN ends our side too
  })
}
