// What keeps a Node process alive for the stack's sockets, as a net.Socket's handle does
// for the kernel's: while any socket is open or any server listens (and was not unref()'d),
// one ref'd timer that never fires holds the event loop. The stack's own clock timer is
// unref'd, so without this a program on an in-memory link could exit mid-connection (its
// next retransmission only a timer away). On virtual time nothing holds: time moves only
// when the program moves it.

/** setInterval's longest delay: the hold timer all but never fires. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1

export class LoopHold {
  private holders = 0
  private timer: ReturnType<typeof setInterval> | null = null

  /** Hold the loop until the returned function is called (once; later calls do nothing). */
  acquire(): () => void {
    if (++this.holders === 1) this.timer = setInterval(() => undefined, MAX_TIMEOUT_MS)
    let held = true
    return () => {
      if (!held) return
      held = false
      if (--this.holders === 0 && this.timer !== null) {
        clearInterval(this.timer)
        this.timer = null
      }
    }
  }

  /** How many sockets and servers hold the loop now. */
  get count(): number {
    return this.holders
  }
}

/** One socket's or one server's hold: taken while it is active (open, listening) and ref'd, as net's ref()/unref(). */
export class LoopRef {
  private release: (() => void) | null = null
  private active = false
  private refed = true

  constructor(private readonly hold: LoopHold | null) {}

  setActive(active: boolean): void {
    this.active = active
    this.update()
  }

  ref(): void {
    this.refed = true
    this.update()
  }

  unref(): void {
    this.refed = false
    this.update()
  }

  private update(): void {
    const want = this.active && this.refed && this.hold !== null
    if (want && this.release === null) this.release = this.hold!.acquire()
    if (!want && this.release !== null) {
      this.release()
      this.release = null
    }
  }
}
