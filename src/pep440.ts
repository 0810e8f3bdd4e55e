/**
 * PEP 440 versions for release tagging: parse (with PEP 440's normalisation), print the
 * canonical form, order them, and pick the docker tags a release tag gets.
 * Mirrors Python's packaging.version (VERSION_PATTERN, Version.__str__, _cmpkey).
 */

export interface Pep440 {
  epoch: number
  release: number[]
  pre?: ['a' | 'b' | 'rc', number]
  post?: number
  dev?: number
  /** Normalised: lowercase, "." separated, numeric parts without leading zeros. */
  local?: string
}

// packaging's VERSION_PATTERN, same alternation order so backtracking picks the same parse
// (e.g. "1.0a-1" is a1, not a0.post1). Unlike packaging, surrounding whitespace is rejected.
// Without the "u" flag, \d and /i are ASCII-only, so "ı"/"ſ" never stand in for "i"/"s".
const PATTERN = new RegExp(
  '^v?(?:(\\d+)!)?(\\d+(?:\\.\\d+)*)' +
    '(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\\d+)?)?' +
    '(?:-(\\d+)|[-_.]?(post|rev|r)[-_.]?(\\d+)?)?' +
    '(?:[-_.]?(dev)[-_.]?(\\d+)?)?' +
    '(?:\\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$',
  'i'
)

const PRE: Record<string, 'a' | 'b' | 'rc'> = { a: 'a', alpha: 'a', b: 'b', beta: 'b' }

export function parseVersion(text: string): Pep440 | undefined {
  const m = PATTERN.exec(text)
  if (!m) return undefined
  const [, epoch, release, preL, preN, postN1, postL, postN2, devL, devN, local] = m
  // Python ints are unbounded; refuse what a JS number cannot hold exactly.
  const num = (s: string | undefined): number => (s === undefined ? 0 : Number(s))
  const v: Pep440 = { epoch: num(epoch), release: (release ?? '').split('.').map(num) }
  if (preL) v.pre = [PRE[preL.toLowerCase()] ?? 'rc', num(preN)] // c, rc, pre, preview → rc
  if (postN1 !== undefined || postL) v.post = num(postN1 ?? postN2)
  if (devL) v.dev = num(devN)
  if (local) v.local = normalizeLocal(local)
  const numbers = [v.epoch, ...v.release, v.pre?.[1] ?? 0, v.post ?? 0, v.dev ?? 0]
  return numbers.every(Number.isSafeInteger) ? v : undefined
}

/** packaging's _parse_local_version: lowercase, "." joined, "007" → "7" (kept as text: unbounded). */
function normalizeLocal(local: string): string {
  return localParts(local)
    .map((p) => (/^\d+$/.test(p) ? p.replace(/^0+(?=\d)/, '') : p))
    .join('.')
}

const localParts = (local: string): string[] => local.toLowerCase().split(/[-_.]/)

export function normalizeVersion(v: Pep440): string {
  let s = v.epoch ? `${v.epoch}!` : ''
  s += v.release.join('.')
  if (v.pre) s += v.pre.join('')
  if (v.post !== undefined) s += `.post${v.post}`
  if (v.dev !== undefined) s += `.dev${v.dev}`
  if (v.local !== undefined) s += `+${v.local}`
  return s
}

/** Lexicographic, a proper prefix first: Python's tuple ordering. */
function compareArrays<T>(a: T[], b: T[], cmp: (x: T, y: T) => number): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = cmp(a[i] as T, b[i] as T)
    if (c !== 0) return c
  }
  return a.length - b.length
}

const byNumber = (x: number, y: number): number => x - y

/** Numbers of any length (local parts may exceed 2^53): by length, then digit by digit. */
function compareDigits(x: string, y: string): number {
  const [p, q] = [x.replace(/^0+/, ''), y.replace(/^0+/, '')]
  return p.length - q.length || (p < q ? -1 : p > q ? 1 : 0)
}

/** A local part: alphanumeric parts sort before numeric ones. */
function compareLocalPart(x: string, y: string): number {
  const [xn, yn] = [/^\d+$/.test(x), /^\d+$/.test(y)]
  if (xn && yn) return compareDigits(x, y)
  if (xn !== yn) return xn ? 1 : -1
  return x < y ? -1 : x > y ? 1 : 0
}

/** packaging's _cmpkey as number arrays; -1/0/… rank stands in for ±Infinity. */
function cmpKey(v: Pep440): number[][] {
  const release = [...v.release]
  while (release.length && release[release.length - 1] === 0) release.pop() // 1.0 == 1.0.0
  const rank = { a: 0, b: 1, rc: 2 }
  // A bare .devN goes before every pre-release of the same release (1.0.dev0 < 1.0a0).
  let pre = v.pre ? [1, rank[v.pre[0]], v.pre[1]] : [2]
  if (!v.pre && v.post === undefined && v.dev !== undefined) pre = [0]
  const post = v.post === undefined ? [0] : [1, v.post]
  const dev = v.dev === undefined ? [1] : [0, v.dev]
  return [[v.epoch], release, pre, post, dev]
}

export function compareVersions(a: Pep440, b: Pep440): number {
  const c = compareArrays(cmpKey(a), cmpKey(b), (x, y) => compareArrays(x, y, byNumber))
  if (c !== 0 || a.local === b.local) return Math.sign(c)
  if (a.local === undefined || b.local === undefined) return a.local === undefined ? -1 : 1
  return Math.sign(compareArrays(localParts(a.local), localParts(b.local), compareLocalPart))
}

export function isFinalRelease(v: Pep440): boolean {
  return !v.pre && v.post === undefined && v.dev === undefined && v.local === undefined
}

/**
 * The tags a git tag's version gets: final X.Y.Z -> ["X.Y.Z", "X.Y", "X"] (no "X" when X is 0);
 * anything with pre/post/dev/local -> only its own normalized form (local "+" replaced by "-",
 * since "+" is not allowed in docker tags). Epoch != 0 -> only its own tag with "!" replaced by
 * "-". Release with 2 parts "1.2" -> ["1.2", "1"]; 1 part "3" -> ["3"]; 4+ parts -> own + first
 * two + first one.
 */
export function releaseTags(v: Pep440): string[] {
  const own = normalizeVersion(v).replace('!', '-').replace('+', '-')
  if (!isFinalRelease(v) || v.epoch !== 0) return [own]
  const [major] = v.release
  const tags = [own]
  if (v.release.length >= 3) tags.push(v.release.slice(0, 2).join('.'))
  if (v.release.length >= 2 && major !== 0) tags.push(String(major))
  return tags
}
