/**
 * Release tagging, as docker/metadata-action users configure it by hand:
 * vX.Y.Z → X.Y.Z, X.Y, X (not for 0.x), latest; a pre-release → only itself;
 * default branch → edge; other branch → its name; pull request → pr-N; always sha-<7>.
 */
import { InputError, parseRef, repository as checkRepository, tag as checkTag } from './validate.js'

export interface GitRef {
  eventName: string
  /** Full ref, e.g. refs/tags/v1.2.3, refs/heads/main, refs/pull/7/merge. */
  ref: string
  sha: string
  prNumber?: number
  defaultBranch?: string
}

// semver.org's regex, with an optional leading "v".
const SEMVER =
  /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/

/** Lowercase, "/" → "-", only tag-legal characters, at most 128. */
export function sanitizeTag(name: string): string {
  return name
    .toLowerCase()
    .replace(/\//g, '-')
    .replace(/[^a-z0-9_.-]/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, 128)
}

function versionTags(tagName: string): string[] | undefined {
  const m = SEMVER.exec(tagName)
  if (!m) return undefined
  const [, major, minor, patch, pre] = m as unknown as [string, string, string, string, string?]
  const version = `${major}.${minor}.${patch}${pre ? `-${pre}` : ''}`
  if (pre) return [version]
  const tags = [version, `${major}.${minor}`]
  if (major !== '0') tags.push(major)
  tags.push('latest')
  return tags
}

export function computeTags(git: GitRef): string[] {
  const tags: string[] = []
  const { ref } = git
  if (git.eventName === 'pull_request' || git.eventName === 'pull_request_target') {
    const n = git.prNumber ?? Number(/^refs\/pull\/(\d+)\//.exec(ref)?.[1])
    if (Number.isInteger(n) && n > 0) tags.push(`pr-${n}`)
  } else if (ref.startsWith('refs/tags/')) {
    const name = ref.slice('refs/tags/'.length)
    tags.push(...(versionTags(name) ?? [sanitizeTag(name)]))
  } else if (ref.startsWith('refs/heads/')) {
    const branch = ref.slice('refs/heads/'.length)
    tags.push(branch === git.defaultBranch ? 'edge' : sanitizeTag(branch))
  }
  if (/^[0-9a-f]{7,40}$/.test(git.sha)) tags.push(`sha-${git.sha.slice(0, 7)}`)
  return [...new Set(tags.filter((t) => t !== ''))]
}

export interface ImageTags {
  /** Full references of the slim image. */
  slim: string[]
  /** Full references of the wheel-carrying base image: every slim reference + suffix. */
  base: string[]
}

/**
 * Bare tags apply to every image; a value with ":" or "/" is a full reference, used as it is.
 */
export function resolveTags(images: string[], tags: string[], baseSuffix: string): ImageTags {
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
      checkTag('tags', t)
      if (images.length === 0) {
        throw new InputError(
          'image',
          '',
          'the repository to push to, e.g. "ghcr.io/org/app" (required with bare tags)'
        )
      }
      for (const image of images) slim.push(`${checkRepository('image', image)}:${t}`)
    }
  }
  const base = slim.map((ref) => {
    const full = `${ref}${baseSuffix}`
    const tag = full.slice(full.lastIndexOf(':') + 1)
    checkTag('base-suffix', tag)
    return full
  })
  return { slim: [...new Set(slim)], base: [...new Set(base)] }
}
