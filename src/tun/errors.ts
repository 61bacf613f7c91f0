// The one error type of src/tun: a single line a user can act on, plus a code.

export class TunError extends Error {
  /** errno name (EPERM, ENOENT, EBUSY, EINVAL, EADDRINUSE, ...) or a tuntcp code (ENOADDON, EIPROUTE). */
  readonly code: string

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'TunError'
    this.code = code
  }
}
