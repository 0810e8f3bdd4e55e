/** Every input read, validated and typed: a bad value fails here, before anything runs. */
import { DEFAULT_PYTHON, INPUT_DEFAULTS, InputName } from './constants.js'
import { STAGE_NAMES } from './dockerfile.js'
import * as v from './validate.js'

export interface Inputs {
  images: string[]
  tags: string[]
  tagPrefix: string
  tagSuffix: string
  baseSuffix: string
  /** This job pushes its one platform under per-architecture tags only (a matrix job). */
  archTags: boolean
  archTagFormat: string
  /** This job builds nothing: it joins the matrix jobs' per-architecture images. */
  merge: boolean
  dist: string
  package: string
  module: string
  requirements: string
  pythonVersion: string
  builderImage: string
  runtimeImage: string
  parent: string
  wheelDir: string
  platforms: string[]
  /** '' (event default), 'true' or 'false'. */
  push: '' | 'true' | 'false'
  buildPackages: string[]
  runtimePackages: string[]
  pipArgs: string[]
  extraIndexUrl: string
  buildArgs: string[]
  cacheFrom: string[]
  cacheTo: string[]
  noCacheFilters: string[]
  labels: string[]
  /** OCI annotations, [level:]key=value (docker/metadata-action's output as is). */
  annotations: string[]
  smokeTest: string
  provenance: string
  qemuImage: string
  dockerfileOnly: boolean
  cache: boolean
  cacheKey: string
  /** buildx --network for the RUN steps: "host" lets pip reach an index on the runner's loopback. */
  network: 'default' | 'host' | 'none'
  autoRuntimePackages: boolean
}

/** Reads one input's raw value; '' when unset. The action passes core.getInput. */
export type InputReader = (name: InputName) => string

/** Empty values take the documented default, so the CLI and the action agree. */
export function withDefaults(read: InputReader): InputReader {
  return (name) => {
    const value = read(name).trim()
    return value !== '' ? value : INPUT_DEFAULTS[name]
  }
}

/** What the action learned before reading the inputs: the parent's recorded Python version. */
export interface Learned {
  parentPythonVersion?: string
}

export function parseInputs(raw: InputReader, learned: Learned = {}): Inputs {
  const read = withDefaults(raw)
  const pythonVersion = v.pythonVersion(
    'python-version',
    read('python-version') || learned.parentPythonVersion || DEFAULT_PYTHON
  )
  const push = read('push').toLowerCase()
  if (push !== '') v.bool('push', read('push'))
  const provenance = read('provenance')
  const pipArgs = read('pip-args')
    .split(/\s+/)
    .filter((a) => a !== '')
  const baseSuffix = read('base-suffix')
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(baseSuffix)) {
    throw new v.InputError(
      'base-suffix',
      baseSuffix,
      'a tag suffix of letters, digits, "_", "." and "-" such as "-base"'
    )
  }
  if (!/^(true|false|mode=(min|max))$/.test(provenance)) {
    throw new v.InputError('provenance', provenance, '"false", "true", "mode=min" or "mode=max"')
  }
  const optional = (name: InputName, f: (input: string, value: string) => string): string => {
    const value = read(name)
    return value === '' ? '' : f(name, value)
  }
  const platforms = v.nonEmpty('platforms', read('platforms'), [
    ...new Set(v.splitList(read('platforms')).map((x) => v.platform('platforms', x)))
  ])
  const archTags = v.bool('arch-tags', read('arch-tags'))
  const archTagFormat = v.archTagFormat('arch-tag-format', read('arch-tag-format'))
  const merge = v.bool('merge', read('merge'))
  if (archTags && platforms.length !== 1) {
    throw new v.InputError(
      'platforms',
      read('platforms'),
      'exactly one platform with arch-tags: true (a job per platform; a final job with merge: true joins them)'
    )
  }
  if (merge && archTags) {
    throw new v.InputError(
      'merge',
      read('merge'),
      'merge: true without arch-tags: true (merge joins what the arch-tags jobs pushed)'
    )
  }
  if (merge && platforms.length > 1 && !archTagFormat.includes('{arch}')) {
    throw new v.InputError(
      'arch-tag-format',
      archTagFormat,
      'a format with "{arch}" when several platforms are merged, e.g. "{tag}-{arch}"'
    )
  }
  return {
    images: v.splitList(read('image')).map((x) => v.repository('image', x)),
    tags: v.splitList(read('tags')),
    tagPrefix: v.tagPart('tag-prefix', read('tag-prefix')),
    tagSuffix: v.tagPart('tag-suffix', read('tag-suffix')),
    baseSuffix,
    archTags,
    archTagFormat,
    merge,
    dist: v.relativePath('dist', read('dist')),
    package: optional('package', v.packageName),
    module: optional('module', v.moduleName),
    requirements: optional('requirements', v.relativePath),
    pythonVersion,
    builderImage: v.fromImage(
      'builder-image',
      read('builder-image') || `python:${pythonVersion}`,
      STAGE_NAMES
    ),
    runtimeImage: v.fromImage(
      'runtime-image',
      read('runtime-image') || `python:${pythonVersion}-slim`,
      STAGE_NAMES
    ),
    parent: optional('parent', (input, value) => v.fromImage(input, value, STAGE_NAMES)),
    wheelDir: v.imagePath('wheel-dir', read('wheel-dir')),
    platforms,
    push: push as Inputs['push'],
    buildPackages: v
      .splitList(read('build-packages'))
      .flatMap((x) => x.split(/\s+/))
      .map((x) => v.aptPackage('build-packages', x)),
    runtimePackages: v
      .splitList(read('runtime-packages'))
      .flatMap((x) => x.split(/\s+/))
      .map((x) => v.aptPackage('runtime-packages', x)),
    pipArgs: pipArgs.map((a, i) => v.pipArg('pip-args', a, i === 0)),
    extraIndexUrl: optional('extra-index-url', v.indexUrl),
    buildArgs: v.splitLines(read('build-args')).map((x) => v.buildArg('build-args', x)),
    cacheFrom: v.splitLines(read('cache-from')).map((x) => v.cacheSpec('cache-from', x)),
    cacheTo: v.splitLines(read('cache-to')).map((x) => v.cacheSpec('cache-to', x)),
    noCacheFilters: v
      .splitList(read('no-cache-filters'))
      .map((x) => v.stageName('no-cache-filters', x, STAGE_NAMES)),
    labels: v.splitLines(read('labels')).map((x) => v.label('labels', x)),
    annotations: v.splitLines(read('annotations')).map((x) => v.annotation('annotations', x)),
    smokeTest: optional('smoke-test', v.smokeTest),
    provenance,
    qemuImage: v.imageRef('qemu-image', read('qemu-image')),
    dockerfileOnly: v.bool('dockerfile-only', read('dockerfile-only')),
    cache: v.bool('cache', read('cache')),
    cacheKey: v.cacheKey('cache-key', read('cache-key')),
    network: v.oneOf('network', read('network'), ['default', 'host', 'none'] as const),
    autoRuntimePackages: v.bool('auto-runtime-packages', read('auto-runtime-packages'))
  }
}
