/**
 * How buildx reads the strings of a JSON bake file: bake parses JSON definitions with HCL's
 * JSON syntax, where every string is a template.
 */

/**
 * The literal value of a template string, or undefined when it holds a live interpolation
 * ("${") or directive ("%{"); "$${" and "%%{" are escapes for "${" and "%{".
 */
export function hclLiteral(s: string): string | undefined {
  let out = ''
  for (let i = 0; i < s.length;) {
    const three = s.slice(i, i + 3)
    if (three === '$${' || three === '%%{') {
      out += three.slice(1)
      i += 3
    } else if (three.startsWith('${') || three.startsWith('%{')) {
      return undefined
    } else {
      out += s[i]
      i += 1
    }
  }
  return out
}

/** Every string in a JSON value mapped by fn; object keys are kept. */
export function mapStrings(value: unknown, fn: (s: string) => unknown): unknown {
  if (typeof value === 'string') return fn(value)
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, fn))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, fn)]))
  }
  return value
}
