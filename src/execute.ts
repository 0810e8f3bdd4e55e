/**
 * Carries out a BuildPlan on the real engine, in this order: engine (QEMU, builder) → wheel
 * cache restore → one build of every target and platform → smoke test of every platform →
 * push the tested images under the run's own tag → verify them → only then move the other
 * tags → wheel cache save. A failure or a cancel anywhere leaves every other tag where it was.
 * What execution learns travels in its result; the plan is not changed.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import * as core from '@actions/core'
import { mergeWheelSteps, parseWheelSteps, WheelSteps } from './build-log.js'
import { bakeArgv, BakeTarget, bakeDefinition, bakeFile, buildArgv, Delivery } from './buildx.js'
import { checkNotCancelled, Cleanup } from './cleanup.js'
import { keptBack, logMoves, movedSince, snapshot, TagMove } from './tag-moves.js'
import { docker, DockerError } from './docker.js'
import { lastLines } from './output.js'
import { Engine, setUpEngine } from './engine.js'
import { sharedResolve } from './dockerfile.js'
import { BuildPlan } from './plan.js'
import {
  localDigest,
  platformManifests,
  pointTags,
  pushedSizes,
  pushLocal,
  remoteDigest,
  repositoryOf,
  verify
} from './registry.js'
import { checkParent } from './parent.js'
import {
  CACHE_ROOT,
  exportDir,
  exportedWheels,
  Restored,
  restoreWheels,
  Saved,
  saveWheels
} from './wheel-cache.js'
import { cacheKeys, platformSlug } from './wheel-cache-keys.js'

export interface PlatformResult {
  platform: string
  /** How this host ran the platform's steps and tests. */
  runs: 'native' | 'emulated'
  /** Where the wheels came from: found on the build host, or compiled on the target. */
  path: 'build host' | 'target' | 'unknown'
  /** Why the target had to compile (empty on the build-host path). */
  reason: string
  steps: WheelSteps
  built: string[]
  /** Wheels taken from the wheel cache or the parent. */
  reused: string[]
  wheels: string[]
  /** Debian packages the runtime stage installed, and why (an input, or the wheels needing them). */
  runtimePackages: Record<string, string[]>
  /** Seconds of this platform's smoke test and the check that every compiled module loads. */
  testSeconds: number
  /** Digest of this platform's image in the pushed slim index. */
  manifest?: string
  /** Compressed layers of the pushed slim and base images: what a pull downloads. */
  pushedSlimBytes?: number
  pushedBaseBytes?: number
  smokeOutput: string
}

/** Seconds spent in each phase of the run. */
export interface Timings {
  setup: number
  restore: number
  build: number
  smoke: number
  push: number
  save: number
}

export interface BuildResult {
  platforms: PlatformResult[]
  pushed: boolean
  digest: string
  baseDigest: string
  moves: TagMove[]
  cacheHit: boolean
  restored: Restored[]
  saved: Saved[]
  timings: Timings
}

const seconds = (since: number): number => Math.round((Date.now() - since) / 100) / 10

async function timed<T>(timings: Timings, phase: keyof Timings, fn: () => Promise<T>): Promise<T> {
  const started = Date.now()
  try {
    return await fn()
  } finally {
    timings[phase] = seconds(started)
  }
}

interface Built {
  steps: Map<string, WheelSteps>
  /** Digests of the slim and base images as the builder produced them ('' when not built). */
  runtime: string
  base: string
  /** What each platform's smoke test runs: a local image, or the pushed digest. */
  testRefs: Record<string, string>
}

/** A build the stage script refused (images that do not fit, ...) fails with its own words. */
async function refusalsFirst<T>(build: Promise<T>): Promise<T> {
  try {
    return await build
  } catch (error) {
    const log = error instanceof DockerError ? error.result.stdout + error.result.stderr : ''
    const refusal = /wheel-slim: ERROR: (.*)/.exec(log)?.[1]
    if (refusal) throw new Error(`${refusal}\nNothing was built or pushed.`, { cause: error })
    if (/no space left on device/i.test(log)) {
      throw new Error(
        `The build ran out of disk space (no space left on device), in the runner's temp directory (RUNNER_TEMP) or the engine's. Nothing was pushed or saved.`,
        { cause: error }
      )
    }
    throw error
  }
}

/** How this run's images leave the builder (see Delivery). */
function deliveryOf(plan: BuildPlan, engine: Engine): Delivery {
  if (engine.delivery === 'load') {
    return {
      kind: 'load',
      runtimeTag: plan.local.runtime,
      baseTag: plan.push.push ? plan.local.base : undefined
    }
  }
  if (plan.push.push) {
    const repository = plan.repositories[0] ?? ''
    return { kind: 'digest', runtimeRepository: repository, baseRepository: repository }
  }
  const tags = plan.platforms.map((p) => [p, `${plan.local.runtime}-${platformSlug(p)}`])
  return { kind: 'load-each', runtimeTags: Object.fromEntries(tags) as Record<string, string> }
}

/** The one build: every target and platform, one bake call (one buildx build per target with a network). */
async function build(plan: BuildPlan, engine: Engine, cleanup: Cleanup): Promise<Built> {
  const delivery = deliveryOf(plan, engine)
  if (delivery.kind === 'load')
    cleanup.images(delivery.runtimeTag, ...(delivery.baseTag ? [delivery.baseTag] : []))
  if (delivery.kind === 'load-each') cleanup.images(...Object.values(delivery.runtimeTags))
  const bake = bakeDefinition(plan.common, plan.platforms, delivery, plan.files.wheelsOut)
  writeFileSync(plan.files.bake, bakeFile(bake))
  let steps: Map<string, WheelSteps>
  let meta: Record<string, Record<string, unknown>> = {}
  // One resolve step for every platform of the plan, when the Dockerfile lists them.
  const resolveServes = sharedResolve(plan.spec) ? plan.platforms : []
  const targetPlatforms = Object.fromEntries(
    Object.entries(bake.target).map(([name, t]) => [name, t.platforms])
  )
  if (plan.common.network === 'default') {
    // Bake reads files outside the working directory (Dockerfile, contexts) only when allowed.
    const r = await refusalsFirst(
      docker(bakeArgv(plan.files.bake, plan.files.metadata, engine.builder), {
        env: { BUILDX_BAKE_ENTITLEMENTS_FS: '0' }
      })
    )
    steps = parseWheelSteps(r.stderr, plan.platforms, targetPlatforms, resolveServes)
    meta = JSON.parse(readFileSync(plan.files.metadata, 'utf8')) as typeof meta
  } else {
    // Each build numbers its steps from #1: each log is read on its own.
    const logs: Map<string, WheelSteps>[] = []
    for (const [name, target] of Object.entries(bake.target)) {
      const file = `${plan.files.metadata}.${name}`
      const r = await refusalsFirst(docker(buildArgv(target, file, engine.builder)))
      logs.push(parseWheelSteps(r.stderr, target.platforms, {}, resolveServes))
      meta[name] = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
    }
    steps = mergeWheelSteps(logs)
  }
  const digest = (target: string): string => String(meta[target]?.['containerimage.digest'] ?? '')
  const runtime = digest('runtime')
  const testRefs = Object.fromEntries(
    plan.platforms.map((p) => [
      p,
      delivery.kind === 'load'
        ? delivery.runtimeTag
        : delivery.kind === 'digest'
          ? `${delivery.runtimeRepository}@${runtime}`
          : (delivery.runtimeTags[p] as string)
    ])
  )
  return { steps, runtime, base: digest('base'), testRefs }
}

/**
 * One target of the (cached) build again, through a tarball that `docker load` writes in full
 * (the same OCI media types as the loaded image: the same bytes, so the same digest).
 */
async function reload(plan: BuildPlan, engine: Engine, target: 'runtime' | 'base'): Promise<void> {
  const delivery: Delivery = {
    kind: 'load',
    runtimeTag: plan.local.runtime,
    baseTag: plan.local.base
  }
  const t = bakeDefinition(plan.common, plan.platforms, delivery).target[target] as BakeTarget
  const tar = join(plan.files.wheelsOut, `..`, `${target}.tar`)
  const argv = buildArgv(
    { ...t, output: [`type=oci,oci-mediatypes=true,dest=${tar}`] },
    `${plan.files.metadata}.reload-${target}`,
    engine.builder
  )
  await docker(argv)
  await docker(['load', '--input', tar])
  rmSync(tar, { force: true })
}

interface WheelReport {
  path: 'build host' | 'target'
  reason: string
  wheels: string[]
  built: string[]
  reused: string[]
  runtime_packages_why: Record<string, string[]>
}

interface Unloadable {
  module: string
  file: string
  missing: string[]
}

/**
 * One container per platform: the user's smoke test, then the check that every compiled module
 * installed in the image finds its shared libraries with the image's own dynamic loader, whatever
 * the smoke test imports. Both scripts travel as environment variables, never in a shell string.
 */
async function testPlatform(
  plan: BuildPlan,
  platform: string,
  image: string
): Promise<{ output: string; seconds: number }> {
  const started = Date.now()
  const check = readFileSync(new URL('./tools/check_libs.py', import.meta.url), 'utf8')
  // A line of its own, with a run-specific word: no smoke test's output is taken for it.
  const mark = `@@wheel-slim: compiled modules ${randomBytes(8).toString('hex')}@@`
  // The two side by side (each an emulated Python start-up on a foreign platform); the smoke
  // test's output streams, the check's is held and printed after the mark.
  const script = `sh -c "$WHEEL_SLIM_SMOKE_TEST" & s=$!; c=$(python3 -c "$WHEEL_SLIM_CHECK"); r=$?; wait $s || exit $?; echo; echo "$WHEEL_SLIM_MARK"; [ -z "$c" ] || printf '%s\\n' "$c"; exit $r`
  const run = await docker(
    [
      'run',
      '--rm',
      '--platform',
      platform,
      '--entrypoint',
      '/bin/sh',
      '--env',
      `WHEEL_SLIM_SMOKE_TEST=${plan.smokeTest}`,
      '--env',
      `WHEEL_SLIM_CHECK=${check}`,
      '--env',
      `WHEEL_SLIM_MARK=${mark}`,
      image,
      '-c',
      script
    ],
    { allowFailure: true, silent: true }
  )
  const at = run.stdout.lastIndexOf(`\n${mark}\n`)
  const output = at < 0 ? run.stdout : run.stdout.slice(0, at)
  const checked = at < 0 ? undefined : run.stdout.slice(at + mark.length + 2)
  if (checked === undefined) {
    const tail = lastLines(run.stderr || run.stdout, 10)
    const hint =
      plan.defaultSmokeTest && /ModuleNotFoundError/.test(tail)
        ? `\nThe default smoke test imports "${plan.package.module}", the module of input "module" (default: the package name with "-" → "_"): set "module" to the package's import name.`
        : ''
    throw new Error(
      `Smoke test failed on ${platform} (exit ${run.exitCode}): ${plan.smokeTest}\n${tail}${hint}\nNothing was pushed.`
    )
  }
  const found = run.exitCode === 0 ? (JSON.parse(checked) as Unloadable[]) : undefined
  if (!found) {
    throw new Error(
      `Could not check the compiled modules on ${platform}: ${(run.stderr || checked).trim()}\nNothing was pushed.`
    )
  }
  if (found.length > 0) {
    const what = found
      .map((u) => `module ${u.module} (${u.file}) needs ${u.missing.join(', ')}`)
      .join('; ')
    const fix = plan.spec.autoRuntimePackages
      ? 'No Debian package in the build stage ships it: add the package to runtime-packages (and its -dev package to build-packages).'
      : 'Add the Debian package that ships it to runtime-packages, or set auto-runtime-packages: true to let the action find it.'
    throw new Error(
      `Compiled modules cannot load on ${platform}, the image lacks a shared library: ${what}. ${fix}\nNothing was pushed.`
    )
  }
  return { output: output.trim(), seconds: seconds(started) }
}

function wheelReport(plan: BuildPlan, platform: string): WheelReport | undefined {
  const dir = exportDir(plan.files.wheelsOut, platform, plan.platforms)
  const file = join(dir, 'wheel-slim.json')
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as WheelReport) : undefined
}

/** Every ref a push writes, in order: the run's own refs first, then every other tag. */
function refsOf(plan: BuildPlan): { early: string[]; late: string[] } {
  const early = [...plan.runRefs.base, ...plan.runRefs.slim]
  const late = [...plan.baseTags, ...plan.slimTags].filter((r) => !early.includes(r))
  return { early, late }
}

/**
 * Pushes what was tested and points the tags. Loaded images go to the registry under the run's
 * own tag and must come back with the tested digest; pushed-by-digest images are already there.
 * Only then do the other tags move, each read back; a floating tag (latest, X, X.Y) only to a
 * higher version. A loaded image is pushed under each tag (fast: its blobs are there) rather
 * than copied by imagetools, which wraps a lone single-platform manifest in a new index.
 */
async function push(
  plan: BuildPlan,
  built: Built,
  delivery: Delivery['kind'],
  cleanup: Cleanup,
  reload: (target: 'runtime' | 'base') => Promise<void>,
  verified: () => void
): Promise<{ digest: string; baseDigest: string; moves: TagMove[] }> {
  const { early, late } = refsOf(plan)
  const isBase = (ref: string): boolean =>
    plan.baseTags.includes(ref) || plan.runRefs.base.includes(ref)
  const [before, local] = await Promise.all([
    snapshot([...early, ...late]),
    delivery === 'load'
      ? Promise.all([localDigest(plan.local.runtime), localDigest(plan.local.base)])
      : undefined
  ])
  const [digest, baseDigest] = local ?? [built.runtime, built.base]
  // Which floating tags stay depends only on where they are now: read beside the push.
  const keeping = keptBack(plan.floating, plan.version, before)
  keeping.catch(() => undefined) // awaited below, once the push is verified
  const want = (ref: string): string => (isBase(ref) ? baseDigest : digest)
  const what = (ref: string): string =>
    isBase(ref) ? 'base image built in this run' : 'slim image that passed the smoke tests'
  // The engine's store may lack content of an image rebuilt right after an identical one was
  // removed (its garbage collector races the exporter): load it again from a tarball of the
  // same, cached build. The digest must not change.
  const pushTested = async (ref: string): Promise<void> => {
    const local = isBase(ref) ? plan.local.base : plan.local.runtime
    cleanup.images(ref)
    if (!(await pushLocal(local, ref))) {
      core.info(
        `${local}: the engine lost some of its content; loading it again from the build cache`
      )
      await reload(isBase(ref) ? 'base' : 'runtime')
      if ((await localDigest(local)) !== want(ref))
        throw new Error(`${local} changed when loaded again`)
      if (!(await pushLocal(local, ref)))
        throw new Error(`${local}: content still missing after loading it again`)
    }
    await verify(ref, want(ref), what(ref))
  }

  // The base and the slim image are two indexes with no manifest in common: they go side by side.
  // The refs of one index go one at a time: concurrent pushes of one index to several tags race
  // in the registry (an index PUT can arrive before its manifests are linked: 400).
  const eachIndex = (refs: string[], fn: (ref: string) => Promise<void>): Promise<void> =>
    settled(
      [refs.filter(isBase), refs.filter((r) => !isBase(r))].map(async (chain) => {
        for (const ref of chain) await fn(ref)
      })
    )

  checkNotCancelled('pushing')
  if (delivery === 'load') {
    await eachIndex(early, pushTested)
  } else {
    for (const repo of plan.repositories) {
      await settled([
        verify(`${repo}@${digest}`, digest, what('')),
        verify(`${repo}@${baseDigest}`, baseDigest, what(plan.runRefs.base[0] ?? ''))
      ])
    }
  }
  // Every image of the run is in the registry and verified: now the other tags may move.
  verified()
  const kept = await keeping
  const moving = late.filter((r) => !kept.has(r))
  try {
    checkNotCancelled('moving tags')
    if (delivery === 'load' && plan.platforms.length === 1) {
      await eachIndex(moving, pushTested)
    } else {
      // An index is copied registry-side (one call per repository and image, same digest); the
      // run's own refs, already there, are only read back.
      for (const repo of plan.repositories) {
        const mine = [...(delivery === 'load' ? [] : early), ...moving].filter(
          (r) => repositoryOf(r) === repo
        )
        await settled([
          pointTags(mine.filter(isBase), `${repo}@${baseDigest}`, baseDigest, before),
          pointTags(
            mine.filter((r) => !isBase(r)),
            `${repo}@${digest}`,
            digest,
            before
          )
        ])
      }
    }
  } catch (error) {
    const moved = await movedSince(late, before)
    const message = error instanceof Error ? error.message : String(error)
    throw new Error(
      `${message}\nTags moved before the failure: ${moved.length > 0 ? moved.join(', ') : 'none'}; every other tag is where it was.`,
      { cause: error }
    )
  }
  const moves: TagMove[] = [...early, ...late].map((ref) => ({
    ref,
    from: before.get(ref),
    to: kept.has(ref) ? (before.get(ref) as string) : want(ref),
    ...(kept.has(ref) ? { kept: kept.get(ref) } : {})
  }))
  logMoves(moves)
  return { digest, baseDigest, moves }
}

/** Waits for every one (none is left running behind a failure), then throws the first error. */
async function settled(work: Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((r) => r.status === 'rejected')
  if (failed) throw failed.reason
}

/** A measurement that fails after a good push is a warning and an empty field, not a red run. */
async function measured<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn()
  } catch (error) {
    core.warning(
      `${what} could not be measured: ${error instanceof Error ? error.message : String(error)}`
    )
    return undefined
  }
}

export async function execute(
  plan: BuildPlan,
  qemuImage: string,
  runKey: string,
  cleanup: Cleanup
): Promise<BuildResult> {
  const timings: Timings = { setup: 0, restore: 0, build: 0, smoke: 0, push: 0, save: 0 }
  // Before any compile, beside the engine's set-up: the parent fits, then the registry lets this
  // runner in.
  const checks = (async (): Promise<void> => {
    if (plan.spec.fromParent) {
      await checkParent(plan.spec.buildFrom, plan.platforms, plan.spec.wheelDir, plan.pythonVersion)
    }
    if (plan.push.push && plan.slimTags[0]) await remoteDigest(plan.slimTags[0])
  })()
  checks.catch(() => undefined) // awaited below, after the set-up
  const engine = await timed(timings, 'setup', () =>
    core.group('Set up QEMU and buildx', () =>
      setUpEngine(
        plan.platforms,
        qemuImage,
        plan.spec.runtimeFrom,
        plan.common.network,
        runKey,
        cleanup
      )
    )
  )

  await checks

  const cacheDir = plan.files.wheelCache
  let restored: Restored[] = []
  if (cacheDir && plan.cache) {
    const { prefix, fingerprint } = plan.cache
    if (plan.spec.hashes) {
      core.info(
        'Wheel cache: not used, the requirements pin hashes that a locally built wheel never matches.'
      )
      mkdirSync(cacheDir, { recursive: true })
    } else {
      // Restored entries land in the workspace (see restoreDir): gone with the run's other files.
      cleanup.dir(resolve(CACHE_ROOT))
      restored = await timed(timings, 'restore', () =>
        core.group('Restore the wheel cache', () =>
          restoreWheels(
            plan.platforms.map((p) => cacheKeys(prefix, p, fingerprint)),
            cacheDir
          )
        )
      )
    }
  }

  const saving = plan.cacheSave.save && restored.length > 0
  const built = await timed(timings, 'build', () =>
    core.group(`Build ${plan.platforms.join(', ')}`, () => build(plan, engine, cleanup))
  )
  const steps = built.steps

  const smoke = await timed(timings, 'smoke', () =>
    core.group('Smoke-test every platform and check its compiled modules load', () =>
      Promise.all(plan.platforms.map((p) => testPlatform(plan, p, built.testRefs[p] as string)))
    )
  )
  const results: PlatformResult[] = plan.platforms.map((platform, i) => {
    const report = wheelReport(plan, platform)
    core.info(
      `${platform}: smoke test passed and every compiled module loads (${smoke[i]?.seconds} s); wheels ${report ? (report.path === 'build host' ? 'all found on the build host, nothing emulated' : `compiled on the target: ${report.reason}`) : 'not reported'}`
    )
    for (const [pkg, why] of Object.entries(report?.runtime_packages_why ?? {})) {
      core.info(`${platform}: runtime package ${pkg} installed for ${why.join(', ')}`)
    }
    return {
      platform,
      runs: engine.runs[platform] ?? 'emulated',
      path: report?.path ?? 'unknown',
      reason: report?.reason ?? '',
      steps: steps.get(platform) ?? {},
      built: report?.built ?? [],
      reused: report?.reused ?? [],
      wheels: report?.wheels ?? [],
      runtimePackages: report?.runtime_packages_why ?? {},
      testSeconds: smoke[i]?.seconds ?? 0,
      smokeOutput: smoke[i]?.output ?? ''
    }
  })

  let pushed = { digest: '', baseDigest: '', moves: [] as TagMove[] }
  if (plan.push.push) {
    // Read back from the run's own refs while the other tags move: they are verified then.
    const first = plan.runRefs.slim[0] as string
    const readBack = () =>
      Promise.all([
        measured('The pushed platform manifests', () => platformManifests(first)),
        measured('The pushed slim image size', () => pushedSizes(first)),
        measured('The pushed base image size', () => pushedSizes(plan.runRefs.base[0] as string))
      ])
    let reading: ReturnType<typeof readBack> | undefined
    pushed = await timed(timings, 'push', () =>
      core.group('Push the tested images, then move the tags', () =>
        push(
          plan,
          built,
          engine.delivery,
          cleanup,
          (target) => reload(plan, engine, target),
          () => (reading = readBack())
        )
      )
    )
    const [manifests, slim, base] = await (reading ?? readBack())
    for (const r of results) {
      r.manifest = manifests?.get(r.platform)
      r.pushedSlimBytes = slim?.get(r.platform) ?? slim?.get('')
      r.pushedBaseBytes = base?.get(r.platform) ?? base?.get('')
    }
  } else core.info(`Not pushing: ${plan.push.reason}.`)

  let saved: Saved[] = []
  if (plan.cache && !plan.spec.hashes) {
    if (!plan.cacheSave.save) core.info(`Wheel cache ${plan.cacheSave.reason}.`)
    else if (saving) {
      checkNotCancelled('saving the wheel cache')
      const exported = new Map(
        plan.platforms.map((p) => [p, exportedWheels(plan.files.wheelsOut, p, plan.platforms)])
      )
      saved = await timed(timings, 'save', () =>
        core.group('Save the wheel cache', () =>
          saveWheels(restored, exported, plan.package.name, runKey)
        )
      )
    }
  }
  const cacheHit =
    restored.length > 0 &&
    restored.every((r) => r.matchedKey?.startsWith(`${r.keys.primary}-`) === true)
  return {
    platforms: results,
    pushed: plan.push.push,
    ...pushed,
    cacheHit,
    restored,
    saved,
    timings
  }
}

/** pip.conf carrying extra-index-url: passed as a build secret, never in a layer or the log. */
export function writePipConf(file: string, extraIndexUrl: string): void {
  writeFileSync(file, `[global]\nextra-index-url = ${extraIndexUrl}\n`, { mode: 0o600 })
}

/** The stage script, next to the Dockerfile, as the named build context it is mounted from. */
export function writeTools(dir: string): void {
  mkdirSync(dir, { recursive: true })
  // Each name literally, so that the bundler ships the files next to dist/index.js.
  const scripts = {
    'wheel_slim.py': readFileSync(new URL('./tools/wheel_slim.py', import.meta.url), 'utf8'),
    'system_libs.py': readFileSync(new URL('./tools/system_libs.py', import.meta.url), 'utf8')
  }
  for (const [name, text] of Object.entries(scripts)) writeFileSync(join(dir, name), text)
}
