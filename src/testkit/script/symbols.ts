// The C names a script may use, with Linux's values, so that a number written
// in a Linux script means what it meant there.

export const ERRNO: Readonly<Record<string, number>> = {
  EPERM: 1,
  EBADF: 9,
  EAGAIN: 11,
  EWOULDBLOCK: 11,
  EINVAL: 22,
  EPIPE: 32,
  ENOTSOCK: 88,
  ENOPROTOOPT: 92,
  EOPNOTSUPP: 95,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  EISCONN: 106,
  ENOTCONN: 107,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EALREADY: 114,
  EINPROGRESS: 115,
}

/** strerror() text, for messages. */
export const STRERROR: Readonly<Record<string, string>> = {
  EPERM: 'Operation not permitted',
  EBADF: 'Bad file descriptor',
  EAGAIN: 'Resource temporarily unavailable',
  EWOULDBLOCK: 'Resource temporarily unavailable',
  EINVAL: 'Invalid argument',
  EPIPE: 'Broken pipe',
  ENOTSOCK: 'Socket operation on non-socket',
  ENOPROTOOPT: 'Protocol not available',
  EOPNOTSUPP: 'Operation not supported',
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ECONNABORTED: 'Software caused connection abort',
  ECONNRESET: 'Connection reset by peer',
  EISCONN: 'Transport endpoint is already connected',
  ENOTCONN: 'Transport endpoint is not connected',
  ETIMEDOUT: 'Connection timed out',
  ECONNREFUSED: 'Connection refused',
  EALREADY: 'Operation already in progress',
  EINPROGRESS: 'Operation now in progress',
}

export const SYMBOLS: Readonly<Record<string, number>> = {
  ...ERRNO,
  AF_INET: 2,
  PF_INET: 2,
  SOCK_STREAM: 1,
  SOCK_NONBLOCK: 0o4000,
  IPPROTO_IP: 0,
  IPPROTO_TCP: 6,
  SOL_SOCKET: 1,
  SOL_TCP: 6,
  SO_REUSEADDR: 2,
  SO_ERROR: 4,
  SO_KEEPALIVE: 9,
  TCP_NODELAY: 1,
  SHUT_RD: 0,
  SHUT_WR: 1,
  SHUT_RDWR: 2,
  F_GETFL: 3,
  F_SETFL: 4,
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_NONBLOCK: 0o4000,
}

/** The socket options setsockopt() accepts: level, then name. */
export const SOCKET_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  SOL_SOCKET: ['SO_REUSEADDR', 'SO_KEEPALIVE'],
  IPPROTO_TCP: ['TCP_NODELAY'],
  SOL_TCP: ['TCP_NODELAY'],
}
