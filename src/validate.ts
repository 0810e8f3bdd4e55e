/**
 * Validators for every user value that can reach a Dockerfile, an argv or a cache key.
 * Each throws an InputError naming the input, the bad value and what is accepted.
 */
import { parseAnnotation } from './annotations.js'

export class InputError extends Error {
  constructor(input: string, value: string, accepted: string) {
    super(`Input "${input}": ${JSON.stringify(value)} is not valid; expected ${accepted}.`)
    this.name = 'InputError'
  }
}

/** Newline- or comma-separated list, trimmed, empties dropped (docker/* actions' convention). */
export function splitList(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

/** Newline-separated list only: for values that may contain commas (labels, build-args, cache). */
export function splitLines(value: string): string[] {
  return value
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

function check(ok: boolean, input: string, value: string, accepted: string): void {
  if (!ok) throw new InputError(input, value, accepted)
}

/** PEP 508 distribution name. */
const PEP508_NAME = /^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$/
export function packageName(input: string, value: string): string {
  check(
    PEP508_NAME.test(value) && value.length <= 200,
    input,
    value,
    'a PEP 508 package name (letters, digits, ".", "_", "-"; starting and ending with a letter or digit)'
  )
  return value
}

/** PEP 503 normalised form, for comparing package names. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-')
}

const MODULE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/
export function moduleName(input: string, value: string): string {
  check(
    MODULE.test(value) && value.length <= 200,
    input,
    value,
    'a dotted Python module name such as "my_app" or "my_app.cli"'
  )
  return value
}

const PYTHON_VERSION = /^3\.(\d{1,2})$/
export function pythonVersion(input: string, value: string): string {
  check(PYTHON_VERSION.test(value), input, value, 'a Python minor version such as "3.12"')
  return value
}

// Docker reference grammar (distribution/reference), without the digest-only form.
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
const DOMAIN =
  '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?)'
const REPOSITORY = new RegExp(`^(?:${DOMAIN}/)?${COMPONENT}(?:/${COMPONENT})*$`)
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/
const DIGEST = /^sha256:[a-f0-9]{64}$/

/** A repository without tag or digest, e.g. "ghcr.io/org/app". */
export function repository(input: string, value: string): string {
  check(
    REPOSITORY.test(value) && value.length <= 255,
    input,
    value,
    'an image repository such as "ghcr.io/org/app" (lowercase, no tag)'
  )
  return value
}

export function tag(input: string, value: string): string {
  check(
    TAG.test(value),
    input,
    value,
    'a tag of letters, digits, "_", "." and "-" (at most 128, not starting with "." or "-")'
  )
  return value
}

export interface ImageRef {
  repository: string
  tag?: string
  digest?: string
}

/** Split a full reference "repo[:tag][@digest]"; the port of a registry is not a tag. */
export function parseRef(value: string): ImageRef | undefined {
  const [name, digest] = value.split('@', 2) as [string, string | undefined]
  const slash = name.lastIndexOf('/')
  const colon = name.lastIndexOf(':')
  const hasTag = colon > slash
  const repo = hasTag ? name.slice(0, colon) : name
  const t = hasTag ? name.slice(colon + 1) : undefined
  if (!REPOSITORY.test(repo) || repo.length > 255) return undefined
  if (t !== undefined && !TAG.test(t)) return undefined
  if (digest !== undefined && !DIGEST.test(digest)) return undefined
  if (value.split('@').length > 2) return undefined
  return { repository: repo, tag: t, digest }
}

/** The repository of a full reference (its tag and digest dropped). */
export const repositoryOf = (ref: string): string => parseRef(ref)?.repository ?? ref

/** A full image reference such as "python:3.12-slim" or "ghcr.io/org/app:1.2.3-base". */
export function imageRef(input: string, value: string): string {
  check(
    parseRef(value) !== undefined,
    input,
    value,
    'an image reference such as "python:3.12-slim" or "ghcr.io/org/app:1.0-base"'
  )
  return value
}

/** A FROM image: a bare stage name ("base") would make the Dockerfile build on its own stage. */
export function fromImage(input: string, value: string, stages: string[]): string {
  const reserved = [...stages, 'parent', 'parent-native', 'scratch']
  check(
    !reserved.includes(value.toLowerCase()),
    input,
    value,
    `an image reference that is not a stage name of the generated Dockerfile (${reserved.join(', ')})`
  )
  return imageRef(input, value)
}

/** A list that must hold at least one entry once separators are dropped. */
export function nonEmpty<T>(input: string, value: string, list: T[]): T[] {
  check(list.length > 0, input, value, 'at least one entry')
  return list
}

const PLATFORMS = new Set([
  'linux/amd64',
  'linux/arm64',
  'linux/arm/v7',
  'linux/arm/v6',
  'linux/386',
  'linux/ppc64le',
  'linux/s390x',
  'linux/riscv64'
])
export function platform(input: string, value: string): string {
  check(PLATFORMS.has(value), input, value, `one of ${[...PLATFORMS].join(', ')}`)
  return value
}

/** Debian package name (Debian Policy 5.6.7), optionally pinned "name=version". */
const APT_PACKAGE = /^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?$/
export function aptPackage(input: string, value: string): string {
  check(
    APT_PACKAGE.test(value),
    input,
    value,
    'Debian package names such as "libpq-dev" (optionally "name=version")'
  )
  return value
}

/** A pip option or its value: any non-whitespace printable ASCII; it travels as one argv element. */
export function pipArg(input: string, value: string, first: boolean): string {
  check(
    /^[\x21-\x7e]+$/.test(value),
    input,
    value,
    'pip options of printable ASCII, separated by whitespace'
  )
  check(
    !first || value.startsWith('-'),
    input,
    value,
    'pip options starting with "-" such as "--no-index"'
  )
  return value
}

/** A workspace-relative path: it lands in a --mount option, so no commas, quotes or "..". */
const REL_PATH = /^[A-Za-z0-9_][A-Za-z0-9_./-]*$/
export function relativePath(input: string, value: string): string {
  const clean = value.replace(/^\.\//, '').replace(/\/+$/, '')
  check(
    REL_PATH.test(clean) && !clean.split('/').includes('..') && clean.length <= 1024,
    input,
    value,
    'a path inside the workspace made of letters, digits, "_", ".", "-" and "/" (no "..")'
  )
  return clean
}

/** An absolute directory inside the image. */
const ABS_PATH = /^\/[A-Za-z0-9_][A-Za-z0-9_./-]*$/
export function imagePath(input: string, value: string): string {
  const clean = value.replace(/\/+$/, '')
  check(
    ABS_PATH.test(clean) && !clean.split('/').includes('..') && clean !== '/',
    input,
    value,
    'an absolute directory such as "/wheeley" (letters, digits, "_", ".", "-", "/")'
  )
  return clean
}

export function bool(input: string, value: string): boolean {
  const v = value.trim().toLowerCase()
  if (v === 'true') return true
  if (v === 'false') return false
  throw new InputError(input, value, '"true" or "false"')
}

/** http(s) URL without whitespace: it only ever travels inside a secret file. */
export function indexUrl(input: string, value: string): string {
  const protocol = URL.canParse(value) ? new URL(value).protocol : ''
  const ok = (protocol === 'https:' || protocol === 'http:') && /^[\x21-\x7e]+$/.test(value)
  // The URL may carry a token: never echo it back.
  if (!ok) throw new InputError(input, '***', 'an http(s) URL of a package index')
  return value
}

/** KEY=value with a build-argument name; the value travels as one argv element. */
const BUILD_ARG = /^[A-Za-z_][A-Za-z0-9_]*=[^\n\r\0]*$/
/** Set by BuildKit or by the action itself: a user value would be ignored or break reproducibility. */
const RESERVED_ARG = /^(TARGET|BUILD)(PLATFORM|OS|ARCH|VARIANT)$|^SOURCE_DATE_EPOCH$|^BUILDKIT_/
export function buildArg(input: string, value: string): string {
  check(
    BUILD_ARG.test(value),
    input,
    value,
    'lines of KEY=value with KEY made of letters, digits and "_"'
  )
  const name = value.slice(0, value.indexOf('='))
  check(
    !RESERVED_ARG.test(name),
    input,
    value,
    'a build argument of your own: TARGET*/BUILD* platform arguments, SOURCE_DATE_EPOCH and BUILDKIT_* are set by BuildKit or the action'
  )
  return value
}

/** Part of a tag (a prefix or suffix): tag characters only; the whole tag is checked again. */
export function tagPart(input: string, value: string): string {
  check(
    /^[A-Za-z0-9_.-]{0,64}$/.test(value),
    input,
    value,
    'letters, digits, "_", "." and "-" (at most 64)'
  )
  return value
}

/** How a per-architecture tag is named: "{tag}" and "{arch}" around tag characters. */
export function archTagFormat(input: string, value: string): string {
  const rest = value.replace('{tag}', '').replace('{arch}', '')
  check(
    value.includes('{tag}') && /^[A-Za-z0-9_.-]*$/.test(rest) && !/[{}]/.test(rest),
    input,
    value,
    'a format holding "{tag}" and, unless one platform is merged, "{arch}", e.g. "{tag}-{arch}" or "rpi-{tag}"'
  )
  return value
}

/** One of a fixed set of words. */
export function oneOf<T extends string>(input: string, value: string, allowed: readonly T[]): T {
  check(
    (allowed as readonly string[]).includes(value),
    input,
    value,
    allowed.map((a) => `"${a}"`).join(', ')
  )
  return value as T
}

/** key=value label: the key follows OCI's reverse-DNS convention. */
const LABEL = /^[A-Za-z0-9][A-Za-z0-9._/-]*=[^\n\r\0]*$/
export function label(input: string, value: string): string {
  check(
    LABEL.test(value),
    input,
    value,
    'lines of key=value such as "org.opencontainers.image.source=https://…"'
  )
  return value
}

/** An OCI annotation line, as buildx and docker/metadata-action's `annotations` output write it. */
export function annotation(input: string, value: string): string {
  const a = parseAnnotation(value)
  check(
    a !== undefined && !(a.platforms && a.level.startsWith('index')),
    input,
    value,
    'lines of [level:]key=value, level one of manifest, index, manifest-descriptor, index-descriptor (a manifest level may name platforms, e.g. "manifest[linux/amd64]:key=value")'
  )
  return value
}

/** A buildx cache spec ("type=gha,mode=max" or a bare ref), passed as one argv element. */
const CACHE_SPEC = /^[\x21-\x7e]+$/
export function cacheSpec(input: string, value: string): string {
  check(
    CACHE_SPEC.test(value),
    input,
    value,
    'buildx cache specs such as "type=gha,mode=max", one per line'
  )
  return value
}

/** A stage of the generated Dockerfile, for --no-cache-filter. */
export function stageName(input: string, value: string, stages: string[]): string {
  check(
    stages.includes(value),
    input,
    value,
    `stage names of the generated Dockerfile: ${stages.join(', ')}`
  )
  return value
}

/** The smoke test runs in the built image via `sh -c`; only control characters are refused. */
export function smokeTest(input: string, value: string): string {
  check(
    !/[\0\r]/.test(value) && value.length <= 4096,
    input,
    value,
    'a shell command run in the slim image'
  )
  return value
}

/** Cache key prefix: it appears in keys, so keep it to key-safe characters. */
export function cacheKey(input: string, value: string): string {
  check(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(value),
    input,
    value,
    'a key prefix of letters, digits, ".", "_", "-" (at most 64)'
  )
  return value
}
