// Server: a listening port, shaped like net.Server ('listening',
// 'connection', 'close', 'error'). Its listener is the LISTEN state of
// RFC 9293; each connection that reaches ESTABLISHED becomes a Socket.

import { EventEmitter } from 'node:events'
import type { Listener, TcpLayer } from '../tcp/tcp-layer.js'
import type { Tcb } from '../tcp/tcb.js'
import { codedError, listenError, validatePort } from './errors.js'
import { LoopHold, LoopRef } from './loop-hold.js'
import { addressText, mappedV6, parseAnyAddress, unmappedV4 } from '../wire/address.js'
import { parseAddress } from '../wire/ipv4.js'
import { Socket } from './socket.js'

export interface ServerOptions {
  /** Passed to every accepted Socket (see SocketOptions). */
  allowHalfOpen?: boolean
  /** Passed to every accepted Socket (see SocketOptions). */
  closeOnDestroy?: boolean
  /** Sets Server.maxConnections. */
  maxConnections?: number
}

/** What listen({ ... }) takes, as net's: `port` 0 or absent is any free port. */
export interface ListenOptions {
  port?: number | string | null
  /**
   * The stack's own IPv4 or IPv6 address (or its IPv4 one mapped, '::ffff:10.77.0.2'), or
   * '0.0.0.0' / '::' / absent for "every address". The listener takes both families on its
   * port. Listening as IPv6 ('::', absent on a stack with an IPv6 address, or a mapped address),
   * it is net's dual-stack socket: IPv4 peers show as '::ffff:10.77.0.1', family 'IPv6'.
   */
  host?: string
  /** Only the Fast Open queue length under the stack's fastOpen.serverAllListeners (Linux's 0x400); else unused. */
  backlog?: number
  /**
   * TCP Fast Open (RFC 7413), as Linux's TCP_FASTOPEN: the most connections that may be
   * handed over with their SYN's data before their handshake ends. 0 or absent: off.
   */
  fastOpen?: number
}

/** listen()'s backlog when none is given (Node's default, 511). */
const DEFAULT_BACKLOG = 511

/** Hosts that mean "every local address" (INADDR_ANY, in6addr_any). */
const ANY_HOST = new Set(['', '0.0.0.0', '::'])

/** A Fast Open queue length: a whole number, 0 or more; net's ERR_OUT_OF_RANGE otherwise. */
function checkQueueLength(n: unknown, name: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
    throw codedError(new RangeError(`The value of "${name}" is out of range. It must be a non-negative integer. Received ${String(n)}`), 'ERR_OUT_OF_RANGE')
  }
  return n
}

export class Server extends EventEmitter {
  private listener: Listener | null = null
  private readonly open = new Set<Socket>()
  private closing = false
  /** Holds Node's event loop while listening, unless unref()'d (loop-hold.ts). */
  private readonly loopRef: LoopRef
  /**
   * Most connections this server holds at once, as net.Server.maxConnections: at the
   * limit a new SYN is dropped (counted as tcp-listener-full), as Linux does with a
   * full accept queue, and the client retries. Default: no limit.
   */
  maxConnections = Infinity
  /** What address() says of the host listened on. */
  private bound: { address: string; family: 'IPv4' | 'IPv6' } = { address: '', family: 'IPv4' }

  constructor(
    private readonly tcp: TcpLayer,
    private readonly localAddress: string,
    private readonly options: ServerOptions = {},
    onConnection?: (socket: Socket) => void,
    private readonly loopHold: LoopHold | null = null,
  ) {
    super()
    this.loopRef = new LoopRef(loopHold)
    if (options.maxConnections !== undefined) this.maxConnections = options.maxConnections
    if (onConnection) this.on('connection', onConnection)
  }

  get listening(): boolean {
    return this.listener !== null
  }

  /**
   * Passive OPEN, with net's arguments: listen(port, [host], [backlog], [callback]),
   * listen({ port, host }, [callback]), listen([callback]). Port 0 or none is an
   * ephemeral one (address().port tells which). Bad arguments throw before anything
   * happens; a port in use gives an EADDRINUSE 'error', a host that is not the stack's
   * an EADDRNOTAVAIL one, as a kernel's bind(2) would.
   */
  listen(port?: number | string | null, host?: string, backlog?: number, callback?: () => void): this
  listen(port?: number | string | null, host?: string, callback?: () => void): this
  listen(port?: number | string | null, callback?: () => void): this
  listen(options: ListenOptions, callback?: () => void): this
  listen(callback?: () => void): this
  listen(...args: unknown[]): this {
    const last = args.at(-1)
    const callback = typeof last === 'function' ? last as () => void : undefined
    const first = args[0]
    const options: ListenOptions = typeof first === 'object' && first !== null ? first as ListenOptions
      : { port: typeof first === 'function' ? undefined : first as ListenOptions['port'], host: typeof args[1] === 'string' ? args[1] : undefined,
          backlog: typeof args[1] === 'number' ? args[1] : typeof args[2] === 'number' ? args[2] : undefined }
    const port = options.port == null ? 0 : validatePort(options.port, 'options.port', true)
    const fastOpen = checkQueueLength(options.fastOpen ?? 0, 'options.fastOpen')
    // As net's: a backlog that is not a number means the default.
    const backlog = typeof options.backlog === 'number' && options.backlog >= 0 ? Math.floor(options.backlog) : DEFAULT_BACKLOG
    if (this.listener !== null) throw codedError(new Error('Listen method has been called more than once without closing.'), 'ERR_SERVER_ALREADY_LISTEN')
    // Checked: from here on the call takes effect, or fails with an 'error' event.
    if (callback) this.once('listening', callback)
    const host = options.host ?? ''
    const bound = this.boundTo(host)
    if (bound === null) return this.fail(listenError('EADDRNOTAVAIL', { address: host, port }))
    this.bound = bound
    const listener: Listener = {
      port: port === 0 ? this.tcp.freeListenPort() : port, synReceived: 0, onAccept: tcb => this.accept(tcb),
      isFull: () => this.open.size >= this.maxConnections,
      fastOpen, fastOpenPending: 0, backlog,
    }
    if (!this.tcp.listen(listener)) return this.fail(listenError('EADDRINUSE', { address: host || this.localAddress, port }))
    this.listener = listener
    this.closing = false
    this.loopRef.setActive(true)
    process.nextTick(() => this.emit('listening'))
    return this
  }

  /**
   * What address() says of listening on `host`, as net's: '::' (IPv6) for every address of a
   * dual-stack host, or asked for by name; an address of the stack's as given (an IPv4-mapped
   * one stays IPv6, RFC 4291 2.5.5.2); null for an address that is not the stack's.
   */
  private boundTo(host: string): { address: string; family: 'IPv4' | 'IPv6' } | null {
    const address6 = this.tcp.address6
    if (host === '::' || (host === '' && address6 !== null)) return { address: '::', family: 'IPv6' }
    if (ANY_HOST.has(host)) return { address: this.localAddress, family: 'IPv4' }
    const a = parseAnyAddress(host)
    if (a === null) return null
    if (typeof a === 'number') return a === parseAddress(this.localAddress) ? { address: this.localAddress, family: 'IPv4' } : null
    if (a === address6) return { address: a, family: 'IPv6' }
    const v4 = unmappedV4(a)
    if (v4 !== null && addressText(v4) === this.localAddress) return { address: mappedV6(v4), family: 'IPv6' }
    return null
  }

  /**
   * TCP Fast Open on a listening server, as setsockopt(TCP_FASTOPEN) on a listening socket:
   * the queue length (0 turns it off for new SYNs). Before listen(), use listen({ fastOpen }).
   */
  setFastOpen(queueLength: number): this {
    const n = checkQueueLength(queueLength, 'queueLength')
    if (this.listener === null) throw codedError(new Error('setFastOpen() needs a listening server: use listen({ fastOpen })'), 'ERR_SERVER_NOT_RUNNING')
    this.listener.fastOpen = n
    return this
  }

  /** Stop listening (new SYNs get RST); 'close' comes once the open connections have closed. */
  close(callback?: (error?: Error) => void): this {
    if (callback) this.once('close', callback)
    if (this.listener !== null) this.tcp.unlisten(this.listener)
    this.listener = null
    this.closing = true
    this.loopRef.setActive(false)
    this.maybeClosed()
    return this
  }

  address(): { address: string; port: number; family: string } | null {
    return this.listener === null ? null : { address: this.bound.address, port: this.listener.port, family: this.bound.family }
  }

  /** Sockets of this server not yet closed. */
  get connections(): ReadonlySet<Socket> {
    return this.open
  }

  /** How many connections are open, as net's: called back on the next tick with (null, count). */
  getConnections(callback: (error: Error | null, count: number) => void): this {
    const count = this.open.size
    process.nextTick(() => callback(null, count))
    return this
  }

  /** As net.Server#ref (the default): while listening, this server keeps the process alive (loop-hold.ts). */
  ref(): this {
    this.loopRef.ref()
    return this
  }

  /** As net.Server#unref: the process may exit though this server listens. */
  unref(): this {
    this.loopRef.unref()
    return this
  }

  private accept(tcb: Tcb): void {
    // An IPv6 listener's IPv4 connection is a mapped one, as on a dual-stack kernel (RFC 3493 3.7).
    const mapped = this.bound.family === 'IPv6'
    const socket = new Socket(tcb, { allowHalfOpen: this.options.allowHalfOpen, closeOnDestroy: this.options.closeOnDestroy, mapped }, this.loopHold)
    this.open.add(socket)
    socket.once('close', () => {
      this.open.delete(socket)
      this.maybeClosed()
    })
    this.emit('connection', socket)
  }

  private fail(error: Error): this {
    process.nextTick(() => this.emit('error', error))
    return this
  }

  private maybeClosed(): void {
    if (this.closing && this.open.size === 0) {
      this.closing = false
      process.nextTick(() => this.emit('close'))
    }
  }
}
