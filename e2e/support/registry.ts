// Reads the real local registry (Registry API v2 over plain HTTP): what was actually pushed.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'

/** The e2e registry; only references to it are accepted. */
export const REGISTRY = 'localhost:5000'
const API = `http://${REGISTRY}/v2`

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json'
} as const
const ACCEPT = Object.values(MEDIA_TYPES).join(', ')

export interface Platform {
  os: string
  architecture: string
  variant?: string
}

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  platform?: Platform
  annotations?: Record<string, string>
}

/** An index / manifest list (`manifests`) or an image manifest (`config` + `layers`). */
export interface Manifest {
  schemaVersion: number
  mediaType?: string
  manifests?: Descriptor[]
  config?: Descriptor
  layers?: Descriptor[]
  annotations?: Record<string, string>
}

export interface ManifestResult {
  repo: string
  reference: string
  /** From `Docker-Content-Digest` (falls back to the sha256 of the body). */
  digest: string
  mediaType: string
  manifest: Manifest
}

/** `localhost:5000/name:tag`, `name:tag`, `name@sha256:...` → repository + tag or digest. */
export function parseRef(ref: string): { repo: string; reference: string } {
  let rest = ref.startsWith(`${REGISTRY}/`) ? ref.slice(REGISTRY.length + 1) : ref
  const first = rest.split('/')[0] ?? ''
  if (rest.includes('/') && /[.:]/.test(first)) {
    throw new Error(`Image reference ${ref} is not on the e2e registry ${REGISTRY}`)
  }
  const at = rest.indexOf('@')
  if (at >= 0) return { repo: rest.slice(0, at), reference: rest.slice(at + 1) }
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    const reference = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    return { repo: rest, reference }
  }
  return { repo: rest, reference: 'latest' }
}

/** `os/arch[/variant]`, the form buildx `--platform` takes. */
export function platformString(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/')
}

/** Tags of a repository; [] when the repository does not exist (nothing was pushed). */
export async function listTags(repo: string): Promise<string[]> {
  const res = await fetch(`${API}/${repo}/tags/list`)
  if (res.status === 404) return []
  await ensureOk(res, `list tags of ${repo}`)
  const body = (await res.json()) as { tags?: string[] | null }
  return (body.tags ?? []).sort()
}

export async function getManifest(ref: string): Promise<ManifestResult> {
  const { repo, reference } = parseRef(ref)
  const res = await fetch(`${API}/${repo}/manifests/${reference}`, {
    headers: { Accept: ACCEPT }
  })
  await ensureOk(res, `get manifest ${ref}`)
  const body = Buffer.from(await res.arrayBuffer())
  const manifest = JSON.parse(body.toString('utf8')) as Manifest
  const mediaType = manifest.mediaType ?? res.headers.get('content-type') ?? ''
  const digest = res.headers.get('docker-content-digest') ?? sha256(body)
  return { repo, reference, digest, mediaType, manifest }
}

export function isIndex(m: ManifestResult): boolean {
  return m.mediaType === MEDIA_TYPES.ociIndex || m.mediaType === MEDIA_TYPES.dockerList
}

/**
 * Platforms of an image as `os/arch[/variant]`, in index order. Attestation manifests show up as
 * `unknown/unknown`, kept so a test can assert they are (or are not) there.
 */
export async function platformsOf(ref: string): Promise<string[]> {
  const m = await getManifest(ref)
  if (isIndex(m)) {
    return (m.manifest.manifests ?? []).map((d) =>
      d.platform ? platformString(d.platform) : 'unknown/unknown'
    )
  }
  return [platformString(await configPlatform(m))]
}

/** Layer descriptors of one platform's image (`platform` as `os/arch[/variant]`). */
export async function layerBlobs(ref: string, platform: string): Promise<Descriptor[]> {
  let m = await getManifest(ref)
  if (isIndex(m)) {
    const entries = m.manifest.manifests ?? []
    const entry = entries.find((d) => d.platform && platformString(d.platform) === platform)
    if (!entry) {
      const have = entries.map((d) => (d.platform ? platformString(d.platform) : '?')).join(', ')
      throw new Error(`${ref} has no ${platform} image (it has: ${have})`)
    }
    m = await getManifest(`${m.repo}@${entry.digest}`)
  } else {
    const own = platformString(await configPlatform(m))
    if (own !== platform) throw new Error(`${ref} is a single ${own} image, not ${platform}`)
  }
  return m.manifest.layers ?? []
}

/** A blob's bytes, checked against its digest. */
export async function fetchBlob(repo: string, digest: string): Promise<Buffer> {
  const res = await fetch(`${API}/${repo}/blobs/${digest}`)
  await ensureOk(res, `fetch blob ${repo}@${digest}`)
  const body = Buffer.from(await res.arrayBuffer())
  if (digest.startsWith('sha256:') && sha256(body) !== digest) {
    throw new Error(`Blob ${repo}@${digest} does not match its digest (got ${sha256(body)})`)
  }
  return body
}

/** The labels in the config of the image manifest `digest` of `repo`. */
export async function configLabels(repo: string, digest: string): Promise<Record<string, string>> {
  const m = await getManifest(`${repo}@${digest}`)
  if (!m.manifest.config) throw new Error(`${repo}@${digest} is not an image manifest`)
  const config = JSON.parse((await fetchBlob(repo, m.manifest.config.digest)).toString('utf8')) as {
    config?: { Labels?: Record<string, string> | null }
  }
  return config.config?.Labels ?? {}
}

/**
 * Paths inside a layer tarball, as tar lists them minus a leading `./` (directories end in `/`,
 * deletions appear as `.wh.` whiteout files). Decompression follows the media type.
 */
export async function layerFiles(repo: string, layer: Descriptor): Promise<string[]> {
  const blob = await fetchBlob(repo, layer.digest)
  const mt = layer.mediaType
  const flag = /gzip$/.test(mt) ? ['-z'] : /zstd$/.test(mt) ? ['--zstd'] : []
  if (!flag.length && !/tar$/.test(mt)) throw new Error(`Not a layer tarball: ${mt}`)
  const listing = await pipeThrough('tar', [...flag, '-tf', '-'], blob)
  return listing
    .split('\n')
    .map((p) => p.replace(/^\.\//, ''))
    .filter((p) => p !== '' && p !== '.')
}

async function configPlatform(m: ManifestResult): Promise<Platform> {
  if (!m.manifest.config) throw new Error(`${m.repo}:${m.reference} has no config blob`)
  const config = JSON.parse((await fetchBlob(m.repo, m.manifest.config.digest)).toString('utf8'))
  return config as Platform
}

async function ensureOk(res: Response, what: string): Promise<void> {
  if (res.ok) return
  const text = await res.text().catch(() => '')
  throw new Error(`Registry ${REGISTRY}: could not ${what}: HTTP ${res.status} ${text.trim()}`)
}

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`
}

function pipeThrough(cmd: string, args: string[], input: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'))
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${Buffer.concat(err)}`))
    })
    // tar may stop reading early on a bad archive; the exit code reports that, not EPIPE.
    child.stdin.on('error', () => undefined)
    child.stdin.end(input)
  })
}
