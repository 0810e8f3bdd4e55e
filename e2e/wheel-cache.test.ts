// The wheel cache, end to end: the bundled action on the real engine (amd64, and arm/v7 under
// QEMU), its real @actions/cache talking to a local GitHub cache service (v2). wsa-derived
// depends on wsa-service and both sdists sit in dist/, so wsa-service is a compiled dependency:
// pip builds it from source unless the restored cache holds its wheel.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startCacheService, type CacheFault, type CacheService } from './support/cache-service.js'
import { buildFixtureDist } from './support/fixtures.js'
import { REGISTRY } from './support/registry.js'
import { runAction, type ActionRun } from './support/runner.js'

const TWIRP = '/twirp/github.actions.results.api.v1.CacheService/'
const AMD64 = 'linux/amd64'
const ARM = 'linux/arm/v7'
const PLATFORM_TAG: Record<string, string> = { [AMD64]: 'linux_x86_64', [ARM]: 'linux_armv7l' }

/** Every run's inputs; the layer cache never answers for the wheel steps (`no-cache-filters`). */
const BASE_INPUTS = {
  image: `${REGISTRY}/wsa-wheel-cache-e2e`,
  'python-version': '3.11',
  'builder-image': `${REGISTRY}/python:3.11`,
  'runtime-image': `${REGISTRY}/python:3.11-slim`,
  'pip-args': '--no-index --no-build-isolation',
  push: 'false',
  'no-cache-filters': 'own,resolve,compile,collect',
  package: 'wsa-derived'
}

/** What the action reports in its `metadata` output (the parts this suite reads). */
interface Metadata {
  builds: {
    platform: string
    path: string
    steps: { resolve?: { seconds?: number }; compile?: { seconds?: number } }
    built: string[]
    reused: string[]
  }[]
  cache: {
    restored: { platform: string; key?: string; wheels: number }[]
    saved: { platform: string; key?: string; wheels: number }[]
  }
}

interface WheelRun extends ActionRun {
  meta?: Metadata
  /** Everything main printed: the buildx progress logs, pip's lines, the library's messages. */
  log: string
  seconds: number
  /** Index into the service's request log where this run began. */
  firstRequest: number
}

const wheel = (module: string, version: string, platform: string): string =>
  `${module}-${version}-cp311-cp311-${PLATFORM_TAG[platform]}.whl`
const ownWheel = (platform: string): string => wheel('wsa_derived', '1.0.0', platform)
const depWheel = (platform: string, version = '1.0.0'): string =>
  wheel('wsa_service', version, platform)
const slug = (platform: string): string => platform.replace(/\//g, '-')

const scratch: string[] = []
const services: CacheService[] = []
/** Lines for the end-of-file report: wheel-step times, fault durations. */
const report: string[] = []

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()))
  for (const dir of scratch) await rm(dir, { recursive: true, force: true })
  if (report.length > 0) console.log(`wheel cache e2e report:\n${report.join('\n')}`)
})

async function serve(fault?: CacheFault): Promise<CacheService> {
  const s = await startCacheService({ fault })
  services.push(s)
  return s
}

/** A cache-key prefix no other test shares. */
const uniqueKey = (label: string): string => `wsa-wc-${label}-${randomBytes(4).toString('hex')}`

/**
 * A fresh workspace, always `<tmp>/wsa-wheel-cache-XXXXXX/workspace` (same depth and name), with
 * the derived sdist and the service sdist at `serviceVersion` in dist/.
 */
async function makeWorkspace(serviceVersion = '1.0.0'): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'wsa-wheel-cache-'))
  scratch.push(root)
  const dir = path.join(root, 'workspace')
  const dist = path.join(dir, 'dist')
  await buildFixtureDist('derived', dist)
  await buildFixtureDist('service', dist, { version: serviceVersion })
  return dir
}

/** Replaces the service sdist in the workspace's dist/ by one at `version`. */
async function bumpService(workspace: string, version: string): Promise<void> {
  const dist = path.join(workspace, 'dist')
  for (const f of await readdir(dist)) {
    if (f.startsWith('wsa-service-')) await rm(path.join(dist, f))
  }
  await buildFixtureDist('service', dist, { version })
}

async function build(
  svc: CacheService,
  workspace: string,
  cacheKey: string,
  opts: {
    platforms?: string[]
    inputs?: Record<string, string>
    env?: Record<string, string>
    name?: string
    timeoutMs?: number
  } = {}
): Promise<WheelRun> {
  const firstRequest = svc.requests.length
  const started = Date.now()
  const run = await runAction({
    workspace,
    inputs: {
      ...BASE_INPUTS,
      platforms: (opts.platforms ?? [AMD64]).join(','),
      'cache-key': cacheKey,
      ...opts.inputs
    },
    env: { ...svc.env, ...opts.env },
    name: opts.name,
    timeoutMs: opts.timeoutMs
  })
  const seconds = Math.round((Date.now() - started) / 100) / 10
  const metadata = run.outputs.metadata
  return {
    ...run,
    meta: metadata ? (JSON.parse(metadata) as Metadata) : undefined,
    log: `${run.stdout}\n${run.stderr}`,
    seconds,
    firstRequest
  }
}

/** Exit 0 and no error annotation; the log file is in the diff when it fails. */
function expectGreen(run: WheelRun): void {
  expect({ exitCode: run.exitCode, errors: run.errors, log: run.logFile }).toEqual({
    exitCode: 0,
    errors: [],
    log: run.logFile
  })
}

/** The wheel files pip compiled for one platform, from the metadata output. */
const builtOn = (run: WheelRun, platform: string): string[] | undefined =>
  run.meta?.builds
    .find((b) => b.platform === platform)
    ?.built.slice()
    .sort()

/** Seconds of the step that produced the platform's wheels: compile on the target, else resolve. */
const wheelSeconds = (run: WheelRun, platform: string): number | undefined => {
  const b = run.meta?.builds.find((x) => x.platform === platform)
  return b?.path === 'target' ? b.steps.compile?.seconds : b?.steps.resolve?.seconds
}

/** pip's own line when it compiles a distribution from source. */
const compiled = (run: WheelRun, project: string): boolean =>
  new RegExp(`Building wheel for ${project} \\(`).test(run.log)

const calls = (svc: CacheService, method: string, since = 0): number =>
  svc.requests.slice(since).filter((r) => r.path === TWIRP + method).length

const entriesOf = (svc: CacheService, cacheKey: string, platform: string) =>
  svc.entries().filter((e) => e.key.startsWith(`${cacheKey}-${slug(platform)}-`))

/** Keys are the prefix, the platform and two hashes: nothing a user typed besides the prefix. */
function expectHashedKey(key: string, cacheKey: string, platform: string): void {
  expect(key).toMatch(new RegExp(`^${cacheKey}-${slug(platform)}-[0-9a-f]{16}-[0-9a-f]{12}$`))
  const rest = key.slice(cacheKey.length)
  for (const raw of ['localhost', REGISTRY, '3.11', 'python', 'no-index', 'no-build-isolation']) {
    expect(rest).not.toContain(raw)
  }
}

describe('linux/amd64: a cold run saves the dependency wheel, the next run reuses it', () => {
  let svc: CacheService
  const cacheKey = uniqueKey('seq')
  let coldKey: string | undefined

  beforeAll(async () => {
    svc = await serve()
  })

  test('1. cold: compiles wsa_service and wsa_derived, saves one entry under a hashed key', async () => {
    const run = await build(svc, await makeWorkspace(), cacheKey)
    expectGreen(run)
    expect(run.outputs['cache-hit']).toBe('false')
    expect(builtOn(run, AMD64)).toEqual([ownWheel(AMD64), depWheel(AMD64)])
    expect(run.outputs['wheels-built']).toBe('2')
    expect(compiled(run, 'wsa-service')).toBe(true)
    expect(compiled(run, 'wsa-derived')).toBe(true)
    expect(run.meta?.cache.restored).toEqual([{ platform: AMD64, wheels: 0 }])

    const entries = svc.entries()
    expect(entries).toHaveLength(1)
    expect(entriesOf(svc, cacheKey, AMD64)).toHaveLength(1)
    coldKey = entries[0]?.key ?? ''
    expectHashedKey(coldKey, cacheKey, AMD64)
    // Only the dependency is cached: the package's own wheel changes every commit.
    expect(run.meta?.cache.saved).toEqual([{ platform: AMD64, key: coldKey, wheels: 1 }])
    expect(calls(svc, 'CreateCacheEntry')).toBe(1)
    expect(calls(svc, 'FinalizeCacheEntryUpload')).toBe(1)
    report.push(`amd64 cold: wheel step ${wheelSeconds(run, AMD64)} s, run ${run.seconds} s`)
  })

  test('2. warm (fresh workspace): restores it, compiles only wsa_derived, saves nothing', async () => {
    expect(coldKey).toBeDefined() // continues test 1
    const before = svc.entries()
    const run = await build(svc, await makeWorkspace(), cacheKey)
    expectGreen(run)
    expect(run.outputs['cache-hit']).toBe('true')
    expect(builtOn(run, AMD64)).toEqual([ownWheel(AMD64)])
    expect(run.outputs['wheels-built']).toBe('1')
    expect(compiled(run, 'wsa-service')).toBe(false)
    expect(compiled(run, 'wsa-derived')).toBe(true)
    expect(Number(run.outputs['wheels-reused'])).toBeGreaterThanOrEqual(1)
    expect(run.meta?.cache.restored).toEqual([{ platform: AMD64, key: coldKey, wheels: 1 }])
    expect(run.meta?.cache.saved).toEqual([{ platform: AMD64, wheels: 1 }])
    expect(svc.entries()).toEqual(before)
    expect(calls(svc, 'CreateCacheEntry', run.firstRequest)).toBe(0)
    report.push(`amd64 warm: wheel step ${wheelSeconds(run, AMD64)} s, run ${run.seconds} s`)
  })
})

test('3. a bumped dependency is compiled once, saved as a new entry, and restored next time', async () => {
  const svc = await serve()
  const cacheKey = uniqueKey('bump')
  const ws = await makeWorkspace()
  const seed = await build(svc, ws, cacheKey, { name: 'bump-seed' })
  expectGreen(seed)
  const [first] = entriesOf(svc, cacheKey, AMD64)
  expect(first).toBeDefined()

  await bumpService(ws, '1.0.1')
  const bumped = await build(svc, ws, cacheKey, { name: 'bump-1.0.1' })
  expectGreen(bumped)
  expect(builtOn(bumped, AMD64)).toEqual([ownWheel(AMD64), depWheel(AMD64, '1.0.1')])
  expect(bumped.outputs['wheels-built']).toBe('2')
  expect(compiled(bumped, 'wsa-service')).toBe(true)
  // The 1.0.0 wheel came back from the cache; pip took the newer sdist, as it should.
  expect(bumped.meta?.cache.restored).toEqual([{ platform: AMD64, key: first?.key, wheels: 1 }])
  const entries = entriesOf(svc, cacheKey, AMD64)
  expect(entries).toHaveLength(2)
  const newest = entries[1]?.key ?? ''
  expect(newest).not.toBe(first?.key)
  expectHashedKey(newest, cacheKey, AMD64)
  // Same fingerprint, another wheel set: only the last hash differs.
  expect(newest.slice(0, -13)).toBe(first?.key.slice(0, -13))
  expect(bumped.meta?.cache.saved).toEqual([{ platform: AMD64, key: newest, wheels: 1 }])

  const next = await build(svc, await makeWorkspace('1.0.1'), cacheKey, { name: 'bump-next' })
  expectGreen(next)
  expect(next.outputs['cache-hit']).toBe('true')
  expect(next.meta?.cache.restored).toEqual([{ platform: AMD64, key: newest, wheels: 1 }])
  expect(builtOn(next, AMD64)).toEqual([ownWheel(AMD64)])
  expect(compiled(next, 'wsa-service')).toBe(false)
  expect(entriesOf(svc, cacheKey, AMD64)).toHaveLength(2)
  expect(calls(svc, 'CreateCacheEntry', next.firstRequest)).toBe(0)
})

describe('4. linux/amd64 + linux/arm/v7: the warm run compiles only the own wheel on each', () => {
  const platforms = [AMD64, ARM]
  const cacheKey = uniqueKey('multi')
  let svc: CacheService
  let cold: WheelRun | undefined

  beforeAll(async () => {
    svc = await serve()
  })

  test('cold: both wheels compiled on each platform, one entry per platform', async () => {
    cold = await build(svc, await makeWorkspace(), cacheKey, { platforms })
    expectGreen(cold)
    expect(cold.outputs['cache-hit']).toBe('false')
    for (const p of platforms) {
      expect(builtOn(cold, p)).toEqual([ownWheel(p), depWheel(p)])
      const entries = entriesOf(svc, cacheKey, p)
      expect(entries).toHaveLength(1)
      expectHashedKey(entries[0]?.key ?? '', cacheKey, p)
    }
    expect(cold.outputs['wheels-built']).toBe('4')
    expect(svc.entries()).toHaveLength(2)
    for (const p of platforms) {
      const line = `${p} cold: wheel step ${wheelSeconds(cold, p)} s`
      console.log(line)
      report.push(line)
    }
    report.push(`amd64+arm/v7 cold: run ${cold.seconds} s`)
  })

  test('warm: cache-hit, only wsa_derived compiled on each platform, nothing saved', async () => {
    expect(cold).toBeDefined() // continues the cold test
    const before = svc.entries()
    const warm = await build(svc, await makeWorkspace(), cacheKey, { platforms })
    expectGreen(warm)
    expect(warm.outputs['cache-hit']).toBe('true')
    for (const p of platforms) {
      expect(builtOn(warm, p)).toEqual([ownWheel(p)])
      const key = entriesOf(svc, cacheKey, p)[0]?.key
      expect(warm.meta?.cache.restored).toContainEqual({ platform: p, key, wheels: 1 })
    }
    expect(compiled(warm, 'wsa-service')).toBe(false)
    expect(warm.outputs['wheels-built']).toBe('2')
    expect(Number(warm.outputs['wheels-reused'])).toBeGreaterThanOrEqual(2)
    expect(svc.entries()).toEqual(before)
    for (const p of platforms) {
      const line = `${p} wheel step: cold ${cold && wheelSeconds(cold, p)} s, warm ${wheelSeconds(warm, p)} s`
      console.log(line)
      report.push(line)
    }
    report.push(`amd64+arm/v7 warm: run ${warm.seconds} s`)
  })
})

describe('5. a cache that fails is a warning and a cold, green build', () => {
  /** Green, no error annotation, a warning about the cache, wsa_service compiled again. */
  function expectColdGreen(run: WheelRun, what: string): void {
    expectGreen(run)
    // The failed restore itself is reported (not only the save that follows), and the cache is named.
    expect(run.warnings.filter((w) => /restore/i.test(w))).not.toEqual([])
    expect(run.warnings.filter((w) => /cache/i.test(w))).not.toEqual([])
    expect(run.outputs['cache-hit']).toBe('false')
    expect(builtOn(run, AMD64)).toEqual([ownWheel(AMD64), depWheel(AMD64)])
    expect(compiled(run, 'wsa-service')).toBe(true)
    expect(run.meta?.cache.restored).toEqual([{ platform: AMD64, wheels: 0 }])
    const line = `fault ${what}: green in ${run.seconds} s; warnings: ${JSON.stringify(run.warnings)}`
    console.log(line)
    report.push(line)
  }

  test("'down': nothing listens on the service's port", async () => {
    const svc = await serve()
    await svc.stop()
    const run = await build(svc, await makeWorkspace(), uniqueKey('down'))
    expectColdGreen(run, 'down')
    expect(svc.requests).toEqual([])
  })

  test("'error': every call answers 500 (the client retries each ~30 s)", async () => {
    const svc = await serve('error')
    const run = await build(svc, await makeWorkspace(), uniqueKey('error'))
    expectColdGreen(run, 'error')
    expect(calls(svc, 'GetCacheEntryDownloadURL')).toBeGreaterThan(1) // retried
    expect(svc.entries()).toEqual([])
  })

  test("'hang': calls never answered; WHEEL_SLIM_CACHE_TIMEOUT_SECONDS=10 bounds them", async () => {
    const svc = await serve('hang')
    const run = await build(svc, await makeWorkspace(), uniqueKey('hang'), {
      env: { WHEEL_SLIM_CACHE_TIMEOUT_SECONDS: '10' },
      timeoutMs: 10 * 60_000
    })
    expectColdGreen(run, 'hang')
    // A liveness check, not a benchmark: the library alone would wait forever.
    expect(run.seconds).toBeLessThan(300)
    expect(run.warnings.some((w) => /(lookup|restore) took longer than 10 s/.test(w))).toBe(true)
    expect(svc.entries()).toEqual([])
  })

  test("'corrupt': an entry that cannot be restored is replaced by the next good run, which later runs restore", async () => {
    const svc = await serve()
    const cacheKey = uniqueKey('corrupt')
    const seed = await build(svc, await makeWorkspace(), cacheKey, { name: 'corrupt-seed' })
    expectGreen(seed)
    const before = svc.entries()
    expect(before).toHaveLength(1)

    await svc.setFault('corrupt')
    const ws = await makeWorkspace()
    // Left over from an earlier job on this runner: must not reach pip, must not survive.
    const restoreDir = path.join(ws, '.wheel-slim-cache', slug(AMD64))
    await mkdir(restoreDir, { recursive: true })
    const stale = depWheel(AMD64, '9.9.9')
    await writeFile(path.join(restoreDir, stale), randomBytes(64))
    const run = await build(svc, ws, cacheKey, { name: 'corrupt-run' })
    expectColdGreen(run, 'corrupt')
    expect(run.warnings).toContain(
      `Wheel cache for linux/amd64: ${before[0]?.key} could not be restored (building cold); this run replaces it`
    )
    // The blob was downloaded (so extraction, not the lookup, failed)…
    expect(
      svc.requests.slice(run.firstRequest).filter((r) => r.path.startsWith('/actions-cache/'))
    ).not.toEqual([])
    // …nothing of it, nor the stale file, was used or kept…
    expect(existsSync(path.join(restoreDir, stale))).toBe(false)
    expect(builtOn(run, AMD64)).not.toContain(stale)
    // …and the good wheels went in under a key of their own, newer than the bad one.
    const after = svc.entries()
    expect(after).toHaveLength(2)
    const replacement = after[1]?.key ?? ''
    expect(replacement.startsWith(`${before[0]?.key}-`)).toBe(true)

    await svc.setFault('none')
    const next = await build(svc, await makeWorkspace(), cacheKey, { name: 'corrupt-next' })
    expectGreen(next)
    expect(next.outputs['cache-hit']).toBe('true')
    expect(next.meta?.cache.restored).toEqual([{ platform: AMD64, key: replacement, wheels: 1 }])
    expect(compiled(next, 'wsa-service')).toBe(false)
  })
})

test('5b. a restore takes only entries of its own fingerprint: other pip arguments build cold', async () => {
  const svc = await serve()
  const cacheKey = uniqueKey('fingerprint')
  const seed = await build(svc, await makeWorkspace(), cacheKey, { name: 'fingerprint-seed' })
  expectGreen(seed)
  expect(entriesOf(svc, cacheKey, AMD64)).toHaveLength(1)
  // Same platform and prefix, another fingerprint: the entry above is not for it.
  const other = await build(svc, await makeWorkspace(), cacheKey, {
    name: 'fingerprint-other',
    inputs: { 'pip-args': `${BASE_INPUTS['pip-args']} --pre` }
  })
  expectGreen(other)
  expect(other.outputs['cache-hit']).toBe('false')
  expect(other.meta?.cache.restored).toEqual([{ platform: AMD64, wheels: 0 }])
  expect(compiled(other, 'wsa-service')).toBe(true)
  // It saved an entry of its own fingerprint beside the first.
  const entries = entriesOf(svc, cacheKey, AMD64)
  expect(entries).toHaveLength(2)
  expect(entries[1]?.key.slice(0, -13)).not.toBe(entries[0]?.key.slice(0, -13))
})

test('6. a failed build saves nothing', async () => {
  const svc = await serve()
  const run = await build(svc, await makeWorkspace(), uniqueKey('failed'), {
    inputs: { 'smoke-test': 'exit 3' }
  })
  expect(run.exitCode).not.toBe(0)
  expect(run.errors.join('\n')).toMatch(/Smoke test failed on linux\/amd64 \(exit 3\)/)
  // The service was reached (restore looked up the key) but asked to store nothing.
  expect(calls(svc, 'GetCacheEntryDownloadURL')).toBe(1)
  expect(calls(svc, 'CreateCacheEntry')).toBe(0)
  expect(calls(svc, 'FinalizeCacheEntryUpload')).toBe(0)
  expect(svc.requests.filter((r) => r.method === 'PUT')).toEqual([])
  expect(svc.entries()).toEqual([])
})

test('7. two jobs saving the same key at once: both green, one entry', async () => {
  const svc = await serve()
  const cacheKey = uniqueKey('race')
  const [wsA, wsB] = [await makeWorkspace(), await makeWorkspace()]
  const runs = await Promise.all([
    build(svc, wsA, cacheKey, { name: 'race-a' }),
    build(svc, wsB, cacheKey, { name: 'race-b' })
  ])
  for (const run of runs) expectGreen(run)
  const entries = entriesOf(svc, cacheKey, AMD64)
  expect(entries).toHaveLength(1)
  expect(svc.entries()).toHaveLength(1)
  const savedKey = (run: WheelRun) => run.meta?.cache.saved[0]?.key
  const winners = runs.filter((r) => savedKey(r) !== undefined)
  const losers = runs.filter((r) => savedKey(r) === undefined)
  expect(winners).toHaveLength(1)
  expect(savedKey(winners[0] as WheelRun)).toBe(entries[0]?.key)
  expect(losers).toHaveLength(1)
  const loser = losers[0] as WheelRun
  expect(loser.warnings.some((w) => /not saved/.test(w))).toBe(true)
  report.push(`race: loser's warnings ${JSON.stringify(loser.warnings)}`)
})

test('8. cache: false never talks to the service and still builds', async () => {
  const svc = await serve()
  const ws = await makeWorkspace()
  const run = await build(svc, ws, uniqueKey('off'), { inputs: { cache: 'false' } })
  expectGreen(run)
  expect(svc.requests).toEqual([])
  expect(run.outputs['cache-hit']).toBe('false')
  expect(builtOn(run, AMD64)).toEqual([ownWheel(AMD64), depWheel(AMD64)])
  expect(run.meta?.cache).toEqual({ restored: [], saved: [] })
  expect(existsSync(path.join(ws, '.wheel-slim-cache'))).toBe(false)
})
