// Writing SVG by hand: an element is its name, its attributes and its children, all
// strings. No DOM, no library: the output is small, readable and self-contained.

export type Attrs = Record<string, string | number | undefined>

/** Text for an attribute value or element content, with the five XML specials escaped. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, c => `&${({ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' })[c]};`)
}

/** A coordinate: at most one decimal, so the SVG stays short and diffs stay readable. */
export function num(n: number): string {
  return String(Math.round(n * 10) / 10)
}

/** `<name attrs>children</name>`, or `<name attrs/>` with none; numbers go through num(). Undefined attributes are left out. */
export function el(name: string, attrs: Attrs = {}, ...children: string[]): string {
  let open = `<${name}`
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined) open += ` ${k}="${typeof v === 'number' ? num(v) : esc(v)}"`
  }
  return children.length === 0 ? `${open}/>` : `${open}>${children.join('')}</${name}>`
}

/** A text label (escaped). */
export function text(x: number, y: number, content: string, attrs: Attrs = {}): string {
  return el('text', { x, y, ...attrs }, esc(content))
}

/** A polyline through the points, or nothing for none. */
export function polyline(points: Array<[number, number]>, attrs: Attrs): string {
  if (points.length === 0) return ''
  return el('polyline', { ...attrs, points: points.map(([x, y]) => `${num(x)},${num(y)}`).join(' '), fill: 'none' })
}

/** A line that holds its value until the next point: how a window or an ACK moves. */
export function steps(points: Array<[number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = []
  for (const [i, [x, y]] of points.entries()) {
    if (i > 0) out.push([x, points[i - 1]![1]])
    out.push([x, y])
  }
  return out
}

/** A whole SVG document (the xmlns makes it a file a browser opens on its own). */
export function svgDocument(width: number, height: number, body: string, style = ''): string {
  return el('svg', { xmlns: 'http://www.w3.org/2000/svg', width, height, viewBox: `0 0 ${num(width)} ${num(height)}`, 'font-family': 'sans-serif', 'font-size': 11 },
    style === '' ? '' : el('style', {}, style), body) + '\n'
}
