// SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): a keyed
// hash for short inputs, the PRF Linux makes its Fast Open cookies with
// (net/ipv4/tcp_fastopen.c, since 5.3; AES before). Written from the paper; BigInt keeps
// the 64-bit words readable, and it runs once per SYN that asks for Fast Open.

const MASK = (1n << 64n) - 1n

function rotl(x: bigint, b: bigint): bigint {
  return ((x << b) | (x >> (64n - b))) & MASK
}

/** The 64-bit little-endian word at b[i]. */
function readLe64(b: Uint8Array, i: number): bigint {
  let w = 0n
  for (let j = 7; j >= 0; j--) w = (w << 8n) | BigInt(b[i + j]!)
  return w
}

/** SipHash-2-4 of `data` under the 128-bit key (k0, k1): 64 bits. */
export function siphash24(k0: bigint, k1: bigint, data: Uint8Array): bigint {
  let v0 = k0 ^ 0x736f6d6570736575n
  let v1 = k1 ^ 0x646f72616e646f6dn
  let v2 = k0 ^ 0x6c7967656e657261n
  let v3 = k1 ^ 0x7465646279746573n
  const round = (): void => {
    v0 = (v0 + v1) & MASK; v1 = rotl(v1, 13n); v1 ^= v0; v0 = rotl(v0, 32n)
    v2 = (v2 + v3) & MASK; v3 = rotl(v3, 16n); v3 ^= v2
    v0 = (v0 + v3) & MASK; v3 = rotl(v3, 21n); v3 ^= v0
    v2 = (v2 + v1) & MASK; v1 = rotl(v1, 17n); v1 ^= v2; v2 = rotl(v2, 32n)
  }
  const whole = data.length - (data.length % 8)
  for (let i = 0; i < whole; i += 8) {
    const m = readLe64(data, i)
    v3 ^= m; round(); round(); v0 ^= m // two compression rounds per word
  }
  // The last word: the remaining bytes, with the length's low byte on top.
  let last = BigInt(data.length & 0xff) << 56n
  for (let j = whole; j < data.length; j++) last |= BigInt(data[j]!) << BigInt(8 * (j - whole))
  v3 ^= last; round(); round(); v0 ^= last
  v2 ^= 0xffn
  round(); round(); round(); round() // four finalization rounds
  return (v0 ^ v1 ^ v2 ^ v3) & MASK
}

// The same function on plain numbers, for the hot path (a SYN's ISN and TSval offset): each
// 64-bit word v0..v3 is two 32-bit halves in one typed array, so nothing is allocated. Its
// result is the low 32 bits of siphash24's.

/** v0..v3: v[2i] the high half of vi, v[2i + 1] the low half. */
const v = new Uint32Array(8)

/** vi += vj (mod 2^64): the low halves' carry goes into the high half. */
function add(i: number, j: number): void {
  const lo = v[2 * i + 1]! + v[2 * j + 1]!
  v[2 * i] = v[2 * i]! + v[2 * j]! + (lo > 0xffffffff ? 1 : 0)
  v[2 * i + 1] = lo
}

/** vi = vi rotated left by b bits (0 < b <= 32). */
function rotl32(i: number, b: number): void {
  const hi = v[2 * i]!
  const lo = v[2 * i + 1]!
  if (b === 32) {
    v[2 * i] = lo
    v[2 * i + 1] = hi
    return
  }
  v[2 * i] = (hi << b) | (lo >>> (32 - b))
  v[2 * i + 1] = (lo << b) | (hi >>> (32 - b))
}

/** vi ^= vj. */
function xor(i: number, j: number): void {
  v[2 * i] = v[2 * i]! ^ v[2 * j]!
  v[2 * i + 1] = v[2 * i + 1]! ^ v[2 * j + 1]!
}

function sipRound(): void {
  add(0, 1); rotl32(1, 13); xor(1, 0); rotl32(0, 32)
  add(2, 3); rotl32(3, 16); xor(3, 2)
  add(0, 3); rotl32(3, 21); xor(3, 0)
  add(2, 1); rotl32(1, 17); xor(1, 2); rotl32(2, 32)
}

/** Mix the message word (hi, lo) in: v3 ^= m, two compression rounds, v0 ^= m. */
function compress(hi: number, lo: number): void {
  v[6] = v[6]! ^ hi; v[7] = v[7]! ^ lo
  sipRound(); sipRound()
  v[0] = v[0]! ^ hi; v[1] = v[1]! ^ lo
}

/** The little-endian 32-bit word of the bytes b[i..end), zero beyond `end`. */
function readLe32(b: Uint8Array, i: number, end: number): number {
  let w = 0
  for (let j = Math.min(end, i + 4) - 1; j >= i; j--) w = (w << 8) | b[j]!
  return w >>> 0
}

/**
 * SipHash-2-4 of `data` under the key k0 = (k0hi, k0lo), k1 = (k1hi, k1lo) (32-bit halves
 * of the two 64-bit little-endian key words): the low 32 bits of the 64-bit result.
 */
export function siphash24Low32(k0hi: number, k0lo: number, k1hi: number, k1lo: number, data: Uint8Array): number {
  v[0] = k0hi ^ 0x736f6d65; v[1] = k0lo ^ 0x70736575
  v[2] = k1hi ^ 0x646f7261; v[3] = k1lo ^ 0x6e646f6d
  v[4] = k0hi ^ 0x6c796765; v[5] = k0lo ^ 0x6e657261
  v[6] = k1hi ^ 0x74656462; v[7] = k1lo ^ 0x79746573
  const whole = data.length - (data.length % 8)
  for (let i = 0; i < whole; i += 8) compress(readLe32(data, i + 4, i + 8), readLe32(data, i, i + 4))
  // The last word: the remaining bytes, with the length's low byte on top.
  const n = data.length
  compress((readLe32(data, whole + 4, n) | ((n & 0xff) << 24)) >>> 0, readLe32(data, whole, n))
  v[5] = v[5]! ^ 0xff
  sipRound(); sipRound(); sipRound(); sipRound()
  return (v[1]! ^ v[3]! ^ v[5]! ^ v[7]!) >>> 0
}
