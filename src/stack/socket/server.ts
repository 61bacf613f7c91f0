// Server: a listening port, shaped like net.Server ('listening',
// 'connection', 'close', 'error'). Its listener is the LISTEN state of
// RFC 9293; each connection that reaches ESTABLISHED becomes a Socket.

import { EventEmitter } from 'node:events'
import type { Listener, TcpLayer } from '../tcp/tcp-layer.js'
import type { Tcb } from '../tcp/tcb.js'
import { Socket } from './socket.js'

export interface ServerOptions {
  /** Passed to every accepted Socket (see SocketOptions). */
  allowHalfOpen?: boolean
  /** Passed to every accepted Socket (see SocketOptions). */
  closeOnDestroy?: boolean
  /** Sets Server.maxConnections. */
  maxConnections?: number
}

export class Server extends EventEmitter {
  private listener: Listener | null = null
  private readonly open = new Set<Socket>()
  private closing = false
  /**
   * Most connections this server holds at once, as net.Server.maxConnections: at the
   * limit a new SYN is dropped (counted as tcp-listener-full), as Linux does with a
   * full accept queue, and the client retries. Default: no limit.
   */
  maxConnections = Infinity

  constructor(
    private readonly tcp: TcpLayer,
    private readonly localAddress: string,
    private readonly options: ServerOptions = {},
    onConnection?: (socket: Socket) => void,
  ) {
    super()
    if (options.maxConnections !== undefined) this.maxConnections = options.maxConnections
    if (onConnection) this.on('connection', onConnection)
  }

  get listening(): boolean {
    return this.listener !== null
  }

  /** Passive OPEN on `port`. A port already listened on gives an EADDRINUSE 'error'. */
  listen(port: number, callback?: () => void): this {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`port must be 1-65535, got ${port}`)
    if (this.listener !== null) throw new Error('server is already listening')
    const listener: Listener = {
      port, synReceived: 0, onAccept: tcb => this.accept(tcb),
      isFull: () => this.open.size >= this.maxConnections,
    }
    if (!this.tcp.listen(listener)) {
      const error = Object.assign(new Error(`listen EADDRINUSE: address already in use ${this.localAddress}:${port}`), { code: 'EADDRINUSE' })
      process.nextTick(() => this.emit('error', error))
      return this
    }
    this.listener = listener
    this.closing = false
    if (callback) this.once('listening', callback)
    process.nextTick(() => this.emit('listening'))
    return this
  }

  /** Stop listening (new SYNs get RST); 'close' comes once the open connections have closed. */
  close(callback?: (error?: Error) => void): this {
    if (callback) this.once('close', callback)
    if (this.listener !== null) this.tcp.unlisten(this.listener)
    this.listener = null
    this.closing = true
    this.maybeClosed()
    return this
  }

  address(): { address: string; port: number; family: string } | null {
    return this.listener === null ? null : { address: this.localAddress, port: this.listener.port, family: 'IPv4' }
  }

  /** Sockets of this server not yet closed. */
  get connections(): ReadonlySet<Socket> {
    return this.open
  }

  private accept(tcb: Tcb): void {
    const socket = new Socket(tcb, { allowHalfOpen: this.options.allowHalfOpen, closeOnDestroy: this.options.closeOnDestroy })
    this.open.add(socket)
    socket.once('close', () => {
      this.open.delete(socket)
      this.maybeClosed()
    })
    this.emit('connection', socket)
  }

  private maybeClosed(): void {
    if (this.closing && this.open.size === 0) {
      this.closing = false
      process.nextTick(() => this.emit('close'))
    }
  }
}
