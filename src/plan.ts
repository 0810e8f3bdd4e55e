/**
 * The build plan: everything the action decides, as pure data. Given the inputs, the workflow
 * context and what the workspace holds, it fixes the Dockerfile, the tags, whether to push and
 * to save the cache, and the build's common settings. Executing it is execute.ts's job; the
 * plan is never changed while it runs.
 */
import { join } from 'node:path'
import { buildAnnotations } from './annotations.js'
import { BuildCommon } from './buildx.js'
import { DockerfileSpec, renderDockerfile } from './dockerfile.js'
import { Inputs } from './inputs.js'
import { resolvePackage, ResolvedPackage } from './package-meta.js'
import { archRef, computeTags, runRefs } from './tags.js'
import { InputError, moduleName } from './validate.js'
import { Fingerprint } from './wheel-cache-keys.js'
import { PackageInfo } from './package-info.js'
import { decideCacheSave, decidePush, PushDecision, WorkflowContext } from './workflow.js'

export interface PlanPaths {
  workspace: string
  /** A directory of this run's own: Dockerfile, bake file, secrets, wheel cache, exports. */
  tempDir: string
}

/** What the workspace says beyond file names, read by the caller. */
export interface WorkspaceFacts {
  distFiles: string[]
  /** The requirements file pins hashes (`--hash=`). */
  requirementHashes: boolean
  /** SOURCE_DATE_EPOCH: the commit's time, so a rebuild of the same commit is the same image. */
  sourceDateEpoch: string
  /** From the package's own metadata, for the OCI labels. */
  packageInfo: PackageInfo
}

export interface PlanFiles {
  dockerfile: string
  tools: string
  bake: string
  metadata: string
  /** Where the "wheels" target exports each platform's wheel set. */
  wheelsOut: string
  pipConf?: string
  wheelCache?: string
}

export interface BuildPlan {
  package: ResolvedPackage
  spec: DockerfileSpec
  dockerfile: string
  files: PlanFiles
  platforms: string[]
  push: PushDecision
  cacheSave: { save: boolean; reason: string }
  slimTags: string[]
  baseTags: string[]
  /**
   * The run-specific references written before anything is verified (the docker driver cannot
   * push by digest): tag `sha-<7>` when the run has a commit, else `wheel-slim-<run key>`, in
   * every repository the tags name; the base image's with base-suffix.
   */
  runRefs: { slim: string[]; base: string[] }
  /** Repositories the images go to, in the order of the tags. */
  repositories: string[]
  /** References that follow the newest release (latest, X, X.Y): moved only to a higher version. */
  floating: string[]
  /** The package's version: what the images' version label says. */
  version: string
  pythonVersion: string
  smokeTest: string
  common: BuildCommon
  /** Local names of the built images while they are tested (load delivery). */
  local: { runtime: string; base: string }
  /** Wheel cache key material; undefined when the cache is off. */
  cache?: { prefix: string; fingerprint: Fingerprint }
  /** The module the default smoke test imports, for a clear error when it cannot. */
  defaultSmokeTest: boolean
}

export function makePlan(
  inputs: Inputs,
  ctx: WorkflowContext,
  facts: WorkspaceFacts,
  paths: PlanPaths,
  runKey: string
): BuildPlan {
  const pkg = resolvePackage(facts.distFiles, inputs.dist, inputs.package, inputs.module)
  moduleName('module', pkg.module)
  const wheelCache = inputs.cache && !inputs.dockerfileOnly
  const spec: DockerfileSpec = {
    buildFrom: inputs.parent || inputs.builderImage,
    fromParent: inputs.parent !== '',
    runtimeFrom: inputs.runtimeImage,
    wheelDir: inputs.wheelDir,
    distPath: inputs.dist,
    packageName: pkg.name,
    ownFiles: pkg.files,
    requirementsPath: inputs.requirements || undefined,
    hashes: facts.requirementHashes,
    module: pkg.module,
    buildPackages: inputs.buildPackages,
    runtimePackages: inputs.runtimePackages,
    autoRuntimePackages: inputs.autoRuntimePackages,
    pipArgs: inputs.pipArgs,
    extraIndex: inputs.extraIndexUrl !== '',
    wheelCache,
    buildArgNames: inputs.buildArgs.map((a) => a.slice(0, a.indexOf('='))),
    // A Dockerfile for another pipeline may be built for other platforms than these.
    ...(inputs.dockerfileOnly ? {} : { platforms: inputs.platforms })
  }
  const push = decidePush(inputs.push, ctx)
  const noTarget = inputs.images.length === 0 && inputs.tags.length === 0
  if (noTarget && !inputs.dockerfileOnly) {
    throw new InputError(
      'image',
      '',
      'the repository to push to, e.g. "ghcr.io/org/app" (required unless dockerfile-only)'
    )
  }
  const sha = /^[0-9a-f]{7,40}$/.test(ctx.sha) ? ctx.sha.slice(0, 7) : undefined
  const computed = computeTags(ctx, inputs.baseSuffix, pkg.version)
  const empty = { slim: [], base: [] }
  const refs = noTarget
    ? { ...empty, floating: [], repositories: [], run: empty }
    : runRefs(inputs, computed, sha ? `sha-${sha}` : `wheel-slim-${runKey}`)
  // A matrix job pushes its platform under per-architecture tags only.
  const arch = (list: string[]): string[] =>
    inputs.archTags
      ? list.map((r) => archRef(r, inputs.platforms[0] as string, inputs.archTagFormat))
      : list
  const tags = { slim: arch(refs.slim), base: arch(refs.base) }
  if (push.push && !inputs.dockerfileOnly && tags.slim.length === 0) {
    throw new InputError(
      'tags',
      inputs.tags.join(','),
      `at least one tag: none could be computed from ${ctx.ref || 'this ref'}`
    )
  }
  const file = (name: string): string => join(paths.tempDir, name)
  const files: PlanFiles = {
    dockerfile: file('Dockerfile'),
    tools: file('tools'),
    bake: file('bake.json'),
    metadata: file('metadata.json'),
    wheelsOut: file('wheels-out'),
    ...(spec.extraIndex ? { pipConf: file('pip.conf') } : {}),
    ...(wheelCache ? { wheelCache: file('wheel-cache') } : {})
  }
  const label = (key: string, value: string): string => `io.wheel-slim.${key}=${value}`
  // What docker/metadata-action would set, from the commit and the package; the user's own
  // labels come after, so theirs win.
  const oci = (key: string, value: string | undefined): string[] =>
    value ? [`org.opencontainers.image.${key}=${value}`] : []
  const ociLabels = [
    ...oci('title', pkg.name),
    ...oci('description', facts.packageInfo.summary),
    ...oci('licenses', facts.packageInfo.license),
    ...oci('version', pkg.version),
    ...oci('source', ctx.repository ? `${ctx.serverUrl}/${ctx.repository}` : undefined),
    ...oci('revision', /^[0-9a-f]{40}$/.test(ctx.sha) ? ctx.sha : undefined),
    ...oci('created', new Date(Number(facts.sourceDateEpoch) * 1000).toISOString())
  ]
  const labels = [...ociLabels, ...inputs.labels]
  const common: BuildCommon = {
    dockerfile: files.dockerfile,
    context: paths.workspace,
    toolsDir: files.tools,
    args: {
      ...Object.fromEntries(
        inputs.buildArgs.map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)])
      ),
      SOURCE_DATE_EPOCH: facts.sourceDateEpoch
    },
    labels,
    annotations: buildAnnotations(labels, inputs.annotations),
    // What a child inherits from this base image, recorded on it.
    baseLabels: [
      ...labels,
      label('wheel-dir', inputs.wheelDir),
      label('python-version', inputs.pythonVersion),
      label('builder', inputs.builderImage),
      label('build-packages', inputs.buildPackages.join(' ')),
      label('runtime-packages', inputs.runtimePackages.join(' '))
    ],
    cacheFrom: inputs.cacheFrom,
    cacheTo: inputs.cacheTo,
    noCacheFilters: inputs.noCacheFilters,
    provenance: inputs.provenance,
    network: inputs.network,
    pipConfFile: files.pipConf,
    wheelCacheDir: files.wheelCache
  }
  return {
    package: pkg,
    spec,
    dockerfile: renderDockerfile(spec),
    files,
    platforms: inputs.platforms,
    push,
    cacheSave: decideCacheSave(ctx),
    slimTags: tags.slim,
    baseTags: tags.base,
    runRefs: { slim: arch(refs.run.slim), base: arch(refs.run.base) },
    floating: arch(refs.floating),
    version: pkg.version,
    pythonVersion: inputs.pythonVersion,
    repositories: refs.repositories,
    smokeTest: inputs.smokeTest || `python3 -c 'import ${pkg.module}'`,
    defaultSmokeTest: inputs.smokeTest === '',
    common,
    local: {
      runtime: `wheel-slim-local/${runKey}:runtime`,
      base: `wheel-slim-local/${runKey}:base`
    },
    cache: wheelCache
      ? {
          prefix: inputs.cacheKey,
          fingerprint: {
            builder: inputs.builderImage,
            pythonVersion: inputs.pythonVersion,
            buildPackages: inputs.buildPackages,
            pipArgs: inputs.pipArgs
          }
        }
      : undefined
  }
}
