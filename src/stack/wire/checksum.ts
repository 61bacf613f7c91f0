// The Internet checksum (RFC 1071): the 16-bit one's complement of the one's
// complement sum of the data taken as big-endian 16-bit words.

/**
 * One's complement sum of bytes[start, end) as big-endian 16-bit words, added to
 * `initial`. An odd final byte is the high half of a word padded with zero (RFC 1071 4.1).
 *
 * Returns the sum FOLDED to 16 bits (0..0xffff), so results chain: pass one call's
 * result as the next call's `initial` (pseudo header, then header, then payload).
 * `initial` may be any non-negative integer below 2^52 (folded or not).
 * Words are read relative to `start`, so chained ranges must each start on an even
 * byte of the checksummed data (as headers and payloads do).
 */
export function onesComplementSum(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  // A plain JS number holds exact integers to 2^53; 65535 words of 0xffff is < 2^32,
  // so we add without folding inside the loop and fold once at the end (RFC 1071 2(B)).
  let sum = initial
  let i = start
  const even = end - ((end - start) & 1)
  for (; i + 8 <= even; i += 8) {
    sum += ((bytes[i]! << 8) | bytes[i + 1]!) + ((bytes[i + 2]! << 8) | bytes[i + 3]!)
      + ((bytes[i + 4]! << 8) | bytes[i + 5]!) + ((bytes[i + 6]! << 8) | bytes[i + 7]!)
  }
  for (; i < even; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!
  if (i < end) sum += bytes[i]! << 8
  return fold(sum)
}

/** Fold carries back into the low 16 bits until none remain (end-around carry). */
function fold(sum: number): number {
  if (sum > 0xffffffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000)
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  return sum
}

/**
 * The checksum field value for bytes[start, end): ~sum, 16 bits. Computed over a
 * header or message that already holds its checksum, a valid one gives 0.
 */
export function checksum(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  return ~onesComplementSum(bytes, start, end, initial) & 0xffff
}

/**
 * Folded sum of the TCP/UDP pseudo header (RFC 9293 3.1): source and destination
 * address, zero, protocol, and the TCP length (header plus data, in bytes).
 */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return fold((src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + (protocol & 0xff) + length)
}
