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
