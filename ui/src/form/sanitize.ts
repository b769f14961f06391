// sanitizeHTML keeps the formatting a rich-text field edits (paragraphs,
// emphasis, lists, headings, links) and drops everything else: scripts,
// styles, event handlers, frames, javascript: links. The server sanitises
// again before storing (core/form/richtext.go); this keeps a value that
// came from a draft or a paste from running anything in the editor.
const allowed = new Set(['P', 'BR', 'B', 'STRONG', 'I', 'EM', 'U', 'S', 'UL', 'OL', 'LI', 'H3', 'H4', 'BLOCKQUOTE', 'A', 'DIV', 'SPAN'])
// Their content goes too: it is code or a document of its own, not text.
const dropped = new Set(['SCRIPT', 'STYLE', 'IFRAME', 'OBJECT', 'EMBED', 'TEMPLATE', 'NOSCRIPT', 'SVG', 'MATH', 'TEXTAREA', 'SELECT'])
const safeLink = /^(https?:|mailto:|tel:|\/(?!\/)|#)/i

export function sanitizeHTML(html: string): string {
  const doc = new DOMParser().parseFromString('<body>' + html + '</body>', 'text/html')
  clean(doc.body)
  return doc.body.innerHTML
}

function clean(node: Node) {
  for (const child of Array.from(node.childNodes)) {
    if (child.nodeType === Node.TEXT_NODE) continue
    if (child.nodeType !== Node.ELEMENT_NODE) {
      child.remove()
      continue
    }
    const el = child as Element
    if (dropped.has(el.tagName)) {
      el.remove()
      continue
    }
    clean(el)
    if (!allowed.has(el.tagName)) {
      el.replaceWith(...Array.from(el.childNodes))
      continue
    }
    for (const a of Array.from(el.attributes)) {
      const keep = el.tagName === 'A' && a.name === 'href' && safeLink.test(a.value.trim())
      if (!keep) el.removeAttribute(a.name)
    }
    if (el.tagName === 'A') {
      el.setAttribute('rel', 'nofollow noopener')
      el.setAttribute('target', '_blank')
    }
  }
}
