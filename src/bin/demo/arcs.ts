// Where each state change of the demo is ruled: the section of RFC 9293 and, for the
// stack's end, the function that takes the arc (as docs/rfc-map.md lists them).

import type { State } from '../../stack/tcp/state.js'
import type { Link } from '../../viz/ladder.js'

interface Rule {
  section: string
  /** The file under src/stack/tcp/ and the function in it. */
  code: [string, string]
}

const OPEN: Rule = { section: '3.10.1', code: ['user.ts', 'openActive'] }
const CLOSE: Rule = { section: '3.10.4', code: ['user.ts', 'close'] }
const ABORT: Rule = { section: '3.10.5', code: ['user.ts', 'abort'] }
const ACK_STEP: Rule = { section: '3.10.7.4', code: ['input.ts', 'checkAck'] } // fifth step: the ACK field
const FIN_STEP: Rule = { section: '3.10.7.4', code: ['input.ts', 'finArrives'] } // eighth step: the FIN bit
const RST_STEP: Rule = { section: '3.10.7.4', code: ['input.ts', 'onReset'] } // second step: the RST bit

const RULES: Record<string, Rule> = {
  'CLOSED>SYN-SENT': OPEN,
  'LISTEN>SYN-RECEIVED': { section: '3.10.7.2', code: ['tcp-layer.ts', 'listenInput'] },
  'SYN-SENT>ESTABLISHED': { section: '3.10.7.3', code: ['input.ts', 'synSent'] },
  'SYN-SENT>CLOSED': { section: '3.10.7.3', code: ['input.ts', 'synSent'] },
  'SYN-RECEIVED>ESTABLISHED': ACK_STEP,
  'ESTABLISHED>FIN-WAIT-1': CLOSE,
  'CLOSE-WAIT>LAST-ACK': CLOSE,
  'ESTABLISHED>CLOSE-WAIT': FIN_STEP,
  'FIN-WAIT-1>CLOSING': FIN_STEP,
  'FIN-WAIT-1>TIME-WAIT': FIN_STEP,
  'FIN-WAIT-2>TIME-WAIT': FIN_STEP,
  'FIN-WAIT-1>FIN-WAIT-2': ACK_STEP,
  'CLOSING>TIME-WAIT': ACK_STEP,
  'LAST-ACK>CLOSED': ACK_STEP,
  'TIME-WAIT>CLOSED': { section: '3.10.8', code: ['time-wait.ts', 'expire'] }, // the TIME-WAIT timeout
}

const RFC = 'https://www.rfc-editor.org/rfc/rfc9293'

function ruleFor(from: State, to: State, reset: boolean): Rule | undefined {
  if (to === 'CLOSED' && reset && from !== 'SYN-SENT') return RST_STEP
  return RULES[`${from}>${to}`] ?? (to === 'CLOSED' ? ABORT : undefined)
}

/** Where the source is: the package's own src/, as a file: URL (the page is opened where the demo ran). */
export const SOURCE_ROOT = new URL('../../../', import.meta.url).href

/**
 * The links for an arc from -> to; `reset`: a RST arrived at this end in this step;
 * `codeRoot`: where src/ lies (relative or absolute) for the function's link, or null for
 * an end that is not ours (the kernel's code is Linux's).
 */
export function arcLinks(from: State, to: State, reset: boolean, codeRoot: string | null): Link[] {
  const rule = ruleFor(from, to, reset)
  if (rule === undefined) return []
  const links = [{ href: `${RFC}#section-${rule.section}`, text: `RFC 9293 ${rule.section}` }]
  if (codeRoot !== null) {
    const [file, fn] = rule.code
    links.push({ href: `${codeRoot}src/stack/tcp/${file}`, text: `${file} ${fn}` })
  }
  return links
}
