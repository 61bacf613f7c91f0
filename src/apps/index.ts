// The services of `tuntcp serve` (PRODUCT.md, "The service contract"), each a
// few lines over the stack's Socket, which behaves like net.Socket.

import type { Server } from '../stack/socket/server.js'
import type { Stack } from '../stack/stack.js'
import { chargenServer } from './chargen.js'
import { daytimeServer } from './daytime.js'
import { discardServer } from './discard.js'
import { echoServer } from './echo.js'
import { httpServer } from './http.js'

export const SERVICES = [
  { port: 7, name: 'echo', rfc: 'RFC 862', start: echoServer },
  { port: 9, name: 'discard', rfc: 'RFC 863', start: discardServer },
  { port: 13, name: 'daytime', rfc: 'RFC 867', start: daytimeServer },
  { port: 19, name: 'chargen', rfc: 'RFC 864', start: chargenServer },
  { port: 80, name: 'http', rfc: 'HTTP/1.1', start: httpServer },
] as const

/** Listen on every service port; returns the servers, in SERVICES order. */
export function serveAll(stack: Stack): Server[] {
  return SERVICES.map(service => service.start(stack).listen(service.port))
}
