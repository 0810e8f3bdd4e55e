/**
 * The build plan: everything the action decides, as pure data. Given the inputs, the workflow
 * context and the names of the files in dist, it fixes the Dockerfile, the tags, whether to
 * push, and the argv of every buildx call. Executing it is execute.ts's job.
 */
import { join } from 'node:path'
import { BuildCommon, BuildRequest } from './buildx.js'
import { DockerfileSpec, renderDockerfile, STAGES } from './dockerfile.js'
import { Inputs } from './inputs.js'
import { resolvePackage, ResolvedPackage } from './package-meta.js'
import { computeTags, resolveTags } from './tags.js'
import { InputError, moduleName } from './validate.js'
import { Fingerprint, platformSlug } from './wheel-cache.js'
import { decidePush, PushDecision, WorkflowContext } from './workflow.js'

export interface PlanPaths {
  workspace: string
  /** A directory of this run's own: Dockerfile, metadata files, secrets, wheel cache. */
  tempDir: string
}

export interface BuildPlan {
  package: ResolvedPackage
  spec: DockerfileSpec
  dockerfile: string
  dockerfilePath: string
  platforms: string[]
  push: PushDecision
  slimTags: string[]
  baseTags: string[]
  smokeTest: string
  common: BuildCommon
  /** One per platform: build alone, load, smoke-test. */
  smokeBuilds: { platform: string; image: string; request: BuildRequest }[]
  wheelsBuild: BuildRequest
  wheelsDir: string
  /**
   * A multi-platform push writes its first tag only; execute points every other tag at the same
   * index. A single-platform push writes all its tags: imagetools would wrap its lone manifest
   * in a new index instead of copying it.
   */
  baseBuild: BuildRequest
  runtimeBuild: BuildRequest
  /** Wheel cache key material; undefined when the cache is off. */
  cache?: { prefix: string; fingerprint: Omit<Fingerprint, 'abi'> }
}

/** A local name for a platform's smoke-test image; post removes it. */
export function localImageName(runKey: string, platform: string): string {
  return `wheel-slim-smoke/${runKey}:${platformSlug(platform)}`
}

export function makePlan(
  inputs: Inputs,
  ctx: WorkflowContext,
  distFiles: string[],
  paths: PlanPaths,
  runKey: string
): BuildPlan {
  const pkg = resolvePackage(distFiles, inputs.dist, inputs.package, inputs.module)
  moduleName('module', pkg.module)
  const spec: DockerfileSpec = {
    baseFrom: inputs.parent || inputs.builderImage,
    fromParent: inputs.parent !== '',
    runtimeFrom: inputs.runtimeImage,
    wheelDir: inputs.wheelDir,
    distPath: inputs.dist,
    requirementsPath: inputs.requirements || undefined,
    requirement: `${pkg.name}==${pkg.version}`,
    module: pkg.module,
    buildPackages: inputs.buildPackages,
    runtimePackages: inputs.runtimePackages,
    pipArgs: inputs.pipArgs,
    extraIndex: inputs.extraIndexUrl !== '',
    wheelCache: inputs.cache && !inputs.dockerfileOnly
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
  const tags = noTarget
    ? { slim: [], base: [] }
    : resolveTags(
        inputs.images,
        inputs.tags.length > 0 ? inputs.tags : computeTags(ctx),
        inputs.baseSuffix
      )
  if (push.push && !inputs.dockerfileOnly && tags.slim.length === 0) {
    throw new InputError(
      'tags',
      inputs.tags.join(','),
      `at least one tag: none could be computed from ${ctx.ref || 'this ref'}`
    )
  }
  const dockerfilePath = join(paths.tempDir, 'Dockerfile')
  const wheelsDir = join(paths.tempDir, 'wheels-out')
  const common: BuildCommon = {
    dockerfile: dockerfilePath,
    context: paths.workspace,
    buildArgs: inputs.buildArgs,
    labels: inputs.labels,
    cacheFrom: inputs.cacheFrom,
    cacheTo: inputs.cacheTo,
    noCacheFilters: inputs.noCacheFilters,
    provenance: inputs.provenance,
    pipConfFile: spec.extraIndex ? join(paths.tempDir, 'pip.conf') : undefined,
    wheelCacheDir: spec.wheelCache ? join(paths.tempDir, 'wheel-cache') : undefined
  }
  const firstOrAll = (refs: string[]): string[] =>
    inputs.platforms.length > 1 ? refs.slice(0, 1) : refs
  const metadata = (name: string): string => join(paths.tempDir, `metadata-${name}.json`)
  const all = inputs.platforms
  return {
    package: pkg,
    spec,
    dockerfile: renderDockerfile(spec),
    dockerfilePath,
    platforms: all,
    push,
    slimTags: tags.slim,
    baseTags: tags.base,
    smokeTest: inputs.smokeTest || `python3 -c 'import ${pkg.module}'`,
    common,
    smokeBuilds: all.map((platform) => {
      const image = localImageName(runKey, platform)
      return {
        platform,
        image,
        request: {
          target: STAGES.runtime,
          platforms: [platform],
          output: { kind: 'load', tag: image },
          metadataFile: metadata(`smoke-${platformSlug(platform)}`),
          noCache: true
        }
      }
    }),
    wheelsBuild: {
      target: STAGES.wheels,
      platforms: all,
      output: { kind: 'local', dest: wheelsDir },
      metadataFile: metadata('wheels'),
      noCache: false
    },
    wheelsDir,
    baseBuild: {
      target: STAGES.base,
      platforms: all,
      output: { kind: 'push', tags: firstOrAll(tags.base) },
      metadataFile: metadata('base'),
      noCache: false
    },
    runtimeBuild: {
      target: STAGES.runtime,
      platforms: all,
      output: { kind: 'push', tags: firstOrAll(tags.slim) },
      metadataFile: metadata('runtime'),
      noCache: false
    },
    cache: spec.wheelCache
      ? {
          prefix: inputs.cacheKey,
          fingerprint: {
            builder: spec.baseFrom,
            buildPackages: inputs.buildPackages,
            pipArgs: inputs.pipArgs
          }
        }
      : undefined
  }
}
