// Errors and argument checks shaped as node:net's, so that code written for a kernel
// socket reads ours the same: `err.code`, a negative `errno` (libuv's), the `syscall`
// that failed and, where the call named one, the `address` and `port` of the other end.

import { constants } from 'node:os'
import { getSystemErrorMap } from 'node:util'
import { CONGESTION_CONTROLS, isCongestionControlName, type CongestionControlName } from '../tcp/congestion/index.js'
import { TcpError } from '../tcp/tcb.js'

/** The fields net's system errors carry beside `code`. */
export interface NetErrorFields {
  errno: number
  syscall: 'connect' | 'read' | 'write' | 'listen'
  address?: string
  port?: number
}

/** The other end a call was about: the peer of a connect, the address a listen asked for. */
export interface End {
  address: string
  port: number
}

/** libuv's errno for a code: the negative of the system's (ECONNREFUSED is -111 on Linux). */
function errno(code: string): number {
  return -((constants.errno as Record<string, number>)[code] ?? 0)
}

/**
 * A connection's error as net reports it (its exceptionWithHostPort): 'connect ECONNREFUSED
 * 10.0.0.2:7' names the peer that refused; a connection that was up fails on 'read', as
 * Node's read loop is where a kernel socket's reset or timeout surfaces. The TCB's own
 * error, with its detail (keepalive, ICMP), stays as `cause`.
 */
export function connectionError(cause: TcpError, syscall: 'connect' | 'read', peer?: End): TcpError & NetErrorFields {
  const error = new TcpError(cause.code, `${syscall} ${cause.code}${peer ? ` ${peer.address}:${peer.port}` : ''}`)
  return Object.assign(error, { errno: errno(cause.code), syscall, ...peer, cause })
}

/** A write the closed connection could not take, as the kernel's write(2) fails: 'write EPIPE'. */
export function writeError(): Error & NetErrorFields & { code: 'EPIPE' } {
  return Object.assign(new Error('write EPIPE'), { code: 'EPIPE' as const, errno: errno('EPIPE'), syscall: 'write' as const })
}

/** A failed listen as net reports it (uvExceptionWithHostPort): 'listen EADDRINUSE: address already in use 10.0.0.2:80'. */
export function listenError(code: 'EADDRINUSE' | 'EADDRNOTAVAIL', at: End): Error & NetErrorFields & { code: string } {
  const n = errno(code)
  const text = getSystemErrorMap().get(n)?.[1] ?? code
  return Object.assign(new Error(`listen ${code}: ${text} ${at.address}:${at.port}`), { code, errno: n, syscall: 'listen' as const, ...at })
}

/** An error with a Node-style `code` (ERR_SOCKET_CLOSED, ERR_SERVER_ALREADY_LISTEN, ...). */
export function codedError<E extends Error>(error: E, code: string): E & { code: string } {
  return Object.assign(error, { code })
}

/**
 * A port argument as net's validatePort takes it: an integer, or a string of one, in
 * 0-65535 (0 only where `allowZero`, listen's "any free port"). Anything else throws
 * RangeError ERR_SOCKET_BAD_PORT before the call does anything.
 */
export function validatePort(port: unknown, name: string, allowZero: boolean): number {
  const n = typeof port === 'string' && port.trim() !== '' ? Number(port) : port
  if (typeof n !== 'number' || !Number.isInteger(n) || n < (allowZero ? 0 : 1) || n > 65535) {
    const range = allowZero ? '>= 0' : '> 0'
    throw codedError(new RangeError(`${name} should be ${range} and < 65536. Received ${String(port)}.`), 'ERR_SOCKET_BAD_PORT')
  }
  return n
}

/** An idle time as net's setTimeout takes it: a number >= 0, else TypeError or RangeError. */
export function validateTimeout(ms: unknown): number {
  if (typeof ms !== 'number') throw codedError(new TypeError(`The "msecs" argument must be of type number. Received ${typeof ms}`), 'ERR_INVALID_ARG_TYPE')
  if (!(ms >= 0)) throw codedError(new RangeError(`The value of "msecs" is out of range. It must be >= 0. Received ${ms}`), 'ERR_OUT_OF_RANGE')
  return ms
}

/** A congestion control name, else RangeError naming the ones there are. */
export function checkCongestionControl(name: unknown): asserts name is CongestionControlName {
  if (!isCongestionControlName(name)) throw new RangeError(`unknown congestion control '${String(name)}' (one of: ${CONGESTION_CONTROLS.join(', ')})`)
}
