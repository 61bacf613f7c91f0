// Daytime (RFC 867): send one line with the date and time, then close. The
// stack closes first, so its end of the connection is the one that goes
// FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT.

import type { Server } from '../stack/socket/server.js'
import type { Stack } from '../stack/stack.js'

/** RFC 867 leaves the format free; this is the one Linux's xinetd uses, e.g. "25 NOV 2026 09:10:11 UTC". */
export function daytimeLine(date: Date): string {
  const months = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC']
  const two = (n: number) => String(n).padStart(2, '0')
  const day = two(date.getUTCDate())
  const time = `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}`
  return `${day} ${months[date.getUTCMonth()]} ${date.getUTCFullYear()} ${time} UTC\r\n`
}

export function daytimeServer(stack: Stack, now: () => Date = () => new Date()): Server {
  return stack.createServer(socket => {
    socket.on('error', () => {})
    // Like a daytime server's close(2): the line, our FIN, and the socket let go, so
    // the connection finishes (and FIN-WAIT-2 times out) without the application.
    socket.end(daytimeLine(now()), () => socket.destroy())
  })
}
