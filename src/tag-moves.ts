/**
 * Moving tags, shared by the build's push and the merge job: where each tag points before, which
 * floating tags (latest, X, X.Y) may move at all (only to a higher version), what moved when a
 * step failed, and the log of it all.
 */
import * as core from '@actions/core'
import { imageLabels, remoteDigest } from './registry.js'
import { movesForward } from './tags.js'

export interface TagMove {
  ref: string
  from?: string
  to: string
  /** Left where it was: it points to a version not older (a floating tag never moves back). */
  kept?: string
}

export const VERSION_LABEL = 'org.opencontainers.image.version'

/** The digest every ref points to now (undefined: not there yet), read in parallel. */
export async function snapshot(refs: string[]): Promise<Map<string, string | undefined>> {
  const digests = await Promise.all(refs.map((r) => remoteDigest(r)))
  return new Map(refs.map((r, i) => [r, digests[i]]))
}

/**
 * The floating refs that must stay, with the version they point to: those whose image is of a
 * version at least as high as `version` (a backport never moves latest).
 */
export async function keptBack(
  floating: string[],
  version: string | undefined,
  before: Map<string, string | undefined>
): Promise<Map<string, string>> {
  const kept = new Map<string, string>()
  const existing = floating.filter((r) => before.get(r) !== undefined)
  const labels = await Promise.all(existing.map((r) => imageLabels(r)))
  existing.forEach((ref, i) => {
    const current = labels[i]?.[VERSION_LABEL]
    if (current !== undefined && !movesForward(current, version)) kept.set(ref, current)
  })
  return kept
}

/** The refs of `refs` that no longer point where they did (for the error of a failed step). */
export async function movedSince(
  refs: string[],
  before: Map<string, string | undefined>
): Promise<string[]> {
  const now = await Promise.all(refs.map((r) => remoteDigest(r).catch(() => undefined)))
  return refs.filter((r, i) => now[i] !== before.get(r))
}

export function logMoves(moves: TagMove[]): void {
  for (const m of moves) {
    if (m.kept) core.info(`tag kept: ${m.ref} stays on ${m.kept}, not older than this release`)
    else if (m.from === undefined) core.info(`tag created: ${m.ref} → ${m.to}`)
    else if (m.from === m.to) core.info(`tag unchanged: ${m.ref} (${m.to})`)
    else core.info(`tag moved: ${m.ref} ${m.from} → ${m.to}`)
  }
}
