/**
 * The merge job (merge: true): after one job per platform pushed its images under
 * per-architecture tags (arch-tags: true), join them into multi-platform tags for the slim and
 * the base image. Nothing is built. Every platform's image of this commit must be there before
 * any tag is created; a floating tag only moves forward; a second merge changes nothing.
 */
import * as core from '@actions/core'
import { mergeAnnotations } from './annotations.js'
import { Inputs } from './inputs.js'
import {
  createIndex,
  imageLabels,
  platformManifests,
  remoteDigest,
  repositoryOf,
  verify
} from './registry.js'
import { archRef, computeTags, runRefs } from './tags.js'
import { keptBack, logMoves, movedSince, snapshot, TagMove, VERSION_LABEL } from './tag-moves.js'
import { InputError } from './validate.js'
import { WorkflowContext } from './workflow.js'

export interface MergeGroup {
  /** The multi-platform references to create (all of one repository, slim or base). */
  refs: string[]
  /** Per platform: the per-architecture reference of this commit to take its image from. */
  sources: Record<string, string>
}

export interface MergePlan {
  platforms: string[]
  slim: MergeGroup[]
  base: MergeGroup[]
  floating: string[]
  /** The user's annotations; the index ones go on every index the merge creates. */
  annotations: string[]
}

/** Pure: what the merge reads and writes. The commit's sha tag names the matrix jobs' images. */
export function makeMergePlan(inputs: Inputs, ctx: WorkflowContext): MergePlan {
  if (!/^[0-9a-f]{7,40}$/.test(ctx.sha)) {
    throw new InputError(
      'merge',
      'true',
      'a run with a commit sha: the matrix jobs tag their images sha-<7>'
    )
  }
  // The same references the build jobs' plans made: the merge finds what they pushed.
  const refs = runRefs(inputs, computeTags(ctx, inputs.baseSuffix), `sha-${ctx.sha.slice(0, 7)}`)
  const groups = (tags: string[], runTags: string[]): MergeGroup[] =>
    runTags.map((runRef) => {
      const repo = repositoryOf(runRef)
      const sources = Object.fromEntries(
        inputs.platforms.map((p) => [p, archRef(runRef, p, inputs.archTagFormat)])
      )
      return {
        refs: [...new Set([runRef, ...tags.filter((r) => repositoryOf(r) === repo)])],
        sources
      }
    })
  return {
    platforms: inputs.platforms,
    slim: groups(refs.slim, refs.run.slim),
    base: groups(refs.base, refs.run.base),
    floating: refs.floating,
    annotations: inputs.annotations
  }
}

export interface MergeResult {
  digest: string
  baseDigest: string
  moves: TagMove[]
}

/** The manifest of `platform` under a per-architecture reference (a lone manifest, or in an index). */
async function sourceDigest(ref: string, platform: string): Promise<string | undefined> {
  const digest = await remoteDigest(ref)
  if (!digest) return undefined
  const manifests = await platformManifests(ref)
  return manifests.size === 0 ? digest : manifests.get(platform)
}

export async function executeMerge(plan: MergePlan): Promise<MergeResult> {
  const all = [...plan.slim, ...plan.base]
  // Every image first: a platform missing creates no tag at all.
  const missing: string[] = []
  const found = new Map<string, string>()
  for (const group of all) {
    for (const [platform, ref] of Object.entries(group.sources)) {
      const digest = await sourceDigest(ref, platform)
      if (digest) found.set(ref, digest)
      else missing.push(`${platform} (looked for ${ref})`)
    }
  }
  if (missing.length > 0) {
    throw new Error(
      `Merge: no image for ${missing.join(', ')}. Did every matrix job (arch-tags: true) of this commit push? No tag was created or moved.`
    )
  }
  const firstSource = Object.values(plan.slim[0]?.sources ?? {})[0] as string
  const labels = await imageLabels(firstSource)
  const version = labels[VERSION_LABEL]
  // The images' OCI labels on each index too, as a build of every platform at once writes them.
  const annotations = mergeAnnotations(labels, plan.annotations)
  const refs = all.flatMap((g) => g.refs)
  const before = await snapshot(refs)
  const kept = await keptBack(plan.floating, version, before)
  const digests = new Map<MergeGroup, string>()
  try {
    for (const group of all) {
      const repo = repositoryOf(group.refs[0] as string)
      const sources = Object.values(group.sources).map((r) => `${repo}@${found.get(r)}`)
      const moving = group.refs.filter((r) => !kept.has(r))
      if (moving.length === 0) continue
      await createIndex(moving, sources, annotations)
      const digest = (await remoteDigest(moving[0] as string)) as string
      for (const ref of moving) await verify(ref, digest, 'index just created')
      const platforms = [...(await platformManifests(moving[0] as string)).keys()].sort()
      if (platforms.join() !== [...plan.platforms].sort().join()) {
        throw new Error(
          `Merge: ${moving[0]} holds ${platforms.join(', ')}, not ${plan.platforms.join(', ')}`
        )
      }
      digests.set(group, digest)
    }
  } catch (error) {
    const moved = await movedSince(refs, before)
    const message = error instanceof Error ? error.message : String(error)
    throw new Error(`${message}\nTags moved before the failure: ${moved.join(', ') || 'none'}.`, {
      cause: error
    })
  }
  const moves: TagMove[] = all.flatMap((group) =>
    group.refs.map((ref) => ({
      ref,
      from: before.get(ref),
      to: kept.has(ref) ? (before.get(ref) as string) : (digests.get(group) ?? ''),
      ...(kept.has(ref) ? { kept: kept.get(ref) } : {})
    }))
  )
  logMoves(moves)
  core.info(`Merged ${plan.platforms.join(', ')} into ${moves.filter((m) => !m.kept).length} tags.`)
  return {
    digest: digests.get(plan.slim[0] as MergeGroup) ?? '',
    baseDigest: digests.get(plan.base[0] as MergeGroup) ?? '',
    moves
  }
}

/** The outputs a merge job sets: the same names as a build's, for the steps after it. */
export function mergeOutputs(plan: MergePlan, result: MergeResult): Record<string, string> {
  const slim = plan.slim.flatMap((g) => g.refs)
  const base = plan.base.flatMap((g) => g.refs)
  return {
    tags: slim.join('\n'),
    'base-tags': base.join('\n'),
    digest: result.digest,
    'base-digest': result.baseDigest,
    platforms: plan.platforms.join(','),
    metadata: JSON.stringify({ merged: true, tags: slim, 'base-tags': base, moves: result.moves })
  }
}
