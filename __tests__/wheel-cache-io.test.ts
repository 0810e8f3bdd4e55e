/**
 * restoreWheels / saveWheels against a fake @actions/cache: the lookup that tells a miss from an
 * unreadable entry, the replacement key, and every failure turning into a cold cache.
 */
import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as core from '../__fixtures__/core.js'

type Files = Record<string, string>
interface RestoreOptions {
  lookupOnly?: boolean
}

/** A fake cache service: entries by key, newest last; `faults` make it misbehave. */
const store = new Map<string, Files>()
const faults = { lookupThrows: false, extractFails: false, hang: false, saveRefused: false }
const fakeCache = {
  isFeatureAvailable: jest.fn<() => boolean>(),
  restoreCache: jest.fn(
    async (
      paths: string[],
      primaryKey: string,
      restoreKeys: string[] = [],
      options: RestoreOptions = {}
    ): Promise<string | undefined> => {
      if (faults.hang) return new Promise<never>(() => undefined)
      if (faults.lookupThrows) throw new Error('cache service unavailable')
      const keys = [...store.keys()].reverse()
      const key =
        keys.find((k) => k === primaryKey) ??
        restoreKeys.map((p) => keys.find((k) => k.startsWith(p))).find((k) => k !== undefined)
      if (key === undefined || options.lookupOnly) return key
      const dir = paths[0] as string
      mkdirSync(dir, { recursive: true })
      // A corrupt archive: half a file lands, then the library gives up and reports a miss.
      if (faults.extractFails) {
        writeFileSync(join(dir, 'half-1.0-py3-none-any.whl'), 'trunc')
        return undefined
      }
      for (const [name, content] of Object.entries(store.get(key) ?? {})) {
        writeFileSync(join(dir, name), content)
      }
      return key
    }
  ),
  saveCache: jest.fn(async (paths: string[], key: string): Promise<number> => {
    if (faults.saveRefused) return -1
    const dir = paths[0] as string
    store.set(
      key,
      Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]))
    )
    return store.size
  })
}

jest.unstable_mockModule('@actions/cache', () => fakeCache)
jest.unstable_mockModule('@actions/core', () => core)
const { exportedWheels, restoreDir, restoreWheels, saveWheels } =
  await import('../src/wheel-cache.js')
const { cacheKeys, saveKey } = await import('../src/wheel-cache-keys.js')

const FP = { builder: 'python:3.12', pythonVersion: '3.12', buildPackages: [], pipArgs: [] }
const AMD = cacheKeys('wheel-slim', 'linux/amd64', FP)
const ARM = cacheKeys('wheel-slim', 'linux/arm/v7', FP)
const NUMPY = 'numpy-2.0-cp312-cp312-linux_x86_64.whl'
const SIX = 'six-1.16.0-py2.py3-none-any.whl'
const OWN = 'my_app-1.0.0-py3-none-any.whl'

const cwd = process.cwd()
let work: string
let findLinks: string

const lookups = (): RestoreOptions[] =>
  fakeCache.restoreCache.mock.calls.map((c) => (c[3] as RestoreOptions | undefined) ?? {})
const warnings = (): string[] => core.warning.mock.calls.map(([m]) => String(m))

/** Exported wheel files of one platform, as the "wheels" target writes them. */
function exported(names: string[]): string[] {
  const dir = join(work, 'wheels-out')
  mkdirSync(dir, { recursive: true })
  return names.map((n) => {
    writeFileSync(join(dir, n), `content of ${n}`)
    return join(dir, n)
  })
}

beforeEach(() => {
  jest.clearAllMocks()
  core.installDefaults()
  store.clear()
  Object.assign(faults, {
    lookupThrows: false,
    extractFails: false,
    hang: false,
    saveRefused: false
  })
  fakeCache.isFeatureAvailable.mockReturnValue(true)
  work = mkdtempSync(join(tmpdir(), 'wsa-cache-'))
  findLinks = join(work, 'find-links')
  // restoreDir is workspace-relative: the step runs in the workspace
  process.chdir(work)
})

afterEach(() => {
  process.chdir(cwd)
  rmSync(work, { recursive: true, force: true })
  delete process.env['WHEEL_SLIM_CACHE_TIMEOUT_SECONDS']
})

describe('restoreWheels', () => {
  test('a miss: one lookup, no download, an empty find-links directory', async () => {
    const [r] = await restoreWheels([AMD], findLinks)
    expect(r).toEqual({
      platform: 'linux/amd64',
      keys: AMD,
      matchedKey: undefined,
      wheels: [],
      abandoned: false,
      unreadable: false
    })
    expect(lookups()).toEqual([{ lookupOnly: true }])
    expect(readdirSync(findLinks)).toEqual([])
  })

  test('a hit: lookup, then restore; the wheels of every platform in one flat directory', async () => {
    const amdKey = saveKey(AMD, [NUMPY])
    const armKey = saveKey(ARM, [SIX])
    store.set(amdKey, { [NUMPY]: 'n' })
    store.set(armKey, { [SIX]: 's' })
    const restored = await restoreWheels([AMD, ARM], findLinks)
    expect(restored.map((r) => [r.platform, r.matchedKey, r.wheels, r.unreadable])).toEqual([
      ['linux/amd64', amdKey, [NUMPY], false],
      ['linux/arm/v7', armKey, [SIX], false]
    ])
    expect(lookups()).toEqual([{ lookupOnly: true }, {}, { lookupOnly: true }, {}])
    expect(fakeCache.restoreCache.mock.calls[1]?.slice(0, 3)).toEqual([
      [restoreDir('linux/amd64')],
      AMD.primary,
      AMD.restore
    ])
    expect(readdirSync(findLinks).sort()).toEqual([NUMPY, SIX])
  })

  test('an entry of another fingerprint is not restored', async () => {
    const other = cacheKeys('wheel-slim', 'linux/amd64', { ...FP, builder: 'python:3.11' })
    store.set(saveKey(other, [NUMPY]), { [NUMPY]: 'n' })
    const [r] = await restoreWheels([AMD], findLinks)
    expect(r?.matchedKey).toBeUndefined()
    expect(readdirSync(findLinks)).toEqual([])
  })

  test('a match that cannot be extracted is unreadable, and none of it reaches pip', async () => {
    store.set(saveKey(AMD, [NUMPY]), { [NUMPY]: 'n' })
    faults.extractFails = true
    const [r] = await restoreWheels([AMD], findLinks)
    expect(r).toMatchObject({ matchedKey: undefined, wheels: [], unreadable: true })
    expect(r?.abandoned).toBe(false)
    expect(readdirSync(restoreDir('linux/amd64'))).toEqual([])
    expect(readdirSync(findLinks)).toEqual([])
  })

  test('a service failure abandons the cache for every platform: cold, with a warning', async () => {
    faults.lookupThrows = true
    const restored = await restoreWheels([AMD, ARM], findLinks)
    expect(restored.map((r) => [r.platform, r.abandoned, r.unreadable, r.wheels])).toEqual([
      ['linux/amd64', true, false, []],
      ['linux/arm/v7', true, false, []]
    ])
    // the second platform does not wait on the same service
    expect(fakeCache.restoreCache).toHaveBeenCalledTimes(1)
    expect(warnings()).toEqual([expect.stringContaining('linux/amd64 not restored')])
  })

  test('a hanging service is given up after the bound', async () => {
    process.env['WHEEL_SLIM_CACHE_TIMEOUT_SECONDS'] = '0.05'
    faults.hang = true
    const [r] = await restoreWheels([AMD], findLinks)
    expect(r?.abandoned).toBe(true)
    expect(warnings()[0]).toMatch(/took longer than 0\.05 s/)
  })

  test('no cache service: nothing asked, a cold build', async () => {
    fakeCache.isFeatureAvailable.mockReturnValue(false)
    const [r] = await restoreWheels([AMD], findLinks)
    expect(r).toMatchObject({ wheels: [], abandoned: false, unreadable: false })
    expect(fakeCache.restoreCache).not.toHaveBeenCalled()
  })
})

describe('saveWheels', () => {
  test('new wheels: saved under the key of the set, without the package own wheel', async () => {
    const restored = await restoreWheels([AMD], findLinks)
    const files = exported([NUMPY, SIX, OWN])
    const saved = await saveWheels(restored, new Map([['linux/amd64', files]]), 'my-app', '77')
    const key = saveKey(AMD, [NUMPY, SIX])
    expect(saved).toEqual([{ platform: 'linux/amd64', key, wheels: 2 }])
    expect(fakeCache.saveCache.mock.calls.map((c) => c[1])).toEqual([key])
    expect(Object.keys(store.get(key) ?? {}).sort()).toEqual([NUMPY, SIX])
    expect(store.get(key)?.[NUMPY]).toBe(`content of ${NUMPY}`)
  })

  test('nothing new: no save', async () => {
    store.set(saveKey(AMD, [NUMPY, SIX]), { [NUMPY]: 'n', [SIX]: 's' })
    const restored = await restoreWheels([AMD], findLinks)
    const files = exported([SIX, NUMPY, OWN])
    const saved = await saveWheels(restored, new Map([['linux/amd64', files]]), 'my-app', '77')
    expect(saved).toEqual([{ platform: 'linux/amd64', wheels: 2 }])
    expect(fakeCache.saveCache).not.toHaveBeenCalled()
  })

  test('an unreadable entry is replaced under a key of its own, even with nothing new', async () => {
    const plain = saveKey(AMD, [NUMPY])
    store.set(plain, { [NUMPY]: 'n' })
    faults.extractFails = true
    const restored = await restoreWheels([AMD], findLinks)
    faults.extractFails = false
    const saved = await saveWheels(
      restored,
      new Map([['linux/amd64', exported([NUMPY])]]),
      'my-app',
      '4242'
    )
    expect(saved).toEqual([{ platform: 'linux/amd64', key: `${plain}-4242`, wheels: 1 }])
    // the next restore by prefix finds the replacement, the newer entry
    const [again] = await restoreWheels([AMD], join(work, 'again'))
    expect(again?.matchedKey).toBe(`${plain}-4242`)
    expect(again?.wheels).toEqual([NUMPY])
  })

  test('an abandoned restore is not saved over', async () => {
    faults.lookupThrows = true
    const restored = await restoreWheels([AMD], findLinks)
    faults.lookupThrows = false
    const saved = await saveWheels(
      restored,
      new Map([['linux/amd64', exported([NUMPY])]]),
      'my-app',
      '1'
    )
    expect(saved).toEqual([])
    expect(fakeCache.saveCache).not.toHaveBeenCalled()
    expect(warnings().at(-1)).toMatch(/linux\/amd64 not saved: its restore did not complete/)
  })

  test('a refused save is a warning and no key', async () => {
    const restored = await restoreWheels([AMD], findLinks)
    faults.saveRefused = true
    const saved = await saveWheels(
      restored,
      new Map([['linux/amd64', exported([NUMPY])]]),
      'my-app',
      '1'
    )
    expect(saved).toEqual([{ platform: 'linux/amd64', key: undefined, wheels: 1 }])
    expect(warnings().at(-1)).toMatch(/not saved/)
  })

  test('no cache service: nothing saved', async () => {
    const restored = await restoreWheels([AMD], findLinks)
    fakeCache.isFeatureAvailable.mockReturnValue(false)
    const saved = await saveWheels(
      restored,
      new Map([['linux/amd64', exported([NUMPY])]]),
      'my-app',
      '1'
    )
    expect(saved).toEqual([])
    expect(fakeCache.saveCache).not.toHaveBeenCalled()
    expect(existsSync(join(work, restoreDir('linux/amd64'), NUMPY))).toBe(false)
  })
})

// The stage script records, with each wheel set, which Debian packages its compiled wheels need
// (wheel-slim-needs.json, exported by the "wheels" target next to the wheels), "recorded with the
// wheels for later runs": a later run that takes a compiled wheel from the cache compiles
// nothing, so collect reads what it needs from /wheel-slim/cache/wheel-slim-needs-<platform>.json
// (wheel_slim.py, runtime_packages; the wheel cache context is the find-links directory).
describe('the runtime packages record travels with the cached wheels', () => {
  const PSYCOPG = 'psycopg2-2.9.9-cp312-cp312-linux_armv7l.whl'
  const RECORD = { wheels: { [PSYCOPG]: ['libpq5'], [SIX]: [] }, runtime_packages: [] }

  test('saved with the wheel set, restored where collect reads it', async () => {
    const platforms = ['linux/amd64', 'linux/arm/v7']
    const out = join(work, 'wheels-out')
    const arm = join(out, 'linux_arm_v7')
    mkdirSync(arm, { recursive: true })
    mkdirSync(join(out, 'linux_amd64'), { recursive: true })
    writeFileSync(join(arm, PSYCOPG), 'wheel')
    writeFileSync(join(arm, SIX), 'wheel')
    writeFileSync(join(arm, 'wheel-slim.json'), '{}')
    writeFileSync(join(arm, 'wheel-slim-needs.json'), JSON.stringify(RECORD))

    // the first run: cold, then saves what the build exported
    const first = await restoreWheels([AMD, ARM], findLinks)
    const exportedFiles = new Map(platforms.map((p) => [p, exportedWheels(out, p, platforms)]))
    await saveWheels(first, exportedFiles, 'my-app', '1')

    // a later run
    const later = join(work, 'later-find-links')
    const restored = await restoreWheels([AMD, ARM], later)
    expect(restored.find((r) => r.platform === 'linux/arm/v7')?.wheels.sort()).toEqual([
      PSYCOPG,
      SIX
    ])
    const record = join(later, 'wheel-slim-needs-linux-arm-v7.json')
    expect(existsSync(record)).toBe(true)
    expect(JSON.parse(readFileSync(record, 'utf8'))).toEqual(RECORD)
  })
})
