/**
 * The one buildx call of a run, as pure data (tested by value): a bake definition whose targets
 * (slim runtime, wheel-carrying base, wheel set) share every stage, so each runs once per
 * platform. And the builder choice, which decides how the images leave the builder.
 */
import { forPlatforms } from './annotations.js'
import { PIP_CONF_SECRET, TOOLS_CONTEXT, WHEEL_CACHE_CONTEXT } from './constants.js'
import { STAGES } from './dockerfile.js'
import { platformSlug } from './wheel-cache-keys.js'

export interface BuildCommon {
  dockerfile: string
  context: string
  /** Directory holding the stage script. */
  toolsDir: string
  /** User build arguments (KEY=value) plus SOURCE_DATE_EPOCH. */
  args: Record<string, string>
  labels: string[]
  baseLabels: string[]
  /** buildx annotation lines for both images; a single-platform target drops the index ones. */
  annotations: string[]
  cacheFrom: string[]
  cacheTo: string[]
  noCacheFilters: string[]
  provenance: string
  network: 'default' | 'host' | 'none'
  /** File holding the pip.conf with extra-index-url: a secret, never a build argument. */
  pipConfFile?: string
  /** Directory of restored wheels, mounted by the pip stages. */
  wheelCacheDir?: string
}

/**
 * How images leave the builder. `load`: into the engine's image store, multi-platform (the docker
 * driver with the containerd store), smoke-tested there and pushed from there, so the pushed
 * index is the tested one byte for byte; the base image only when it is to be pushed. `digest`:
 * pushed by digest with no tag (drivers that can, e.g. docker-container), smoke-tested by pulling
 * that digest, then tagged. `load-each`: nothing to push, so each platform is loaded on its own
 * (any engine can hold a single-platform image) and smoke-tested there.
 */
export type Delivery =
  | { kind: 'load'; runtimeTag: string; baseTag?: string }
  | { kind: 'digest'; runtimeRepository: string; baseRepository: string }
  | { kind: 'load-each'; runtimeTags: Record<string, string> }

/**
 * Into the engine, with OCI media types: a single-platform image would otherwise get Docker ones,
 * which carry no annotations (and a merge of such images makes a Docker manifest list, which
 * carries none either).
 */
export const LOAD_OUTPUT = 'type=docker,oci-mediatypes=true'

export interface BakeTarget {
  context: string
  dockerfile: string
  target: string
  platforms: string[]
  contexts: Record<string, string>
  args: Record<string, string>
  labels?: Record<string, string>
  annotations?: string[]
  tags?: string[]
  output: string[]
  secret?: string[]
  network?: string
  'cache-from'?: string[]
  'cache-to'?: string[]
  'no-cache-filter'?: string[]
  attest?: string[]
}

export interface BakeDefinition {
  group: { default: { targets: string[] } }
  target: Record<string, BakeTarget>
}

function labelMap(lines: string[]): Record<string, string> {
  return Object.fromEntries(
    lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])
  )
}

/** Targets "runtime" and "base" always; "wheels" when its files are wanted on the host. */
export function bakeDefinition(
  c: BuildCommon,
  platforms: string[],
  delivery: Delivery,
  wheelsDest?: string
): BakeDefinition {
  const contexts: Record<string, string> = { [TOOLS_CONTEXT]: c.toolsDir }
  if (c.wheelCacheDir) contexts[WHEEL_CACHE_CONTEXT] = c.wheelCacheDir
  const common = (target: string): BakeTarget => ({
    context: c.context,
    dockerfile: c.dockerfile,
    target,
    platforms,
    contexts,
    args: c.args,
    output: [],
    ...(c.pipConfFile ? { secret: [`id=${PIP_CONF_SECRET},src=${c.pipConfFile}`] } : {}),
    ...(c.network !== 'default' ? { network: c.network } : {}),
    ...(c.cacheFrom.length > 0 ? { 'cache-from': c.cacheFrom } : {}),
    ...(c.noCacheFilters.length > 0 ? { 'no-cache-filter': c.noCacheFilters } : {})
  })
  const provenance =
    delivery.kind === 'digest' && c.provenance !== 'false'
      ? `type=provenance,${c.provenance === 'true' ? 'mode=min' : c.provenance}`
      : 'type=provenance,disabled=true'
  const image = (target: string, labels: string[], output: Partial<BakeTarget>): BakeTarget => ({
    ...common(target),
    labels: labelMap(labels),
    attest: [provenance],
    ...(c.cacheTo.length > 0 && target === STAGES.runtime ? { 'cache-to': c.cacheTo } : {}),
    ...output
  })
  const annotated = (t: BakeTarget): BakeTarget => {
    const annotations = forPlatforms(c.annotations, t.platforms.length)
    return annotations.length > 0 ? { ...t, annotations } : t
  }
  const byDigest = (repository: string): Partial<BakeTarget> => ({
    output: [
      `type=image,name=${repository},push-by-digest=true,name-canonical=true,push=true,oci-mediatypes=true`
    ]
  })
  const targets: Record<string, BakeTarget> = {}
  if (delivery.kind === 'load') {
    targets['runtime'] = image(STAGES.runtime, c.labels, {
      tags: [delivery.runtimeTag],
      output: [LOAD_OUTPUT]
    })
    if (delivery.baseTag) {
      targets['base'] = image(STAGES.base, c.baseLabels, {
        tags: [delivery.baseTag],
        output: [LOAD_OUTPUT]
      })
    }
  } else if (delivery.kind === 'digest') {
    targets['runtime'] = image(STAGES.runtime, c.labels, byDigest(delivery.runtimeRepository))
    targets['base'] = image(STAGES.base, c.baseLabels, byDigest(delivery.baseRepository))
  } else {
    for (const [platform, tag] of Object.entries(delivery.runtimeTags)) {
      // No cache-to: one target per platform would each overwrite the same cache.
      const t = image(STAGES.runtime, c.labels, { tags: [tag], output: [LOAD_OUTPUT] })
      delete t['cache-to']
      targets[`runtime-${platformSlug(platform)}`] = { ...t, platforms: [platform] }
    }
  }
  for (const name of Object.keys(targets)) targets[name] = annotated(targets[name] as BakeTarget)
  if (wheelsDest)
    targets['wheels'] = { ...common(STAGES.wheels), output: [`type=local,dest=${wheelsDest}`] }
  return { group: { default: { targets: Object.keys(targets) } }, target: targets }
}

/**
 * The bake file as buildx reads it: its JSON strings are HCL templates, so a user's "${" or "%{"
 * (in a build argument, a label, a cache spec) is escaped to stay literal.
 */
export function bakeFile(definition: BakeDefinition): string {
  return JSON.stringify(
    definition,
    (_key, value: unknown) =>
      typeof value === 'string'
        ? value.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{')
        : value,
    2
  )
}

/** `docker buildx bake` for a definition file; the metadata file is keyed by target name. */
export function bakeArgv(file: string, metadataFile: string, builder?: string): string[] {
  const argv = ['buildx', 'bake']
  if (builder) argv.push('--builder', builder)
  argv.push('--progress=plain', '--file', file, '--metadata-file', metadataFile)
  return argv
}

/**
 * One target as a `docker buildx build` call: for builds that set a network, which bake only
 * takes from buildx 0.17 on. Run one after another, the later calls take every shared step
 * from the layer cache.
 */
export function buildArgv(t: BakeTarget, metadataFile: string, builder?: string): string[] {
  const argv = ['buildx', 'build']
  if (builder) argv.push('--builder', builder)
  argv.push('--progress=plain', '--file', t.dockerfile, '--target', t.target)
  argv.push('--platform', t.platforms.join(','))
  const each = (flag: string, values: string[] = []): void => {
    for (const v of values) argv.push(flag, v)
  }
  each(
    '--build-context',
    Object.entries(t.contexts).map(([k, v]) => `${k}=${v}`)
  )
  each(
    '--build-arg',
    Object.entries(t.args).map(([k, v]) => `${k}=${v}`)
  )
  each(
    '--label',
    Object.entries(t.labels ?? {}).map(([k, v]) => `${k}=${v}`)
  )
  each('--annotation', t.annotations)
  each('--tag', t.tags)
  each('--output', t.output)
  each('--secret', t.secret)
  if (t.network) argv.push('--network', t.network)
  each('--cache-from', t['cache-from'])
  each('--cache-to', t['cache-to'])
  each('--no-cache-filter', t['no-cache-filter'])
  each('--attest', t.attest)
  argv.push('--metadata-file', metadataFile, t.context)
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

export type BuilderChoice =
  { use: 'current'; name: string; delivery: Delivery['kind'] } | { use: 'create'; reason: string }

/**
 * The current builder is kept when it can build every platform and deliver the images: the
 * docker driver by loading them (only the containerd image store holds a multi-platform image),
 * other drivers by pushing by digest. A builder on this host (docker, docker-container) runs what
 * the host's QEMU handlers run, even when the platform list it read at start-up predates them.
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
  if (info.driver === 'docker') {
    if (platforms.length > 1 && !containerdStore) {
      return {
        use: 'create',
        reason: `builder "${info.name}" uses the docker driver without the containerd image store, which cannot hold a multi-platform image`
      }
    }
    return { use: 'current', name: info.name, delivery: 'load' }
  }
  return { use: 'current', name: info.name, delivery: 'digest' }
}

export function createBuilderArgv(name: string, network: BuildCommon['network']): string[] {
  const argv = ['buildx', 'create', '--name', name, '--driver', 'docker-container']
  // BuildKit refuses --network host unless its daemon allows the entitlement.
  if (network === 'host')
    argv.push('--buildkitd-flags', '--allow-insecure-entitlement network.host')
  return [...argv, '--bootstrap']
}
