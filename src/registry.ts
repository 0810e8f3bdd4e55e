/**
 * The registry side: what a reference points to, pushing the tested local image, pointing tags
 * at a verified digest, and compressed sizes. Registry reads go through `buildx imagetools`, so
 * they use the same credentials (docker/login-action) as the pushes. A transient failure (5xx,
 * a reset connection, a timeout) is tried again a few times; a login refused or a registry that
 * cannot be reached at all is said plainly.
 */
import * as core from '@actions/core'
import { docker, DockerError, DockerResult } from './docker.js'
import { lastLines } from './output.js'
import { repositoryOf } from './validate.js'

export { repositoryOf }

/** The registry host of a reference ("docker.io" when it names none). */
export function registryOf(ref: string): string {
  const first = ref.split('/')[0] ?? ''
  return ref.includes('/') && /[.:]|^localhost$/.test(first) ? first : 'docker.io'
}

const AUTH =
  /no basic auth credentials|unauthorized|authentication required|401 Unauthorized|denied/i
const UNREACHABLE = /connection refused|no such host|server misbehaving|network is unreachable/i
// A connection the registry drops shows as any of "connection reset", "broken pipe", "EOF" or
// "use of closed network connection", depending on whether Go was reading or writing.
const TRANSIENT =
  /\b5\d\d (Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout)|status(?: code)?:? 5\d\d\b|connection reset|broken pipe|use of closed network connection|: EOF\b|i\/o timeout|TLS handshake timeout|context deadline exceeded/i

/** Retries after these many milliseconds; overridable for tests. */
const BACKOFF = (process.env['WHEEL_SLIM_REGISTRY_BACKOFF_MS'] ?? '1000,2000,4000')
  .split(',')
  .map(Number)

const tail = (r: DockerResult): string => lastLines(r.stderr || r.stdout, 3, ' ')

/**
 * Runs a registry operation: returns a failure the caller handles (not found), tries a transient
 * one again after a pause, and throws a clear error for a refused login or an unreachable host.
 */
async function attempt(args: string[], ref: string, what: string): Promise<DockerResult> {
  const registry = registryOf(ref)
  for (let i = 0; ; i++) {
    const r = await docker(args, { silent: args[0] !== 'push', allowFailure: true })
    if (r.exitCode === 0) return r
    // Without the reference itself: a tag "1.503.0" is no 503, a repository "geofence" no EOF.
    const text = (r.stderr + r.stdout).split(ref).join(' ').split(repositoryOf(ref)).join(' ')
    if (AUTH.test(text)) {
      throw new Error(
        `Registry ${registry}: authentication failed when trying to ${what} ${ref} (${tail(r)}). Log in before this step, e.g. with docker/login-action (registry: ${registry}).`
      )
    }
    const pause = BACKOFF[i]
    if (!TRANSIENT.test(text) || pause === undefined) {
      if (UNREACHABLE.test(text)) {
        throw new Error(`Registry ${registry} cannot be reached (to ${what} ${ref}): ${tail(r)}`)
      }
      return r
    }
    core.info(
      `Registry ${registry}: ${what} ${ref} failed (${tail(r)}); retrying in ${pause / 1000} s`
    )
    await new Promise((resolve) => setTimeout(resolve, pause))
  }
}

type Platform = { os: string; architecture: string; variant?: string }

interface RawManifest {
  mediaType?: string
  layers?: { size: number }[]
  manifests?: {
    digest: string
    platform?: Platform
  }[]
}

const platformName = (p: Platform): string =>
  [p.os, p.architecture, p.variant].filter(Boolean).join('/')

const NOT_FOUND = /not found|manifest unknown|name unknown|404/i

/** The digest a reference points to now, or undefined when it does not exist yet. */
export async function remoteDigest(ref: string): Promise<string | undefined> {
  const r = await attempt(
    ['buildx', 'imagetools', 'inspect', ref, '--format', '{{json .Manifest}}'],
    ref,
    'read'
  )
  if (r.exitCode === 0) return (JSON.parse(r.stdout) as { digest?: string }).digest
  if (NOT_FOUND.test(r.stderr)) return undefined
  throw new Error(`Registry: could not read ${ref}: ${lastLines(r.stderr, 3, ' ')}`)
}

async function raw(ref: string): Promise<RawManifest> {
  const r = await attempt(['buildx', 'imagetools', 'inspect', ref, '--raw'], ref, 'read')
  if (r.exitCode !== 0) throw new Error(`Registry: could not read ${ref}: ${tail(r)}`)
  return JSON.parse(r.stdout) as RawManifest
}

/** Platform → manifest digest of an index in the registry ('' → the digest of a lone manifest). */
export async function platformManifests(ref: string): Promise<Map<string, string>> {
  const top = await raw(ref)
  const found = new Map<string, string>()
  for (const m of top.manifests ?? []) {
    if (m.platform && m.platform.os !== 'unknown') found.set(platformName(m.platform), m.digest)
  }
  return found
}

/** The digest of a local image: with the containerd store, the digest of its index. */
export async function localDigest(image: string): Promise<string> {
  const r = await docker(['image', 'inspect', '--format', '{{.Id}}', image], { silent: true })
  return r.stdout.trim()
}

/**
 * Tags the local image as `ref` and pushes it: the registry gets the tested bytes. Returns false
 * when the engine lacks some of the image's content: with the containerd store, a rebuild of an
 * image removed moments ago can reuse blobs the store's garbage collector is deleting.
 */
export async function pushLocal(local: string, ref: string): Promise<boolean> {
  await docker(['tag', local, ref], { silent: true })
  const r = await attempt(['push', ref], ref, 'push')
  if (r.exitCode === 0) return true
  if (/missing content/.test(r.stderr)) return false
  throw new DockerError(['push', ref], r)
}

/** Throws unless `ref` holds exactly `digest`, naming what it holds instead. */
export async function verify(ref: string, digest: string, what: string): Promise<void> {
  const now = await remoteDigest(ref)
  if (now === digest) return
  let holds = 'nothing'
  if (now) {
    const platforms = await platformManifests(ref)
    holds =
      platforms.size > 0
        ? `${now} with ${[...platforms].map(([p, d]) => `${p} ${d}`).join(', ')}`
        : `${now}, a single-platform manifest`
  }
  throw new Error(`Registry: ${ref} holds ${holds}, not the ${what} ${digest}`)
}

/**
 * Points every ref at `digest` (already in the registry under `source`'s repository): a registry
 * operation, no build. `before` holds where each ref pointed when the push began (no read again:
 * a ref already there is left alone, any other is written). Each is read back; the first that
 * does not hold the digest fails the step.
 */
export async function pointTags(
  refs: string[],
  source: string,
  digest: string,
  before: Map<string, string | undefined>
): Promise<void> {
  const move = refs.filter((ref) => before.get(ref) !== digest)
  if (move.length > 0) {
    const tags = move.flatMap((ref) => ['--tag', ref])
    const args = ['buildx', 'imagetools', 'create', ...tags, `${repositoryOf(source)}@${digest}`]
    const r = await attempt(args, move[0] as string, 'tag')
    if (r.exitCode !== 0) throw new DockerError(args, r)
  }
  await Promise.all(refs.map((ref) => verify(ref, digest, 'index just verified')))
}

/** Compressed layer bytes per platform of a pushed index: what a pull downloads. */
export async function pushedSizes(ref: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>()
  const sum = (m: RawManifest): number => (m.layers ?? []).reduce((n, l) => n + l.size, 0)
  const top = await raw(ref)
  const images = (top.manifests ?? []).filter((m) => m.platform && m.platform.os !== 'unknown')
  const manifests = await Promise.all(images.map((m) => raw(`${repositoryOf(ref)}@${m.digest}`)))
  images.forEach((m, i) => sizes.set(platformName(m.platform as Platform), sum(manifests[i] ?? {})))
  if (!top.manifests) sizes.set('', sum(top))
  return sizes
}

/** The platforms of an image: an index's entries, or a lone manifest's own platform. */
export async function imagePlatforms(ref: string): Promise<string[]> {
  const listed = [...(await platformManifests(ref)).keys()]
  if (listed.length > 0) return listed
  const r = await attempt(
    ['buildx', 'imagetools', 'inspect', ref, '--format', '{{json .Image}}'],
    ref,
    'read'
  )
  if (r.exitCode !== 0) throw new Error(`Registry: could not read ${ref}: ${tail(r)}`)
  const config = JSON.parse(r.stdout) as { os?: string; architecture?: string; variant?: string }
  return config.os && config.architecture
    ? [platformName({ os: config.os, architecture: config.architecture, variant: config.variant })]
    : []
}

/** The labels of an image (of its first platform, for an index): what a parent recorded. */
export async function imageLabels(ref: string): Promise<Record<string, string>> {
  const r = await attempt(
    ['buildx', 'imagetools', 'inspect', ref, '--format', '{{json .Image}}'],
    ref,
    'read'
  )
  if (r.exitCode !== 0) {
    throw new Error(`${ref} could not be read: ${lastLines(r.stderr, 2, ' ')}`)
  }
  interface Config {
    config?: { Labels?: Record<string, string> | null }
  }
  const parsed = JSON.parse(r.stdout) as Config | Record<string, Config>
  const first = 'config' in parsed ? (parsed as Config) : Object.values(parsed)[0]
  return first?.config?.Labels ?? {}
}

/**
 * One index of `sources` (repo@digest each) under every ref, carrying `annotations` (index
 * level): the merge of per-platform images.
 */
export async function createIndex(
  refs: string[],
  sources: string[],
  annotations: string[] = []
): Promise<void> {
  const args = ['buildx', 'imagetools', 'create', ...refs.flatMap((r) => ['--tag', r])]
  for (const a of annotations) args.push('--annotation', a)
  args.push(...sources)
  const r = await attempt(args, refs[0] as string, 'tag')
  if (r.exitCode !== 0) throw new DockerError(args, r)
}
