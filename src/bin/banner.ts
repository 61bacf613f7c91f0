// The lines `tuntcp serve` prints once it answers: where, what, and what to try.

import { SERVICES } from '../apps/index.js'

/** What serve prints once it answers: the device, the services, lines to try. */
export function banner(o: {
  device: string; mtu: number; offload: boolean; address: string; address6?: string | undefined
  kernelAddr: string | undefined; kernelAddr6?: string | undefined; workers: number
}): string {
  const extras = `${o.offload ? ', offload' : ''}${o.workers > 1 ? `, ${o.workers} workers` : ''}`
  const at = o.address6 === undefined ? o.address : `${o.address} and ${o.address6}`
  const kernel = [o.kernelAddr, o.kernelAddr6].filter(a => a !== undefined).join(' and ')
  const lines = [`tuntcp: serving on ${o.device} (mtu ${o.mtu}${extras}) at ${at}${kernel ? `, kernel side ${kernel}` : ''}`]
  for (const s of SERVICES) lines.push(`  ${String(s.port).padStart(3)}  ${s.name.padEnd(8)} ${s.rfc}`)
  lines.push('try:')
  lines.push(`  curl http://${o.address}/`)
  lines.push(`  curl -o /dev/null http://${o.address}/bytes/10485760`)
  lines.push(`  nc ${o.address} 7`)
  lines.push(`  ping -c 3 ${o.address}`)
  if (o.address6 !== undefined) {
    lines.push(`  curl -g http://[${o.address6}]/`)
    lines.push(`  nc -6 ${o.address6} 7`)
    lines.push(`  ping -6 -c 3 ${o.address6}`)
  }
  lines.push(`  sudo npx tuntcp ss${o.device === 'tuntcp0' ? '' : ` --dev ${o.device}`}`)
  lines.push('Ctrl-C to stop')
  return lines.join('\n')
}
