/**
 * Release tagging, as docker/metadata-action users configure it by hand, for Python packages:
 * a PEP 440 release tag vX.Y.Z → X.Y.Z, X.Y, X (not for 0.x), latest; a pre-, post- or
 * dev-release → only itself; default branch → edge; other branch → its name (branch-<name> when
 * that would read as one of the others); pull request → pr-N; always sha-<7>. `latest`, `X` and
 * `X.Y` only ever move forward (execute checks the version they point to now).
 */
import {
  compareVersions,
  isFinalRelease,
  normalizeVersion,
  parseVersion,
  releaseTags
} from './pep440.js'
import {
  InputError,
  parseRef,
  repository as checkRepository,
  repositoryOf,
  tag as checkTag
} from './validate.js'

export interface GitRef {
  eventName: string
  /** Full ref, e.g. refs/tags/v1.2.3, refs/heads/main, refs/pull/7/merge. */
  ref: string
  sha: string
  prNumber?: number
  defaultBranch?: string
}

/** Lowercase, "/" → "-", only tag-legal characters, at most 128. */
export function sanitizeTag(name: string): string {
  return name
    .toLowerCase()
    .replace(/\//g, '-')
    .replace(/[^a-z0-9_.-]/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, 128)
}

export interface ComputedTags {
  tags: string[]
  /** Tags that follow the newest release (latest, X, X.Y): moved only to a higher version. */
  floating: string[]
  /** The release's version (PEP 440, normalised), on a release tag. */
  version?: string
}

/** A branch name that would read as another kind of tag (or a base twin) is prefixed. */
function branchTag(name: string, baseSuffix: string): string {
  const tag = sanitizeTag(name)
  const reserved =
    ['latest', 'edge'].includes(tag) ||
    parseVersion(tag) !== undefined ||
    /^(pr-\d+|sha-[0-9a-f]{7,40}|branch-.*)$/.test(tag) ||
    (baseSuffix !== '' && tag.endsWith(baseSuffix))
  return reserved ? sanitizeTag(`branch-${name}`) : tag
}

/**
 * `distVersion`: the version of the package in dist/. On a release tag it must be the tag's
 * version: a 1.2.4.dev3 sdist must never ship as 1.2.3.
 */
export function computeTags(git: GitRef, baseSuffix = '-base', distVersion?: string): ComputedTags {
  const tags: string[] = []
  const floating: string[] = []
  let version: string | undefined
  const { ref } = git
  if (git.eventName.startsWith('pull_request')) {
    const n = git.prNumber ?? Number(/^refs\/pull\/(\d+)\//.exec(ref)?.[1])
    if (Number.isInteger(n) && n > 0) tags.push(`pr-${n}`)
  } else if (ref.startsWith('refs/tags/')) {
    const name = ref.slice('refs/tags/'.length)
    const v = parseVersion(name)
    if (v) {
      version = normalizeVersion(v)
      checkDistVersion(name, version, distVersion)
      const [own, ...rest] = releaseTags(v)
      tags.push(own as string, ...rest)
      floating.push(...rest)
      if (isFinalRelease(v) && v.epoch === 0) {
        tags.push('latest')
        floating.push('latest')
      }
    } else tags.push(sanitizeTag(name))
  } else if (ref.startsWith('refs/heads/')) {
    const branch = ref.slice('refs/heads/'.length)
    tags.push(branch === git.defaultBranch ? 'edge' : branchTag(branch, baseSuffix))
  }
  if (/^[0-9a-f]{7,40}$/.test(git.sha)) tags.push(`sha-${git.sha.slice(0, 7)}`)
  const unique = [...new Set(tags.filter((t) => t !== ''))]
  return { tags: unique, floating: floating.filter((t) => unique.includes(t)), version }
}

function checkDistVersion(tag: string, version: string, distVersion: string | undefined): void {
  if (distVersion === undefined) return
  const dist = parseVersion(distVersion)
  if (dist && compareVersions(dist, parseVersion(version) as NonNullable<typeof dist>) === 0) return
  throw new Error(
    `The git tag ${tag} is version ${version}, but dist/ holds version ${distVersion}: build dist/ from the tagged commit (with its version ${version}), or tag the version dist/ holds.`
  )
}

/** Whether `next` may replace `current` under a floating tag (latest, X, X.Y): only forward. */
export function movesForward(current: string | undefined, next: string | undefined): boolean {
  const a = current === undefined ? undefined : parseVersion(current)
  const b = next === undefined ? undefined : parseVersion(next)
  if (!b) return false
  return !a || compareVersions(b, a) > 0
}

export interface TagRules {
  prefix: string
  suffix: string
  baseSuffix: string
}

export interface ImageTags {
  /** Full references of the slim image. */
  slim: string[]
  /** Full references of the wheel-carrying base image: every slim reference + suffix. */
  base: string[]
}

/**
 * Bare tags apply to every image, as `<prefix><tag><suffix>`; a value with ":" or "/" is a full
 * reference (docker/metadata-action's output), used as it is.
 */
export function resolveTags(images: string[], tags: string[], rules: TagRules): ImageTags {
  const slim: string[] = []
  for (const t of tags) {
    if (t.includes(':') || t.includes('/')) {
      const ref = parseRef(t)
      if (!ref || ref.tag === undefined || ref.digest !== undefined) {
        throw new InputError(
          'tags',
          t,
          'a bare tag such as "1.2.3" or a full reference such as "ghcr.io/org/app:1.2.3"'
        )
      }
      slim.push(t)
    } else {
      const full = `${rules.prefix}${checkTag('tags', t)}${rules.suffix}`
      // Bad only with what the user added: name that input (only a prefix can start it wrong).
      const blame =
        rules.prefix && !/^[A-Za-z0-9_]/.test(full)
          ? 'tag-prefix'
          : rules.suffix
            ? 'tag-suffix'
            : rules.prefix
              ? 'tag-prefix'
              : 'tags'
      checkTag(blame, full)
      if (images.length === 0) {
        throw new InputError(
          'image',
          '',
          'the repository to push to, e.g. "ghcr.io/org/app" (required with bare tags)'
        )
      }
      for (const image of images) slim.push(`${checkRepository('image', image)}:${full}`)
    }
  }
  return {
    slim: [...new Set(slim)],
    base: [...new Set(slim.map((r) => withTag(r, (t) => `${t}${rules.baseSuffix}`, 'base-suffix')))]
  }
}

/** What a run's references are made from: the tag inputs (as in Inputs). */
export interface TagInputs {
  images: string[]
  tags: string[]
  tagPrefix: string
  tagSuffix: string
  baseSuffix: string
}

export interface RunRefs extends ImageTags {
  /** Of slim and base, those that follow the newest release: moved only forward. */
  floating: string[]
  /** Repositories the tags name, in order. */
  repositories: string[]
  /** The run's own references (`runName` with prefix and suffix), one per repository. */
  run: ImageTags
}

/**
 * Every reference a run writes: the given tags (or else the computed ones), their base twins,
 * the floating ones, and the run's own, written first. The build's plan and the merge job's
 * both come from here, so a merge finds exactly what the build jobs pushed.
 */
export function runRefs(inputs: TagInputs, computed: ComputedTags, runName: string): RunRefs {
  const rules = {
    prefix: inputs.tagPrefix,
    suffix: inputs.tagSuffix,
    baseSuffix: inputs.baseSuffix
  }
  const given = inputs.tags.length > 0
  const tags = resolveTags(inputs.images, given ? inputs.tags : computed.tags, rules)
  const floating = resolveTags(inputs.images, given ? [] : computed.floating, rules)
  const repositories = [...new Set(tags.slim.map(repositoryOf))]
  const runTag = `${inputs.tagPrefix}${runName}${inputs.tagSuffix}`
  return {
    ...tags,
    floating: [...floating.slim, ...floating.base],
    repositories,
    run: {
      slim: repositories.map((r) => `${r}:${runTag}`),
      base: repositories.map((r) => `${r}:${runTag}${inputs.baseSuffix}`)
    }
  }
}

/** Docker's names for the architectures in per-architecture tags. */
export const ARCH_NAMES: Record<string, string> = {
  'linux/amd64': 'amd64',
  'linux/arm64': 'arm64v8',
  'linux/arm/v7': 'arm32v7',
  'linux/arm/v6': 'arm32v6',
  'linux/386': 'i386',
  'linux/ppc64le': 'ppc64le',
  'linux/s390x': 's390x',
  'linux/riscv64': 'riscv64'
}

/** The per-architecture reference of `ref` on `platform`: arch-tag-format, e.g. "{tag}-{arch}". */
export function archRef(ref: string, platform: string, format: string): string {
  const arch = ARCH_NAMES[platform] ?? platform.replace(/\//g, '')
  return withTag(ref, (t) => format.replace('{tag}', t).replace('{arch}', arch), 'arch-tag-format')
}

function withTag(ref: string, f: (tag: string) => string, input: string): string {
  const i = ref.lastIndexOf(':')
  const tag = f(ref.slice(i + 1))
  checkTag(input, tag)
  return `${ref.slice(0, i)}:${tag}`
}
