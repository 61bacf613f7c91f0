// Errors shaped as node:dgram's, so code written for a kernel UDP socket reads ours
// the same: Node's ERR_SOCKET_* codes for misuse (thrown), and system errors ('bind
// EADDRINUSE 0.0.0.0:53', 'send EMSGSIZE 10.0.0.2:7', 'recvmsg ECONNREFUSED') with
// `code`, a negative `errno` (libuv's), `syscall` and, where dgram gives them, `address` and `port`.

import { constants } from 'node:os'
import { codedError } from '../socket/errors.js'

export type DgramSyscall = 'bind' | 'send' | 'connect' | 'recvmsg' | 'getsockname'

/** A system error as dgram reports it (its ExceptionWithHostPort, or ErrnoException without an address). */
export function dgramError(code: string, syscall: DgramSyscall, address?: string, port?: number) {
  const at = address !== undefined ? ` ${address}${port !== undefined ? `:${port}` : ''}` : ''
  const errno = -((constants.errno as Record<string, number>)[code] ?? 0)
  return Object.assign(new Error(`${syscall} ${code}${at}`), { code, errno, syscall, ...(address !== undefined ? { address } : {}), ...(port !== undefined ? { port } : {}) })
}

/** Node's ERR_SOCKET_DGRAM_NOT_RUNNING: the socket was closed. */
export const notRunning = () => codedError(new Error('Not running'), 'ERR_SOCKET_DGRAM_NOT_RUNNING')
export const alreadyBound = () => codedError(new Error('Socket is already bound'), 'ERR_SOCKET_ALREADY_BOUND')
export const isConnected = () => codedError(new Error('Already connected'), 'ERR_SOCKET_DGRAM_IS_CONNECTED')
export const notConnected = () => codedError(new Error('Not connected'), 'ERR_SOCKET_DGRAM_NOT_CONNECTED')
export const badType = (type: unknown) => codedError(
  new TypeError(`Bad socket type specified. Valid types are: udp4, udp6 (got ${String(type)})`), 'ERR_SOCKET_BAD_TYPE')
export const bufferSizeError = (why: string) => codedError(new Error(`Could not get or set buffer size: ${why}`), 'ERR_SOCKET_BUFFER_SIZE')
export const outOfBounds = (name: 'offset' | 'length') => codedError(new RangeError(`"${name}" is outside of buffer bounds`), 'ERR_BUFFER_OUT_OF_BOUNDS')
export const badBuffer = () => codedError(
  new TypeError('The "buffer" argument must be of type string or an instance of Buffer, TypedArray, or DataView'), 'ERR_INVALID_ARG_TYPE')
