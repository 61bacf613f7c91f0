// The connection table: every connection the stack holds, found by its 4-tuple.
// The local address is always the stack's own, so the key is (remote address,
// local port, remote port).
//
// Two levels of Map: by remote address, then by the two ports packed into one
// 32-bit integer. The ports go in the inner key because they are what varies:
// a server sees many remote ports from each client address, a client uses many
// local ports towards one server address, and either way one inner Map holds
// them all. Packed with `<<` and `|`, the key is a signed 32-bit integer, which
// V8 keeps as a small integer: no heap number per key and no string built per
// packet. An entry then costs a few words of its Map, which matters when a
// million connections wait in TIME-WAIT (docs/performance.md, memory).

/** What the table needs to know about a connection: its ports and remote address. */
export interface FourTuple {
  readonly localPort: number
  readonly remoteAddr: number
  readonly remotePort: number
}

/** Both ports in one int32: local port in the high 16 bits (negative from 32768 on, which is fine for a key). */
function portsKey(localPort: number, remotePort: number): number {
  return (localPort << 16) | remotePort
}

export class ConnectionTable<C extends FourTuple> {
  private readonly byAddr = new Map<number, Map<number, C>>()
  /** Connections held. */
  size = 0

  get(localPort: number, remoteAddr: number, remotePort: number): C | undefined {
    return this.byAddr.get(remoteAddr)?.get(portsKey(localPort, remotePort))
  }

  /** Add a connection, or put it in the place of the one with the same 4-tuple (a TCB entering TIME-WAIT). */
  add(conn: C): void {
    let byPorts = this.byAddr.get(conn.remoteAddr)
    if (byPorts === undefined) this.byAddr.set(conn.remoteAddr, (byPorts = new Map()))
    const key = portsKey(conn.localPort, conn.remotePort)
    if (!byPorts.has(key)) this.size++
    byPorts.set(key, conn)
  }

  /** Remove this connection; nothing happens if its 4-tuple now belongs to another one. */
  delete(conn: C): void {
    const byPorts = this.byAddr.get(conn.remoteAddr)
    const key = portsKey(conn.localPort, conn.remotePort)
    if (byPorts?.get(key) !== conn) return
    byPorts.delete(key)
    this.size--
    if (byPorts.size === 0) this.byAddr.delete(conn.remoteAddr)
  }

  *[Symbol.iterator](): IterableIterator<C> {
    for (const byPorts of this.byAddr.values()) yield* byPorts.values()
  }
}
