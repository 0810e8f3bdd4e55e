/**
 * buildx argv as pure functions of the plan (tested by value), and the builder choice.
 * One Dockerfile, several builds: each platform alone and loaded for its smoke test, then
 * the wheels export and the pushes, which the first builds have already cached.
 */
import { PIP_CONF_SECRET, WHEEL_CACHE_CONTEXT } from './constants.js'

export interface BuildCommon {
  dockerfile: string
  context: string
  builder?: string
  buildArgs: string[]
  labels: string[]
  cacheFrom: string[]
  cacheTo: string[]
  noCacheFilters: string[]
  provenance: string
  /** File holding the pip.conf with extra-index-url: a secret, never a build argument. */
  pipConfFile?: string
  /** Directory of restored wheels, mounted by the base stage. */
  wheelCacheDir?: string
}

export type BuildOutput =
  { kind: 'load'; tag: string } | { kind: 'push'; tags: string[] } | { kind: 'local'; dest: string }

export interface BuildRequest {
  target: string
  platforms: string[]
  output: BuildOutput
  metadataFile: string
  /** Only the first build of a platform runs uncached stages again. */
  noCache: boolean
}

export function buildArgv(c: BuildCommon, r: BuildRequest): string[] {
  const argv = ['buildx', 'build']
  if (c.builder) argv.push('--builder', c.builder)
  argv.push(
    '--progress=plain',
    '--file',
    c.dockerfile,
    '--target',
    r.target,
    '--platform',
    r.platforms.join(',')
  )
  // Attestations only make sense on what is pushed; elsewhere they only add unknown/unknown entries.
  argv.push(`--provenance=${r.output.kind === 'push' ? c.provenance : 'false'}`)
  for (const a of c.buildArgs) argv.push('--build-arg', a)
  if (r.output.kind !== 'local') for (const l of c.labels) argv.push('--label', l)
  for (const f of c.cacheFrom) argv.push('--cache-from', f)
  if (r.output.kind === 'push') for (const t of c.cacheTo) argv.push('--cache-to', t)
  if (r.noCache) for (const s of c.noCacheFilters) argv.push('--no-cache-filter', s)
  if (c.pipConfFile) argv.push('--secret', `id=${PIP_CONF_SECRET},src=${c.pipConfFile}`)
  if (c.wheelCacheDir) argv.push('--build-context', `${WHEEL_CACHE_CONTEXT}=${c.wheelCacheDir}`)
  argv.push('--metadata-file', r.metadataFile)
  const out = r.output
  if (out.kind === 'load') argv.push('--load', '--tag', out.tag)
  else if (out.kind === 'push') {
    argv.push('--push')
    for (const t of out.tags) argv.push('--tag', t)
  } else argv.push('--output', `type=local,dest=${out.dest}`)
  argv.push(c.context)
  return argv
}

export interface BuilderInfo {
  name: string
  driver: string
  platforms: string[]
}

/** Parses `docker buildx inspect` text output (stable across buildx 0.10–0.2x). */
export function parseBuilderInfo(text: string): BuilderInfo {
  const field = (key: string): string =>
    new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? ''
  return {
    name: field('Name'),
    driver: field('Driver'),
    platforms: field('Platforms')
      .split(',')
      .map((p) => p.trim().replace(/\*$/, ''))
      .filter((p) => p !== '')
  }
}

export type BuilderChoice = { use: 'current'; name: string } | { use: 'create'; reason: string }

/**
 * The current builder is kept when it can build every platform and push a multi-platform
 * index: the docker driver only can with the containerd image store. A builder on this host
 * (docker, docker-container) runs what the host's QEMU handlers run, even when the platform
 * list it read at start-up predates their registration.
 */
export function chooseBuilder(
  info: BuilderInfo,
  platforms: string[],
  containerdStore: boolean,
  hostPlatforms: string[] = []
): BuilderChoice {
  const local = info.driver === 'docker' || info.driver === 'docker-container'
  const missing = platforms.filter(
    (p) => !info.platforms.includes(p) && !(local && hostPlatforms.includes(p))
  )
  if (missing.length > 0) {
    return { use: 'create', reason: `builder "${info.name}" cannot build ${missing.join(', ')}` }
  }
  if (info.driver === 'docker' && platforms.length > 1 && !containerdStore) {
    return {
      use: 'create',
      reason: `builder "${info.name}" uses the docker driver without the containerd image store, which cannot hold a multi-platform image`
    }
  }
  return { use: 'current', name: info.name }
}

export function createBuilderArgv(name: string): string[] {
  return ['buildx', 'create', '--name', name, '--driver', 'docker-container', '--bootstrap']
}
