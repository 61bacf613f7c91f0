// Symbol versions in an ELF shared object (x86-64, little-endian), read and relaxed.
//
// A shared object names, for each library it needs, the versions it needs
// (.gnu.version_r: "libc.so.6: GLIBC_2.38"), and for each undefined symbol which of
// those versions (.gnu.version). The dynamic loader refuses to load it when a needed
// version is missing. relaxVersions() marks chosen needed versions weak (the loader
// then only warns, glibc's dl-version.c) and makes chosen symbols unversioned, so
// another library (our preloaded shim) may define them.

import { readFileSync, writeFileSync } from 'node:fs'

const SHT_DYNSYM = 11
const SHT_GNU_VERNEED = 0x6ffffffe
const SHT_GNU_VERSYM = 0x6fffffff
const VER_FLG_WEAK = 0x2
const VER_NDX_GLOBAL = 1

interface Section { type: number; offset: number; size: number; link: number; info: number; entsize: number }

function sections(b: Buffer): Section[] {
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) throw new Error('not a 64-bit little-endian ELF file')
  const shoff = Number(b.readBigUInt64LE(0x28))
  const shentsize = b.readUInt16LE(0x3a)
  const shnum = b.readUInt16LE(0x3c)
  const out: Section[] = []
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize
    out.push({
      type: b.readUInt32LE(o + 4), offset: Number(b.readBigUInt64LE(o + 24)), size: Number(b.readBigUInt64LE(o + 32)),
      link: b.readUInt32LE(o + 40), info: b.readUInt32LE(o + 44), entsize: Number(b.readBigUInt64LE(o + 56)),
    })
  }
  return out
}

function cString(b: Buffer, at: number): string {
  return b.toString('latin1', at, b.indexOf(0, at))
}

/** One needed version: the library and the version name, and where its flags are. */
interface Need { file: string; version: string; flagsAt: number; weak: boolean }

function needs(b: Buffer, secs: Section[]): Need[] {
  const out: Need[] = []
  for (const s of secs) {
    if (s.type !== SHT_GNU_VERNEED) continue
    const strtab = secs[s.link]!.offset
    let vn = s.offset
    for (let i = 0; i < s.info; i++) {
      const count = b.readUInt16LE(vn + 2)
      const file = cString(b, strtab + b.readUInt32LE(vn + 4))
      let aux = vn + b.readUInt32LE(vn + 8)
      for (let k = 0; k < count; k++) {
        const flags = b.readUInt16LE(aux + 4)
        out.push({ file, version: cString(b, strtab + b.readUInt32LE(aux + 8)), flagsAt: aux + 4, weak: (flags & VER_FLG_WEAK) !== 0 })
        aux += b.readUInt32LE(aux + 12)
      }
      vn += b.readUInt32LE(vn + 12)
    }
  }
  return out
}

/** The versions an ELF shared object needs, as "libc.so.6 GLIBC_2.38" (with " (weak)" when weak). */
export function listVersionNeeds(path: string): string[] {
  const b = readFileSync(path)
  return needs(b, sections(b)).map(n => `${n.file} ${n.version}${n.weak ? ' (weak)' : ''}`)
}

/**
 * Mark `versions` weak and make `symbols` unversioned, in place. Returns what changed.
 * Idempotent: a second call changes nothing.
 */
export function relaxVersions(path: string, versions: readonly string[], symbols: readonly string[]): string[] {
  const b = readFileSync(path)
  const secs = sections(b)
  const changed: string[] = []
  for (const n of needs(b, secs)) {
    if (!versions.includes(n.version) || n.weak) continue
    b.writeUInt16LE(b.readUInt16LE(n.flagsAt) | VER_FLG_WEAK, n.flagsAt)
    changed.push(`${n.file} ${n.version} weak`)
  }
  const dynsym = secs.find(s => s.type === SHT_DYNSYM)
  const versym = secs.find(s => s.type === SHT_GNU_VERSYM)
  if (dynsym && versym) {
    const strtab = secs[dynsym.link]!.offset
    const count = dynsym.size / dynsym.entsize
    for (let i = 0; i < count; i++) {
      const name = cString(b, strtab + b.readUInt32LE(dynsym.offset + i * dynsym.entsize))
      const at = versym.offset + i * 2
      if (symbols.includes(name) && b.readUInt16LE(at) > VER_NDX_GLOBAL) {
        b.writeUInt16LE(VER_NDX_GLOBAL, at)
        changed.push(`${name} unversioned`)
      }
    }
  }
  if (changed.length > 0) writeFileSync(path, b)
  return changed
}
