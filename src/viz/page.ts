// A self-contained HTML page: everything inline (style, SVG), nothing fetched,
// so it opens from a file, offline, and can be mailed to a class.

import { esc } from './svg.js'

export const PAGE_STYLE = 'body{font-family:sans-serif;margin:24px;max-width:1100px;color:#222}'
  + 'h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ccc}'
  + 'table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}'
  + 'code,td.mono{font-family:monospace}.ok{color:#187a18;font-weight:bold}.bad{color:#c00;font-weight:bold}'
  + 'svg{display:block;margin:8px 0}'

/** A whole HTML document; `body` is HTML already (escape its text with esc()). */
export function htmlPage(title: string, body: string, style = ''): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
<style>${PAGE_STYLE}${style}</style>
</head>
<body>
<h1>${esc(title)}</h1>
${body}
</body>
</html>
`
}
