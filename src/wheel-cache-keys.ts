/**
 * Wheel cache keys, pure: `<cache-key>-<platform>-<fingerprint>-<wheel set>[-<replacement>]`.
 * The fingerprint hashes everything that makes a wheel unfit for another build, so a restore
 * only ever takes entries of its own fingerprint; a parent and its children share entries when
 * their fingerprints agree. Keys hold hashes, never input values.
 */
import { createHash } from 'node:crypto'
import { normalizeName } from './validate.js'

/** Everything that makes a wheel incompatible. */
export interface Fingerprint {
  /** The builder-image input (a child's too, though it compiles FROM its parent): a parent and
   *  its children built on the same builder share entries. */
  builder: string
  pythonVersion: string
  buildPackages: string[]
  pipArgs: string[]
}

const sha = (value: string, length = 16): string =>
  createHash('sha256').update(value).digest('hex').slice(0, length)

export const platformSlug = (platform: string): string => platform.replace(/\//g, '-')

export interface PlatformKeys {
  platform: string
  /** This fingerprint's prefix; entries are saved as `${primary}-${hash of names}`. */
  primary: string
  restore: string[]
}

export function cacheKeys(prefix: string, platform: string, f: Fingerprint): PlatformKeys {
  const hash = sha(
    JSON.stringify([f.builder, f.pythonVersion, [...f.buildPackages].sort(), f.pipArgs])
  )
  const primary = `${prefix}-${platformSlug(platform)}-${hash}`
  return { platform, primary, restore: [`${primary}-`] }
}

/**
 * A set of wheels gets its own key, so restore-by-prefix finds the newest set. `replacing` (a
 * run id) makes a key of its own when the entry under the plain key could not be restored:
 * entries cannot be overwritten, and the newer one wins the next prefix match.
 */
export function saveKey(keys: PlatformKeys, wheels: string[], replacing?: string): string {
  const key = `${keys.primary}-${sha([...wheels].sort().join('\n'), 12)}`
  return replacing ? `${key}-${replacing}` : key
}

/** The package's own wheel changes every commit: caching it would only evict others. */
export function cacheableWheels(files: string[], packageName: string): string[] {
  const own = normalizeName(packageName)
  return files
    .filter((f) => f.endsWith('.whl'))
    .filter((f) => normalizeName(f.split('-')[0] as string) !== own)
    .sort()
}

/** Save only when the build produced a wheel the restored set lacked. */
export function needsSave(saved: string[], restored: string[]): boolean {
  const had = new Set(restored)
  return saved.some((w) => !had.has(w))
}
