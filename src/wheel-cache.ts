/**
 * The wheel cache: each platform's wheel directory, restored before the build and saved after
 * a successful one through the GitHub Actions cache. An accelerator, never a point of failure:
 * every error, hang or corrupt archive becomes a warning and an empty (cold) cache.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import * as cache from '@actions/cache'
import * as core from '@actions/core'
import {
  cacheableWheels,
  needsSave,
  platformSlug,
  PlatformKeys,
  saveKey
} from './wheel-cache-keys.js'

/**
 * Per-platform directory, relative to the workspace (the step's working directory): the cache
 * entry's version hashes this path string, so it must read the same on every runner, and
 * concurrent jobs must not share it.
 */
export const CACHE_ROOT = '.wheel-slim-cache'

export function restoreDir(platform: string): string {
  return join(CACHE_ROOT, platformSlug(platform))
}

/** Saved beside the wheels: the Debian packages each one needs at run time (see wheel_slim.py). */
const NEEDS = 'wheel-slim-needs.json'
/** Its name in the flat --find-links directory, which holds every platform's wheels. */
const needsFile = (platform: string): string => `wheel-slim-needs-${platformSlug(platform)}.json`

const wheelFiles = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.whl')) : []

function emptyDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
}

function timeoutMs(): number {
  const s = Number(process.env['WHEEL_SLIM_CACHE_TIMEOUT_SECONDS'] ?? 120)
  return (Number.isFinite(s) && s > 0 ? s : 120) * 1000
}

/** Resolves to the operation's result, or rejects after the bound (the library retries for minutes). */
function bounded<T>(what: string, op: Promise<T>): Promise<T> {
  const ms = timeoutMs()
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms)
  })
  return Promise.race([op, timeout]).finally(() => clearTimeout(timer))
}

export interface Restored {
  platform: string
  keys: PlatformKeys
  matchedKey?: string
  wheels: string[]
  /** The restore threw or timed out: the service is unhealthy, and a late download may still land. */
  abandoned: boolean
  /** An entry matched but could not be restored (corrupt): the next save replaces it. */
  unreadable: boolean
}

/**
 * Restore every platform's entry, then gather the wheels in one flat directory for
 * --find-links: pip takes only those compatible with the platform it builds for. A lookup comes
 * first, so an entry that matches but cannot be extracted is told apart from a miss.
 */
export async function restoreWheels(
  keys: PlatformKeys[],
  findLinksDir: string
): Promise<Restored[]> {
  emptyDir(findLinksDir)
  const restored: Restored[] = []
  const available = cache.isFeatureAvailable()
  let abandoned = false
  for (const k of keys) {
    const dir = restoreDir(k.platform)
    emptyDir(dir)
    let matchedKey: string | undefined
    let found: string | undefined
    // After one failure the other platforms build cold too, rather than wait on the same service.
    if (available && !abandoned) {
      try {
        found = await bounded(
          'wheel cache lookup',
          cache.restoreCache([dir], k.primary, k.restore, { lookupOnly: true })
        )
        if (found) {
          matchedKey = await bounded(
            'wheel cache restore',
            cache.restoreCache([dir], k.primary, k.restore)
          )
        }
      } catch (error) {
        core.warning(`Wheel cache for ${k.platform} not restored (building cold): ${String(error)}`)
        abandoned = true
      }
    }
    // A failed or partial extraction must not feed pip half an archive.
    const wheels = matchedKey ? wheelFiles(dir) : []
    if (!matchedKey) emptyDir(dir)
    for (const w of wheels) copyFileSync(join(dir, w), join(findLinksDir, w))
    // Which runtime packages those wheels need, recorded where they were compiled.
    if (matchedKey && existsSync(join(dir, NEEDS))) {
      copyFileSync(join(dir, NEEDS), join(findLinksDir, needsFile(k.platform)))
    }
    const unreadable = found !== undefined && matchedKey === undefined && !abandoned
    if (unreadable) {
      core.warning(
        `Wheel cache for ${k.platform}: ${found} could not be restored (building cold); this run replaces it`
      )
    } else {
      core.info(
        matchedKey
          ? `Wheel cache ${k.platform}: ${wheels.length} wheels from ${matchedKey}`
          : `Wheel cache ${k.platform}: miss`
      )
    }
    restored.push({ platform: k.platform, keys: k, matchedKey, wheels, abandoned, unreadable })
  }
  if (!available)
    core.info('Wheel cache: the Actions cache service is not available here; building cold.')
  return restored
}

/** Where the "wheels" target put a platform's set: one sub-directory per platform when several. */
export function exportDir(outDir: string, platform: string, platforms: string[]): string {
  return platforms.length > 1 ? join(outDir, platform.replace(/\//g, '_')) : outDir
}

/** Wheels exported from the "wheels" stage. */
export function exportedWheels(outDir: string, platform: string, platforms: string[]): string[] {
  const dir = exportDir(outDir, platform, platforms)
  return wheelFiles(dir).map((w) => join(dir, w))
}

export interface Saved {
  platform: string
  key?: string
  wheels: number
}

export async function saveWheels(
  restored: Restored[],
  exported: Map<string, string[]>,
  packageName: string,
  runId: string
): Promise<Saved[]> {
  const results: Saved[] = []
  if (!cache.isFeatureAvailable()) return results
  for (const r of restored) {
    if (r.abandoned) {
      core.warning(`Wheel cache for ${r.platform} not saved: its restore did not complete`)
      continue
    }
    const files = exported.get(r.platform) ?? []
    const names = cacheableWheels(
      files.map((f) => basename(f)),
      packageName
    )
    if (!r.unreadable && !needsSave(names, r.wheels)) {
      core.info(`Wheel cache ${r.platform}: nothing new to save`)
      results.push({ platform: r.platform, wheels: names.length })
      continue
    }
    const dir = restoreDir(r.platform)
    emptyDir(dir)
    for (const f of files) {
      if (names.includes(basename(f)) && statSync(f).isFile())
        copyFileSync(f, join(dir, basename(f)))
    }
    const needs = join(dirname(files[0] ?? ''), NEEDS)
    if (files.length > 0 && existsSync(needs)) copyFileSync(needs, join(dir, NEEDS))
    const key = saveKey(r.keys, names, r.unreadable ? runId : undefined)
    try {
      const id = await bounded('wheel cache save', cache.saveCache([dir], key))
      if (id === -1) {
        core.warning(
          `Wheel cache for ${r.platform}: ${key} not saved (the cache service refused it or could not be reached, see above, or another job saved it first)`
        )
      } else core.info(`Wheel cache ${r.platform}: saved ${names.length} wheels as ${key}`)
      results.push({ platform: r.platform, key: id === -1 ? undefined : key, wheels: names.length })
    } catch (error) {
      core.warning(`Wheel cache for ${r.platform} not saved: ${String(error)}`)
      results.push({ platform: r.platform, wheels: names.length })
    }
  }
  return results
}
