// The benchmark: the action (bundled dist/, run as the GitHub runner runs it) against the seed's
// Dockerfile and the idiomatic peer setup, for linux/amd64 + linux/arm/v7, on the real engine,
// registry and a local Actions cache service. `npm run bench` (provisions first).
//
//   (a) action, cold: empty wheel cache, no-cache-filters: base (no layer cache for the wheels)
//   (b) action, warm: same inputs, the wheel cache (a) saved restored
//   (c) action, one dependency bumped (wsb-fast2 to its next minor: requirements.txt + dist/)
//   (d) action, derived image: parent = (b)'s base image, its own empty wheel cache
//   (e) the seed's Dockerfile, one buildx call, --no-cache-filter base, nothing reused
//   (f) peer: requirements layer first, engine layer cache kept between its runs:
//       cold (--no-cache), after an app-only change, after the same bump as (c)
//
// The app's own dist/ holds what `python -m build` writes: its sdist and its pure-Python
// `py3-none-any` wheel (built once with the builder image, cached like the sdists). The compiled
// dependencies (wsb-fastN) and wsb-derived (a C extension) come as sdists only, as PyPI sdists of
// packages without armv7 wheels.
//
// No index server, no network: the action's workspaces hold the dependency sdists in dist/ beside
// the package's own (the action mounts dist/ as --find-links; `package` names the one to build),
// and the baselines get them as the named build context `deps` (PyPI's stand-in). Every pip call
// runs with --no-index, so no build reaches anything outside its own container.
//
// A report, not a test: the targets print PASS/FAIL, the exit code only says whether every
// scenario ran. Results: stdout, bench/results/latest.json, bench/RESULTS.md.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startCacheService, type CacheService } from '../e2e/support/cache-service.js'
import { docker, dockerBin, runImage } from '../e2e/support/docker.js'
import { REGISTRY } from '../e2e/support/registry.js'
import { runAction } from '../e2e/support/runner.js'
import { buildSegment, pipPhasesByPlatform, wheelStepsByPlatform } from './buildx-log.js'
import {
  DEPS_CONTEXT,
  type Images,
  peerDockerfile,
  referenceDockerfile,
  seedDockerfile
} from './dockerfiles.js'
import {
  type BenchResults,
  type Bound,
  computeTargets,
  type PlatformRow,
  renderTable,
  resultsMarkdown,
  type ScenarioResult
} from './report.js'
import { buildSdists, distFiles, type Sdist } from './sdists.js'
import { pushedSize } from './sizes.js'

const PLATFORMS = ['linux/amd64', 'linux/arm/v7']
const IMAGES: Images = { builder: `${REGISTRY}/python:3.11`, slim: `${REGISTRY}/python:3.11-slim` }
const WHEEL_DIR = '/wheeley'
const APP = { project: 'wsb-app', module: 'wsb_app' }
const DERIVED = { project: 'wsb-derived', module: 'wsb_derived' }
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
const normalize = (name: string): string => name.toLowerCase().replace(/[-_.]+/g, '_')
/** A wheel file name's project, normalized: `wsb_fast2-1.1.0-cp311-...whl` → `wsb_fast2`. */
const wheelProject = (file: string): string => normalize(file.split('-')[0] ?? '')

/** Another e2e suite on this engine makes every timing noisy; record when one was seen. */
function othersRunning(): boolean {
  return spawnSync('pgrep', ['-f', 'jest -c jest.e2e']).status === 0
}

/** Samples othersRunning() every few seconds while `work` runs. */
async function watched<T>(work: () => Promise<T>): Promise<{ value: T; busy: boolean }> {
  let busy = othersRunning()
  const timer = setInterval(() => {
    busy ||= othersRunning()
  }, 5000)
  try {
    const value = await work()
    busy ||= othersRunning()
    return { value, busy }
  } finally {
    clearInterval(timer)
  }
}

function bumpVersion(v: string): string {
  const [major, minor] = v.split('.')
  return `${major}.${Number(minor ?? 0) + 1}.0`
}

function requirementsText(pins: Record<string, string>): string {
  return Object.entries(pins)
    .map(([p, v]) => `${p}==${v}\n`)
    .join('')
}

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true })
    await writeFile(path.join(dir, name), text)
  }
}

/** Makes `dir` hold exactly these releases (each one's sdist, and its wheel when it has one). */
async function setDist(dir: string, sdists: Sdist[]): Promise<void> {
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  await addDist(dir, sdists)
}

/** Adds these releases' files to `dir`, as a release adds files to PyPI (the older ones stay). */
async function addDist(dir: string, sdists: Sdist[]): Promise<void> {
  for (const s of sdists) {
    for (const f of distFiles(s)) await copyFile(f, path.join(dir, path.basename(f)))
  }
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
    'no-cache-filters': 'base',
    'smoke-test': `python3 -m ${s.module}`,
    push: 'true'
  }
  if (s.parent) inputs.parent = s.parent
  if (s.requirements) inputs.requirements = s.requirements
  const started = Date.now()
  const { value: run, busy } = await watched(() =>
    runAction({ inputs, workspace: s.workspace, env: s.service.env, name: `bench-${s.id}` })
  )
  const totalSeconds = since(started)
  const own = normalize(s.ownProject)
  const base = { id: s.id, title: s.title, how: s.how, own, othersRunning: busy, log: run.logFile }
  if (run.failed || run.post?.exitCode) {
    const why = [...run.errors, run.stderr.trim().split('\n').slice(-5).join('\n')].join('\n')
    return { ...base, platforms: [], error: `action failed (log ${run.logFile}): ${why}` }
  }
  const meta = JSON.parse(run.outputs.metadata ?? '{}') as {
    builds: {
      platform: string
      buildSeconds: number
      wheelSeconds?: number
      built: string[]
      reused: number
    }[]
  }
  const log = await readFile(run.logFile, 'utf8')
  // The smoke build of each platform is the one that ran the wheel step (later ones hit its cache).
  const phasesOf = (platform: string) =>
    pipPhasesByPlatform(
      buildSegment(log, (c) => c.includes(`--platform ${platform} `) && c.includes(' --load '))
    ).get('default')
  const platforms: PlatformRow[] = meta.builds.map((b) => ({
    platform: b.platform,
    phases: phasesOf(b.platform),
    wheelSeconds: b.wheelSeconds,
    buildSeconds: b.buildSeconds,
    built: b.built,
    depsBuilt: b.built.filter((w) => wheelProject(w) !== own).length,
    reused: b.reused
  }))
  say(`(${s.id}) done in ${totalSeconds} s`)
  return { ...base, image: `${s.image}:${s.tag}`, totalSeconds, platforms }
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
  extraArgs: string[]
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
    ...s.extraArgs,
    '--tag',
    s.ref,
    '--push',
    s.context
  ]
  const log = path.join(logDir, `${s.id}.log`)
  const started = Date.now()
  const own = normalize(s.ownProject)
  const base = { id: s.id, title: s.title, how: s.how, own, log }
  let output: string
  let busy = false
  try {
    const r = await watched(() => docker(argv))
    busy = r.busy
    output = r.value.stderr
  } catch (error) {
    const e = error as { stderr?: string; message?: string }
    await writeFile(log, e.stderr ?? String(error))
    return { ...base, othersRunning: busy, platforms: [], error: e.message ?? String(error) }
  }
  const totalSeconds = since(started)
  await writeFile(log, `docker ${argv.join(' ')}\n\n${output}`)
  const steps = wheelStepsByPlatform(output)
  const phases = pipPhasesByPlatform(output)
  const platforms: PlatformRow[] = PLATFORMS.map((platform) => {
    const step = steps.get(platform)
    const built = step?.built ?? []
    return {
      platform,
      phases: phases.get(platform),
      wheelSeconds: step?.seconds,
      built,
      depsBuilt: built.filter((w) => wheelProject(w) !== own).length,
      reused: 0
    }
  })
  say(`(${s.id}) done in ${totalSeconds} s`)
  return { ...base, othersRunning: busy, image: s.ref, totalSeconds, platforms }
}

/** Checks a baseline image really runs the app on every platform (outside any timing). */
async function checkRuns(ref: string, module: string): Promise<void> {
  for (const p of PLATFORMS) {
    const r = await runImage(ref, p, ['-m', module], {
      entrypoint: 'python3',
      runArgs: ['--network', 'none']
    })
    if (!r.stdout.includes(p === 'linux/amd64' ? 'x86_64' : 'armv7l')) {
      throw new Error(`${ref} on ${p} printed: ${r.stdout.trim()}`)
    }
  }
}

// ------------------------------------------------------------------ lower bounds

async function buildBound(
  name: string,
  baseImage: string,
  requirement: string,
  requirements?: string
): Promise<Bound> {
  say(`lower bound "${name}": slim + one layer of the installed files (from ${baseImage})`)
  const context = path.join(runDir, `bound-${name}`)
  await mkdir(context, { recursive: true })
  if (requirements !== undefined)
    await writeFile(path.join(context, 'requirements.txt'), requirements)
  const file = path.join(context, 'Dockerfile')
  await writeFile(
    file,
    referenceDockerfile(
      IMAGES,
      baseImage,
      WHEEL_DIR,
      requirement,
      requirements === undefined ? undefined : 'requirements.txt'
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

// ------------------------------------------------------------------ main

async function main(): Promise<number> {
  const dockerVersion = (await docker(['version', '--format', '{{.Server.Version}}'])).stdout.trim()
  const results: BenchResults = {
    runId,
    repository,
    startedAt: new Date().toISOString(),
    host: {
      cpus: os.cpus().length,
      loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
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
  await mkdir(logDir, { recursive: true })

  // Fixtures: every sdist, the bumped one too, built (or taken from the sdist cache) up front; the
  // app, pure Python, also gets its wheel, as `python -m build` writes both.
  const sdistCache = path.join(WORK_DIR, 'sdists')
  const [fast1, fast2, fast3, app, derived] = await buildSdists(
    ['fast1', 'fast2', 'fast3', 'app', 'derived'].map((f) => ({
      fixture: f as 'fast1' | 'fast2' | 'fast3' | 'app' | 'derived',
      wheel: f === 'app'
    })),
    sdistCache
  )
  if (!fast1 || !fast2 || !fast3 || !app || !derived) throw new Error('sdists missing')
  const bumpedVersion = bumpVersion(fast2.version)
  const [fast2Bumped] = await buildSdists(
    [{ fixture: 'fast2', version: bumpedVersion }],
    sdistCache
  )
  const appNextVersion = `${app.version}.post1`
  const [appNext] = await buildSdists(
    [{ fixture: 'app', version: appNextVersion, wheel: true }],
    sdistCache
  )
  if (!fast2Bumped || !appNext) throw new Error('sdists missing')
  if (!app.wheel || !appNext.wheel) throw new Error('app wheels missing')
  const deps = [fast1, fast2, fast3]
  const pins = Object.fromEntries(deps.map((d) => [d.project, d.version]))
  const bumpedPins = { ...pins, [fast2.project]: bumpedVersion }

  // PyPI's stand-in, per build: the action's workspaces hold the dependency sdists in dist/ beside
  // their own (the derived one also the app's, its published parent package); the baselines get
  // them as the named build context `deps`, outside their build context as PyPI is.
  const appWs = path.join(runDir, 'ws-app')
  const derivedWs = path.join(runDir, 'ws-derived')
  await setDist(path.join(appWs, 'dist'), [app, ...deps])
  await writeFiles(appWs, { 'requirements.txt': requirementsText(pins) })
  await setDist(path.join(derivedWs, 'dist'), [derived, app, ...deps])
  const seedDeps = path.join(runDir, 'deps-seed')
  const peerDeps = path.join(runDir, 'deps-peer')
  await setDist(seedDeps, deps)
  await setDist(peerDeps, deps)
  // The peer's layer cache starts empty in every bench run: the same Dockerfile, requirements and
  // sdist bytes as an earlier run would otherwise hit that run's f-app / f-bump layers. The run id
  // in its `deps` context (a file pip's --find-links ignores) is part of the requirements layer's
  // key, so of every builder layer after it; within this run it stays put, as PyPI would.
  await writeFile(path.join(peerDeps, '.bench-run'), `${runId}\n`)

  const appService = await startCacheService()
  const derivedService = await startCacheService()
  const scenarios = results.scenarios
  const appImage = `${repository}/${APP.project}`
  const common = {
    workspace: appWs,
    image: appImage,
    ownProject: APP.project,
    module: APP.module,
    service: appService,
    requirements: 'requirements.txt'
  }
  const seedDf = seedDockerfile(IMAGES, APP.module, APP.project)
  const peerDf = peerDockerfile(IMAGES, APP.module)
  results.dockerfiles = { seed: seedDf, peer: peerDf }
  const peerCtx = path.join(runDir, 'ctx-peer')
  const seedCtx = path.join(runDir, 'ctx-seed')
  let exitCode = 0

  try {
    scenarios.push(
      await runActionScenario({
        ...common,
        id: 'a',
        title: 'action cold',
        how: 'empty wheel cache; no-cache-filters: base',
        tag: 'a'
      })
    )
    scenarios.push(
      await runActionScenario({
        ...common,
        id: 'b',
        title: 'action warm',
        how: 'same inputs; the wheel cache (a) saved is restored; no-cache-filters: base',
        tag: 'b'
      })
    )
    const parent = `${appImage}:b-base`
    scenarios.push(
      await runActionScenario({
        id: 'd',
        title: 'action derived',
        how: `wsb-derived, parent: (b)'s base image; its own empty wheel cache; no-cache-filters: base`,
        workspace: derivedWs,
        image: `${repository}/${DERIVED.project}`,
        tag: 'd',
        ownProject: DERIVED.project,
        module: DERIVED.module,
        service: derivedService,
        parent
      })
    )

    // The seed's `pip3 wheel /build/dist/*` takes every file in dist/ as a requirement: the app's
    // sdist and wheel together are two requirements for wsb-app, which pip refuses
    // (ResolutionImpossible). Its Dockerfile stays verbatim, so its dist/ holds the one file it
    // expects of the app: the wheel.
    await setFiles(path.join(seedCtx, 'dist'), [app.wheel])
    scenarios.push(
      await runBuildxScenario({
        id: 'e',
        title: 'seed Dockerfile',
        how: 'the seed Dockerfile, one buildx call, --no-cache-filter base',
        context: seedCtx,
        dockerfile: seedDf,
        ref: `${repository}/seed:e`,
        ownProject: APP.project,
        deps: seedDeps,
        extraArgs: ['--no-cache-filter', 'base']
      })
    )

    await setDist(path.join(peerCtx, 'dist'), [app])
    await writeFiles(peerCtx, { 'requirements.txt': requirementsText(pins) })
    scenarios.push(
      await runBuildxScenario({
        id: 'f-cold',
        title: 'peer cold',
        how: 'requirements layer first, --no-cache (its results stay in the layer cache)',
        context: peerCtx,
        dockerfile: peerDf,
        ref: `${repository}/peer:f-cold`,
        ownProject: APP.project,
        deps: peerDeps,
        extraArgs: ['--no-cache']
      })
    )
    await setDist(path.join(peerCtx, 'dist'), [appNext])
    scenarios.push(
      await runBuildxScenario({
        id: 'f-app',
        title: 'peer, app changed',
        how: `extra: only the app changed (${appNextVersion}); layer cache kept`,
        context: peerCtx,
        dockerfile: peerDf,
        ref: `${repository}/peer:f-app`,
        ownProject: APP.project,
        deps: peerDeps,
        extraArgs: []
      })
    )

    // One dependency bumped: a new wsb-fast2 released (its sdist added beside the old one, as on
    // PyPI), its pin moved in requirements.txt.
    say(`bump: ${fast2.project} ${fast2.version} → ${bumpedVersion}`)
    await addDist(path.join(appWs, 'dist'), [fast2Bumped])
    await writeFiles(appWs, { 'requirements.txt': requirementsText(bumpedPins) })
    scenarios.push(
      await runActionScenario({
        ...common,
        id: 'c',
        title: 'action, 1 dep bumped',
        how: `${fast2.project} ${fast2.version} → ${bumpedVersion}; wheel cache of (a)/(b); no-cache-filters: base`,
        tag: 'c'
      })
    )
    await addDist(peerDeps, [fast2Bumped])
    await writeFiles(peerCtx, { 'requirements.txt': requirementsText(bumpedPins) })
    scenarios.push(
      await runBuildxScenario({
        id: 'f-bump',
        title: 'peer, 1 dep bumped',
        how: `the same bump as (c); layer cache kept`,
        context: peerCtx,
        dockerfile: peerDf,
        ref: `${repository}/peer:f-bump`,
        ownProject: APP.project,
        deps: peerDeps,
        extraArgs: []
      })
    )
  } finally {
    await appService.stop()
    await derivedService.stop()
  }
  const order = ['a', 'b', 'c', 'd', 'e', 'f-cold', 'f-app', 'f-bump']
  scenarios.sort((x, y) => order.indexOf(x.id) - order.indexOf(y.id))

  // Sizes, outside every timing.
  for (const s of scenarios.filter(
    (x) => !x.error && ['e', 'f-cold', 'f-app', 'f-bump'].includes(x.id)
  )) {
    await checkRuns(s.image as string, APP.module)
  }
  const bounds: [string, string, string, string | undefined][] = [
    ['app', `${appImage}:b-base`, `${APP.project}==${app.version}`, requirementsText(pins)],
    [
      'app-bumped',
      `${appImage}:c-base`,
      `${APP.project}==${app.version}`,
      requirementsText(bumpedPins)
    ],
    [
      'derived',
      `${repository}/${DERIVED.project}:d-base`,
      `${DERIVED.project}==${derived.version}`,
      undefined
    ]
  ]
  const boundOf: Record<string, string> = {
    a: 'app',
    b: 'app',
    e: 'app',
    'f-cold': 'app',
    'f-app': 'app',
    c: 'app-bumped',
    'f-bump': 'app-bumped',
    d: 'derived'
  }
  for (const [name, baseImage, requirement, reqs] of bounds) {
    const needed = scenarios.some((s) => !s.error && boundOf[s.id] === name)
    if (!needed) continue
    try {
      results.bounds[name] = await buildBound(name, baseImage, requirement, reqs)
    } catch (error) {
      say(`lower bound "${name}" failed: ${String(error)}`)
      exitCode = 1
    }
  }
  const seed = scenarios.find((s) => s.id === 'e' && !s.error)
  for (const s of scenarios) {
    if (s.error || !s.image) continue
    s.bound = boundOf[s.id]
    const bound = s.bound ? results.bounds[s.bound] : undefined
    for (const p of s.platforms) {
      const size = await pushedSize(s.image, p.platform)
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
  for (const s of scenarios) {
    for (const p of s.platforms) {
      const e = seed?.platforms.find((x) => x.platform === p.platform)?.imageBytes
      if (e && p.imageBytes) p.ratioSeed = p.imageBytes / e
    }
  }

  results.targets = computeTargets(results)
  results.noisy = scenarios.some((s) => s.othersRunning)
  results.finishedAt = new Date().toISOString()
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
