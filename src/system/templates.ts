import {readFile} from 'node:fs/promises'

/**
 * The files in the package's templates/ folder (mail bodies, systemd units, the cron file, the
 * zedlet), filled in with a small subset of mustache: `{{name}}` (dotted paths; `.` is the current
 * item), `{{#name}}...{{/name}}` (repeated for each item of a list, once for any other true value),
 * `{{^name}}...{{/name}}` (only when empty or false). A line holding only a section tag leaves no
 * blank line behind.
 */

const TEMPLATES = new URL('../../templates/', import.meta.url)

export async function loadTemplate(name: string): Promise<string> {
  return readFile(new URL(name, TEMPLATES), 'utf8')
}

const TAG = /\{\{([#^/]?)\s*([\w.]+)\s*\}\}/
const STANDALONE_SECTION = /^[ \t]*(\{\{[#^/]\s*[\w.]+\s*\}\})[ \t]*\r?\n/gm

export function renderTemplate(template: string, view: object, escape: (text: string) => string = (text) => text): string {
  return renderPart(template.replace(STANDALONE_SECTION, '$1'), [view], escape)
}

export function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;')
}

function renderPart(template: string, stack: unknown[], escape: (text: string) => string): string {
  let output = ''
  let rest = template
  for (let match = TAG.exec(rest); match; match = TAG.exec(rest)) {
    const [tag, sigil, name] = match
    output += rest.slice(0, match.index)
    rest = rest.slice(match.index + tag.length)
    if (sigil === '') {
      const value = lookup(stack, name)
      output += value === undefined || value === null ? '' : escape(String(value))
      continue
    }

    if (sigil === '/') throw new Error(`template: {{/${name}}} closes no section`)
    const close = new RegExp(`\\{\\{/\\s*${name.replaceAll('.', '\\.')}\\s*\\}\\}`).exec(rest)
    if (!close) throw new Error(`template: {{${sigil}${name}}} is never closed`)
    const inner = rest.slice(0, close.index)
    rest = rest.slice(close.index + close[0].length)
    const value = lookup(stack, name)
    const items = Array.isArray(value) ? value : value ? [value] : []
    if (sigil === '^') {
      if (items.length === 0) output += renderPart(inner, stack, escape)
    } else {
      for (const item of items) output += renderPart(inner, [...stack, item], escape)
    }
  }

  return output + rest
}

function lookup(stack: unknown[], name: string): unknown {
  if (name === '.') return stack.at(-1)
  const [head, ...path] = name.split('.')
  for (let index = stack.length - 1; index >= 0; index--) {
    const frame = stack[index]
    if (typeof frame === 'object' && frame !== null && head in frame) {
      return path.reduce<unknown>((value, key) => (typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined), (frame as Record<string, unknown>)[head])
    }
  }

  return undefined
}
