// The benchmark: the WHOLE run of the action (bundled dist/, its main step run as the GitHub
// runner runs it) against the seed's Dockerfile and the idiomatic peer setup (their one
// `docker buildx build --platform linux/amd64,linux/arm/v7 --push` call), on the real engine,
// registry and a local Actions cache service. `npm run bench` (provisions first).
//
//   (a) action cold: empty wheel cache, fresh build cache
//   (b) action warm: the wheel cache (a) saved restored, the app's own code changed (a new
//       app version), fresh build cache: the realistic CI case
//   (c) action, one dependency bumped (wsb-fast2 to its next minor), fresh build cache
//   (d) action, derived image: parent = (b)'s base image, its own empty wheel cache
//   (e) the seed's Dockerfile, fresh build cache
//   (f) peer: requirements layer first; cold (fresh build cache), then with its layer cache
//       kept: the same app change as (b), the same bump as (c)
//   (g) small pair: a pure-Python app on one compiled dependency: seed cold, action cold, warm
//
// "Fresh build cache" = `docker buildx prune -af` first. Around every scenario a sampler reads
// the CPU seconds of emulated (QEMU) processes from /proc (bench/emulation.ts).
//
// The app's own dist/ holds what `python -m build` writes: its sdist and its pure-Python
// `py3-none-any` wheel. The compiled dependencies (wsb-fastN) and wsb-derived (a C extension)
// come as sdists only, as PyPI sdists of packages without armv7 wheels. No index server, no
// network: the action's workspaces hold the dependency sdists in dist/ beside the package's own
// (`package` names the one to build), the baselines get them as the named build context `deps`
// (PyPI's stand-in), and every pip call runs with --no-index.
//
// A report, not a test: the targets print PASS/FAIL, the exit code only says whether every
// scenario ran. Results: stdout, bench/results/latest.json, bench/RESULTS.md.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startCacheService, type CacheService } from '../e2e/support/cache-service.js'
import { docker, dockerBin, runImage } from '../e2e/support/docker.js'
import { REGISTRY } from '../e2e/support/registry.js'
import { runAction, type ActionRun } from '../e2e/support/runner.js'
import { runCleanup, type CleanupState } from '../src/cleanup.js'
import { State } from '../src/constants.js'
import type { PlatformResult, Timings } from '../src/execute.js'
import { wheelStepsByPlatform } from './buildx-log.js'
import {
  DEPS_CONTEXT,
  type Images,
  peerDockerfile,
  referenceDockerfile,
  seedDockerfile
} from './dockerfiles.js'
import { type Emulation, sampled } from './emulation.js'
import {
  type BenchResults,
  type Bound,
  computeTargets,
  type PlatformRow,
  renderTable,
  resultsMarkdown,
  type ScenarioResult
} from './report.js'
import { BENCH_FIXTURES, buildSdists, distFiles, type Sdist } from './sdists.js'
import { pushedSize } from './sizes.js'

const PLATFORMS = ['linux/amd64', 'linux/arm/v7']
const MACHINE: Record<string, string> = { 'linux/amd64': 'x86_64', 'linux/arm/v7': 'armv7l' }
const IMAGES: Images = { builder: `${REGISTRY}/python:3.11`, slim: `${REGISTRY}/python:3.11-slim` }
const WHEEL_DIR = '/wheeley'
const { app: APP, mini: MINI, derived: DERIVED } = BENCH_FIXTURES
/** The action's pip-args: dist/ (its --find-links) is the only source, as in e2e/wheel-cache. */
const ACTION_PIP_ARGS = '--no-index --no-build-isolation'

const BENCH_DIR = fileURLToPath(new URL('./', import.meta.url))
const RESULTS_DIR = path.join(BENCH_DIR, 'results')
const WORK_DIR = path.join(RESULTS_DIR, 'work')

const runId = randomBytes(4).toString('hex')
const repository = `${REGISTRY}/bench-${runId}`
const runDir = path.join(WORK_DIR, `run-${runId}`)
const logDir = path.join(runDir, 'logs')

const say = (msg: string): void => console.log(`bench: ${msg}`)
const since = (t: number): number => Math.round((Date.now() - t) / 100) / 10
const loadAverage = (): number[] => os.loadavg().map((l) => Math.round(l * 100) / 100)
const normalize = (name: string): string => name.toLowerCase().replace(/[-_.]+/g, '_')
/** A wheel file name's project, normalized: `wsb_fast2-1.1.0-cp311-...whl` → `wsb_fast2`. */
const wheelProject = (file: string): string => normalize(file.split('-')[0] ?? '')

/** Another e2e suite on this engine makes every timing noisy; record when one was seen. */
function othersRunning(): boolean {
  return spawnSync('pgrep', ['-f', 'jest -c jest.e2e']).status === 0
}

interface Measured<T> {
  value: T
  seconds: number
  emulation: Emulation
  /** Another e2e suite was seen running meanwhile. */
  busy: boolean
}

/** Runs `work` timed, with the emulation sampler and a look for other e2e suites every 5 s. */
async function measure<T>(work: () => Promise<T>): Promise<Measured<T>> {
  let busy = othersRunning()
  const timer = setInterval(() => {
    busy ||= othersRunning()
  }, 5000)
  try {
    const started = Date.now()
    const { value, emulation } = await sampled(work)
    const seconds = since(started)
    return { value, seconds, emulation, busy: busy || othersRunning() }
  } finally {
    clearInterval(timer)
  }
}

/** A fresh build cache: nothing of an earlier build (ours or anyone's) is reused. */
async function freshBuildCache(): Promise<void> {
  const started = Date.now()
  await docker(['buildx', 'prune', '-af'])
  say(`docker buildx prune -af (${since(started)} s)`)
}

/** One platform's emulated CPU seconds: all of them, and those of build steps. */
const emulatedOn = (e: Emulation, platform: string) => ({
  emulatedSeconds: e.byPlatform[platform] ?? 0,
  buildEmulatedSeconds: e.inBuildByPlatform[platform] ?? 0
})
/** The few emulated processes that used the most CPU, for the JSON. */
const topEmulated = (e: Emulation) =>
  [...e.processes].sort((x, y) => y.seconds - x.seconds).slice(0, 8)

function bumpVersion(v: string): string {
  const [major, minor] = v.split('.')
  return `${major}.${Number(minor ?? 0) + 1}.0`
}

function requirementsText(pins: Record<string, string>): string {
  return Object.entries(pins)
    .map(([p, v]) => `${p}==${v}\n`)
    .join('')
}

/** Makes `dir` hold exactly these releases (each one's sdist, and its wheel when it has one). */
async function setDist(dir: string, sdists: Sdist[]): Promise<void> {
  await setFiles(dir, sdists.flatMap(distFiles))
}

/** Adds these releases' files to `dir`, as a release adds files to PyPI (the older ones stay). */
async function addDist(dir: string, sdists: Sdist[]): Promise<void> {
  for (const f of sdists.flatMap(distFiles)) await copyFile(f, path.join(dir, path.basename(f)))
}

/** Makes `dir` hold exactly these files. */
async function setFiles(dir: string, files: string[]): Promise<void> {
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  for (const f of files) await copyFile(f, path.join(dir, path.basename(f)))
}

// ------------------------------------------------------------------ the action's scenarios

interface ActionScenario {
  id: string
  title: string
  how: string
  workspace: string
  image: string
  tag: string
  ownProject: string
  module: string
  service: CacheService
  parent?: string
  requirements?: string
}

/** The post step's work (the action's own cleanup), outside the main step's timing. */
async function postStep(run: ActionRun): Promise<number> {
  const started = Date.now()
  const state = run.state[State.Cleanup]
  if (state) await runCleanup(JSON.parse(state) as CleanupState)
  return since(started)
}

async function runActionScenario(s: ActionScenario): Promise<ScenarioResult> {
  say(`(${s.id}) ${s.title}: running the action`)
  const inputs: Record<string, string> = {
    image: s.image,
    tags: s.tag,
    platforms: PLATFORMS.join(','),
    'python-version': '3.11',
    'builder-image': IMAGES.builder,
    'runtime-image': IMAGES.slim,
    package: s.ownProject,
    'pip-args': ACTION_PIP_ARGS,
    'smoke-test': `python3 -m ${s.module}`,
    push: 'true'
  }
  if (s.parent) inputs.parent = s.parent
  if (s.requirements) inputs.requirements = s.requirements
  // The main step alone is timed; its post step (cleanup) runs after, as the runner's would.
  const m = await measure(() =>
    runAction({
      inputs,
      workspace: s.workspace,
      env: s.service.env,
      name: `bench-${s.id}`,
      post: false
    })
  )
  const run = m.value
  const postSeconds = await postStep(run)
  const own = normalize(s.ownProject)
  const base = {
    id: s.id,
    title: s.title,
    how: s.how,
    kind: 'action' as const,
    own,
    othersRunning: m.busy,
    log: run.logFile,
    samples: m.emulation.samples,
    topEmulated: topEmulated(m.emulation)
  }
  if (run.failed) {
    const why = [...run.errors, run.stderr.trim().split('\n').slice(-5).join('\n')].join('\n')
    return {
      ...base,
      split: {},
      tested: false,
      platforms: [],
      error: `action failed (log ${run.logFile}): ${why}`
    }
  }
  const meta = JSON.parse(run.outputs.metadata ?? '{}') as {
    builds: PlatformResult[]
    timings?: Timings
  }
  const platforms: PlatformRow[] = meta.builds.map((b) => ({
    platform: b.platform,
    path: b.path,
    resolveSeconds: b.steps.resolve?.seconds,
    compileSeconds: b.steps.compile?.seconds,
    built: b.built,
    depsBuilt: b.built.filter((w) => wheelProject(w) !== own).length,
    reused: b.reused.length,
    ...emulatedOn(m.emulation, b.platform)
  }))
  // Smoke-tested: each platform's smoke test ran and printed that platform's machine.
  const tested = PLATFORMS.every((p) =>
    meta.builds.some((b) => b.platform === p && b.smokeOutput.includes(MACHINE[p] ?? '?'))
  )
  say(`(${s.id}) done in ${m.seconds} s (post step ${postSeconds} s, untimed)`)
  return {
    ...base,
    image: `${s.image}:${s.tag}`,
    totalSeconds: m.seconds,
    split: meta.timings ?? {},
    tested,
    postSeconds,
    platforms
  }
}

// ------------------------------------------------------------------ raw buildx scenarios

interface BuildxScenario {
  id: string
  title: string
  how: string
  context: string
  dockerfile: string
  ref: string
  ownProject: string
  /** The directory given as the named build context `deps`: the dependency sdists. */
  deps: string
}

async function runBuildxScenario(s: BuildxScenario): Promise<ScenarioResult> {
  say(`(${s.id}) ${s.title}: docker buildx build`)
  const file = path.join(s.context, 'Dockerfile')
  await writeFile(file, s.dockerfile)
  const argv = [
    'buildx',
    'build',
    '--progress=plain',
    '--provenance=false',
    '--platform',
    PLATFORMS.join(','),
    '--file',
    file,
    '--build-context',
    `${DEPS_CONTEXT}=${s.deps}`,
    '--tag',
    s.ref,
    '--push',
    s.context
  ]
  const log = path.join(logDir, `${s.id}.log`)
  const own = normalize(s.ownProject)
  const base = {
    id: s.id,
    title: s.title,
    how: s.how,
    kind: 'buildx' as const,
    own,
    log,
    tested: false
  }
  let m: Measured<{ stderr: string }>
  try {
    m = await measure(() => docker(argv))
  } catch (error) {
    const e = error as { stderr?: string; message?: string }
    await writeFile(log, e.stderr ?? String(error))
    const message = e.message ?? String(error)
    return { ...base, othersRunning: false, split: {}, platforms: [], error: message }
  }
  const output = m.value.stderr
  await writeFile(log, `docker ${argv.join(' ')}\n\n${output}`)
  const steps = wheelStepsByPlatform(output)
  const platforms: PlatformRow[] = PLATFORMS.map((platform) => {
    const step = steps.get(platform)
    const built = step?.built ?? []
    const cached = step?.cached ?? 0
    return {
      platform,
      path: cached === 0 ? 'target' : cached === step?.steps ? 'layer cache' : 'target+cache',
      compileSeconds: step?.seconds,
      built,
      depsBuilt: built.filter((w) => wheelProject(w) !== own).length,
      reused: 0,
      ...emulatedOn(m.emulation, platform)
    }
  })
  say(`(${s.id}) done in ${m.seconds} s`)
  return {
    ...base,
    othersRunning: m.busy,
    image: s.ref,
    totalSeconds: m.seconds,
    split: { build: m.seconds },
    samples: m.emulation.samples,
    topEmulated: topEmulated(m.emulation),
    platforms
  }
}

/** Checks a baseline image really runs the app on every platform (outside any timing). */
async function checkRuns(ref: string, module: string): Promise<void> {
  for (const p of PLATFORMS) {
    const r = await runImage(ref, p, ['-m', module], {
      entrypoint: 'python3',
      runArgs: ['--network', 'none']
    })
    if (!r.stdout.includes(MACHINE[p] ?? '?')) {
      throw new Error(`${ref} on ${p} printed: ${r.stdout.trim()}`)
    }
  }
}

/** The sampler must see emulated work for its figures to mean anything: a known load, measured. */
async function checkSampler(): Promise<number> {
  const { emulation } = await measure(() =>
    docker([
      'run',
      '--rm',
      '--platform',
      'linux/arm/v7',
      IMAGES.slim,
      'python3',
      '-c',
      'sum(range(10**7))'
    ])
  )
  const seconds = emulation.byPlatform['linux/arm/v7'] ?? 0
  say(`emulation sampler check: sum(range(10**7)) on arm/v7 took ${seconds} emulated CPU-s`)
  if (seconds < 0.5) say('WARNING: the sampler saw (almost) no emulated work: its figures are void')
  return seconds
}

// ------------------------------------------------------------------ lower bounds

interface BoundSpec {
  baseImage: string
  requirement: string
  requirements?: string
}

async function buildBound(name: string, b: BoundSpec): Promise<Bound> {
  say(`lower bound "${name}": slim + one layer of the installed files (from ${b.baseImage})`)
  const context = path.join(runDir, `bound-${name}`)
  await mkdir(context, { recursive: true })
  if (b.requirements !== undefined)
    await writeFile(path.join(context, 'requirements.txt'), b.requirements)
  const file = path.join(context, 'Dockerfile')
  await writeFile(
    file,
    referenceDockerfile(
      IMAGES,
      b.baseImage,
      WHEEL_DIR,
      b.requirement,
      b.requirements === undefined ? undefined : 'requirements.txt'
    )
  )
  const reference = `${repository}/lower-bound:${name}`
  const r = await docker([
    'buildx',
    'build',
    '--progress=plain',
    '--provenance=false',
    '--platform',
    PLATFORMS.join(','),
    '--file',
    file,
    '--tag',
    reference,
    '--push',
    context
  ])
  await writeFile(path.join(logDir, `bound-${name}.log`), r.stderr)
  const platforms: Bound['platforms'] = []
  for (const p of PLATFORMS) {
    const slim = await pushedSize(IMAGES.slim, p)
    const ref = await pushedSize(reference, p)
    if (ref.layers.length !== slim.layers.length + 1) {
      throw new Error(`${reference} ${p}: expected slim + 1 layer, got ${ref.layers.length} layers`)
    }
    platforms.push({
      platform: p,
      slimBytes: slim.bytes,
      layerBytes: ref.bytes - slim.bytes,
      bytes: ref.bytes
    })
  }
  return { reference, platforms }
}

/** Sizes of every pushed image, against its lower bound and its fixture's seed image. */
async function measureSizes(results: BenchResults, bounds: Record<string, BoundSpec>) {
  for (const [name, spec] of Object.entries(bounds)) {
    if (!results.scenarios.some((s) => !s.error && s.bound === name)) continue
    results.bounds[name] = await buildBound(name, spec)
  }
  const ok = results.scenarios.filter((s) => !s.error && s.image)
  for (const s of ok) {
    const bound = s.bound ? results.bounds[s.bound] : undefined
    for (const p of s.platforms) {
      const size = await pushedSize(s.image as string, p.platform)
      const b = bound?.platforms.find((x) => x.platform === p.platform)
      p.imageBytes = size.bytes
      p.layers = size.layers
      if (b) {
        p.boundBytes = b.bytes
        p.addedBytes = size.bytes - b.slimBytes
        p.boundAddedBytes = b.layerBytes
        p.ratioBound = size.bytes / b.bytes
      }
    }
  }
  for (const s of ok) {
    const seed = ok.find((x) => x.id === s.seed)
    for (const p of s.platforms) {
      const e = seed?.platforms.find((x) => x.platform === p.platform)?.imageBytes
      if (e && p.imageBytes) p.ratioSeed = p.imageBytes / e
    }
  }
}

// ------------------------------------------------------------------ main

async function main(): Promise<number> {
  const dockerVersion = (await docker(['version', '--format', '{{.Server.Version}}'])).stdout.trim()
  const results: BenchResults = {
    runId,
    repository,
    startedAt: new Date().toISOString(),
    host: {
      cpus: os.cpus().length,
      loadAverage: loadAverage(),
      node: process.version,
      docker: dockerVersion
    },
    platforms: PLATFORMS,
    noisy: false,
    scenarios: [],
    bounds: {},
    targets: [],
    dockerfiles: {}
  }
  say(`run ${runId}: images under ${repository}/ (docker ${dockerBin()}, ${dockerVersion})`)
  say(`load average at the start: ${results.host.loadAverage.join(' ')}`)
  await mkdir(logDir, { recursive: true })
  results.samplerCheck = await checkSampler()

  // Fixtures: every sdist, the bumped and the next ones too, built (or taken from the sdist
  // cache) up front; the apps, pure Python, also get their wheel, as `python -m build` writes both.
  const sdistCache = path.join(WORK_DIR, 'sdists')
  const [fast1, fast2, fast3, app, mini, derived] = await buildSdists(
    (['fast1', 'fast2', 'fast3', 'app', 'mini', 'derived'] as const).map((fixture) => ({
      fixture,
      wheel: fixture === 'app' || fixture === 'mini'
    })),
    sdistCache
  )
  if (!fast1 || !fast2 || !fast3 || !app || !mini || !derived) throw new Error('sdists missing')
  const bumpedVersion = bumpVersion(fast2.version)
  const [fast2Bumped, appNext, miniNext] = await buildSdists(
    [
      { fixture: 'fast2', version: bumpedVersion },
      { fixture: 'app', version: `${app.version}.post1`, wheel: true },
      { fixture: 'mini', version: `${mini.version}.post1`, wheel: true }
    ],
    sdistCache
  )
  if (!fast2Bumped || !appNext || !miniNext) throw new Error('sdists missing')
  if (!app.wheel || !mini.wheel) throw new Error('app wheels missing')
  const deps = [fast1, fast2, fast3]
  const pins = Object.fromEntries(deps.map((d) => [d.project, d.version]))
  const bumpedPins = { ...pins, [fast2.project]: bumpedVersion }

  // PyPI's stand-in, per build: the action's workspaces hold the dependency sdists in dist/ beside
  // their own (the derived one also the app's, its published parent package); the baselines get
  // them as the named build context `deps`, outside their build context as PyPI is.
  const appWs = path.join(runDir, 'ws-app')
  const derivedWs = path.join(runDir, 'ws-derived')
  const miniWs = path.join(runDir, 'ws-mini')
  const seedCtx = path.join(runDir, 'ctx-seed')
  const peerCtx = path.join(runDir, 'ctx-peer')
  const miniSeedCtx = path.join(runDir, 'ctx-mini-seed')
  const seedDeps = path.join(runDir, 'deps-seed')
  const peerDeps = path.join(runDir, 'deps-peer')
  const miniDeps = path.join(runDir, 'deps-mini')
  await setDist(path.join(appWs, 'dist'), [app, ...deps])
  await writeFile(path.join(appWs, 'requirements.txt'), requirementsText(pins))
  await setDist(path.join(derivedWs, 'dist'), [derived, appNext, ...deps])
  await setDist(path.join(miniWs, 'dist'), [mini, fast1])
  await setDist(seedDeps, deps)
  await setDist(peerDeps, deps)
  await setDist(miniDeps, [fast1])

  const appService = await startCacheService()
  const derivedService = await startCacheService()
  const miniService = await startCacheService()
  const appImage = `${repository}/${APP.project}`
  const miniImage = `${repository}/${MINI.project}`
  const onApp = {
    workspace: appWs,
    image: appImage,
    ownProject: APP.project,
    module: APP.module,
    service: appService,
    requirements: 'requirements.txt'
  }
  const onMini = {
    workspace: miniWs,
    image: miniImage,
    ownProject: MINI.project,
    module: MINI.module,
    service: miniService
  }
  const seedDf = seedDockerfile(IMAGES, APP.module, APP.project)
  const peerDf = peerDockerfile(IMAGES, APP.module)
  results.dockerfiles = { seed: seedDf, peer: peerDf }
  const scenarios = results.scenarios
  const add = (s: ScenarioResult, bound: string, seed: string): void => {
    scenarios.push({ ...s, bound, seed })
  }
  const next = `${app.version} → ${appNext.version}`
  const bump = `${fast2.project} ${fast2.version} → ${bumpedVersion}`

  try {
    await freshBuildCache()
    add(
      await runActionScenario({
        ...onApp,
        id: 'a',
        title: 'action cold',
        how: 'empty wheel cache, fresh build cache',
        tag: 'a'
      }),
      'app',
      'e'
    )

    await setDist(path.join(appWs, 'dist'), [appNext, ...deps])
    await freshBuildCache()
    add(
      await runActionScenario({
        ...onApp,
        id: 'b',
        title: 'action warm, app changed',
        how: `the wheel cache (a) saved restored; the app's own code changed (${next}); fresh build cache`,
        tag: 'b'
      }),
      'app-next',
      'e'
    )

    // One dependency bumped: a new wsb-fast2 released (its sdist added beside the old one, as on
    // PyPI), its pin moved in requirements.txt.
    await addDist(path.join(appWs, 'dist'), [fast2Bumped])
    await writeFile(path.join(appWs, 'requirements.txt'), requirementsText(bumpedPins))
    await freshBuildCache()
    add(
      await runActionScenario({
        ...onApp,
        id: 'c',
        title: 'action, 1 dep bumped',
        how: `${bump}; the wheel cache of (a)/(b) restored; fresh build cache`,
        tag: 'c'
      }),
      'app-bumped',
      'e'
    )

    await freshBuildCache()
    add(
      await runActionScenario({
        id: 'd',
        title: 'action derived',
        how: `wsb-derived, parent: (b)'s base image; its own empty wheel cache; fresh build cache`,
        workspace: derivedWs,
        image: `${repository}/${DERIVED.project}`,
        tag: 'd',
        ownProject: DERIVED.project,
        module: DERIVED.module,
        service: derivedService,
        parent: `${appImage}:b-base`
      }),
      'derived',
      'e'
    )

    // The seed's `pip3 wheel /build/dist/*` takes every file in dist/ as a requirement: the app's
    // sdist and wheel together are two requirements for wsb-app, which pip refuses
    // (ResolutionImpossible). Its Dockerfile stays verbatim, so its dist/ holds the one file it
    // expects of the app: the wheel.
    await setFiles(path.join(seedCtx, 'dist'), [app.wheel])
    await freshBuildCache()
    add(
      await runBuildxScenario({
        id: 'e',
        title: 'seed Dockerfile',
        how: 'the seed Dockerfile, one buildx call, fresh build cache; tests nothing',
        context: seedCtx,
        dockerfile: seedDf,
        ref: `${repository}/seed:e`,
        ownProject: APP.project,
        deps: seedDeps
      }),
      'app',
      'e'
    )

    const peer = (id: string, title: string, how: string) =>
      runBuildxScenario({
        id,
        title,
        how,
        context: peerCtx,
        dockerfile: peerDf,
        ref: `${repository}/peer:${id}`,
        ownProject: APP.project,
        deps: peerDeps
      })
    await setDist(path.join(peerCtx, 'dist'), [app])
    await writeFile(path.join(peerCtx, 'requirements.txt'), requirementsText(pins))
    await freshBuildCache()
    add(
      await peer('f-cold', 'peer cold', 'requirements layer first; fresh build cache'),
      'app',
      'e'
    )
    await setDist(path.join(peerCtx, 'dist'), [appNext])
    add(
      await peer('f-app', 'peer, app changed', `the same app change as (b); layer cache kept`),
      'app-next',
      'e'
    )
    await addDist(peerDeps, [fast2Bumped])
    await writeFile(path.join(peerCtx, 'requirements.txt'), requirementsText(bumpedPins))
    add(
      await peer('f-bump', 'peer, 1 dep bumped', `the same bump as (c); layer cache kept`),
      'app-bumped',
      'e'
    )

    // The small pair: the pure-Python app on one compiled dependency.
    await setFiles(path.join(miniSeedCtx, 'dist'), [mini.wheel])
    await freshBuildCache()
    add(
      await runBuildxScenario({
        id: 'g-e',
        title: 'small: seed Dockerfile',
        how: 'wsb-mini on wsb-fast1, the seed Dockerfile, fresh build cache; tests nothing',
        context: miniSeedCtx,
        dockerfile: seedDockerfile(IMAGES, MINI.module, MINI.project),
        ref: `${repository}/seed:g-e`,
        ownProject: MINI.project,
        deps: miniDeps
      }),
      'mini',
      'g-e'
    )
    await freshBuildCache()
    add(
      await runActionScenario({
        ...onMini,
        id: 'g-a',
        title: 'small: action cold',
        how: 'wsb-mini on wsb-fast1, empty wheel cache, fresh build cache',
        tag: 'g-a'
      }),
      'mini',
      'g-e'
    )
    await setDist(path.join(miniWs, 'dist'), [miniNext, fast1])
    await freshBuildCache()
    add(
      await runActionScenario({
        ...onMini,
        id: 'g-b',
        title: 'small: action warm',
        how: `the wheel cache (g-a) saved restored; the app changed (${mini.version} → ${miniNext.version}); fresh build cache`,
        tag: 'g-b'
      }),
      'mini-next',
      'g-e'
    )
  } finally {
    await appService.stop()
    await derivedService.stop()
    await miniService.stop()
  }

  // Checks and sizes, outside every timing.
  let exitCode = 0
  for (const s of scenarios.filter((x) => !x.error && x.kind === 'buildx')) {
    await checkRuns(s.image as string, s.id.startsWith('g-') ? MINI.module : APP.module)
  }
  const appBound = (tag: string, version: string, reqs: Record<string, string>): BoundSpec => ({
    baseImage: `${appImage}:${tag}-base`,
    requirement: `${APP.project}==${version}`,
    requirements: requirementsText(reqs)
  })
  const miniBound = (tag: string, version: string): BoundSpec => ({
    baseImage: `${miniImage}:${tag}-base`,
    requirement: `${MINI.project}==${version}`
  })
  try {
    await measureSizes(results, {
      app: appBound('a', app.version, pins),
      'app-next': appBound('b', appNext.version, pins),
      'app-bumped': appBound('c', appNext.version, bumpedPins),
      derived: {
        baseImage: `${repository}/${DERIVED.project}:d-base`,
        requirement: `${DERIVED.project}==${derived.version}`
      },
      mini: miniBound('g-a', mini.version),
      'mini-next': miniBound('g-b', miniNext.version)
    })
  } catch (error) {
    say(`sizes: ${String(error)}`)
    exitCode = 1
  }

  results.targets = computeTargets(results)
  results.noisy = scenarios.some((s) => s.othersRunning)
  results.finishedAt = new Date().toISOString()
  results.host.loadAverageEnd = loadAverage()
  say(`load average at the end: ${results.host.loadAverageEnd.join(' ')}`)
  for (const s of scenarios) {
    if (s.error) {
      exitCode = 1
      say(`(${s.id}) FAILED: ${s.error}`)
    }
  }
  await removeLocalImages()
  const table = renderTable(results)
  console.log(`\n${table}\n`)
  await mkdir(RESULTS_DIR, { recursive: true })
  await writeFile(path.join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`)
  await writeFile(path.join(BENCH_DIR, 'RESULTS.md'), resultsMarkdown(results, table))
  say(
    `wrote bench/results/latest.json and bench/RESULTS.md (${since(Date.parse(results.startedAt))} s)`
  )
  return exitCode
}

/** Local copies of this run's images (pushes and checks leave them); the registry keeps its own. */
async function removeLocalImages(): Promise<void> {
  const r = await docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])
  const mine = r.stdout.split('\n').filter((ref) => ref.startsWith(`${repository}/`))
  if (mine.length > 0) await docker(['image', 'rm', ...mine]).catch(() => undefined)
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    console.error(error)
    process.exitCode = 1
  }
)
