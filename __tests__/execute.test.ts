/**
 * execute() with docker and the engine set-up faked: which buildx calls a plan turns into, what
 * the bake file says to buildx, and that a run that does not push writes nothing to a registry.
 * No docker runs here; every docker call is recorded instead.
 */
import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as core from '../__fixtures__/core.js'
import { hclLiteral } from '../__fixtures__/hcl.js'
import { FACTS, parse, pushContext, RawInputs } from '../__fixtures__/inputs.js'
import { type BakeDefinition, type BakeTarget, LOAD_OUTPUT } from '../src/buildx.js'
import type { DockerOptions, DockerResult } from '../src/docker.js'
import type { Engine } from '../src/engine.js'
import type { BuildResult } from '../src/execute.js'
import type { BuildPlan } from '../src/plan.js'
import type { WorkflowContext } from '../src/workflow.js'

const docker = jest.fn<(args: string[], opts?: DockerOptions) => Promise<DockerResult>>()
const setUpEngine = jest.fn<() => Promise<Engine>>()
/** docker.js's DockerError: what a failing command (no allowFailure) rejects with. */
class DockerError extends Error {
  constructor(
    readonly args: string[],
    readonly result: DockerResult
  ) {
    super(`docker ${args.slice(0, 2).join(' ')} failed (exit ${result.exitCode})`)
    this.name = 'DockerError'
  }
}

// registry.js reads its pauses between retries when it is loaded: short ones for these tests.
process.env['WHEEL_SLIM_REGISTRY_BACKOFF_MS'] = '100'
jest.unstable_mockModule('@actions/core', () => core)
jest.unstable_mockModule('../src/docker.js', () => ({ docker, stopAll: jest.fn(), DockerError }))
jest.unstable_mockModule('../src/engine.js', () => ({ setUpEngine }))
const { execute, writeTools } = await import('../src/execute.js')
const { Cleanup } = await import('../src/cleanup.js')
const { makePlan } = await import('../src/plan.js')
const { outputsOf } = await import('../src/pipeline.js')

const CHECK_LIBS = readFileSync(new URL('../src/tools/check_libs.py', import.meta.url), 'utf8')
/** The mark's fixed words; the action adds a random word per run, so a smoke test cannot print it. */
const MARK = '@@wheel-slim: compiled modules@@'

const RUNTIME_DIGEST = `sha256:${'1'.repeat(64)}`
const BASE_DIGEST = `sha256:${'2'.repeat(64)}`
const RUN_KEY = 'k1'

let tempDir: string
const calls = (): string[][] => docker.mock.calls.map(([args]) => args)
/** The value after a flag; '' when the flag is absent. */
const after = (args: string[], flag: string): string =>
  args.includes(flag) ? (args[args.indexOf(flag) + 1] ?? '') : ''
/** Every `--env NAME=value` of a docker run, by name (the value split at its first "="). */
const envOf = (args: string[]): Record<string, string> =>
  Object.fromEntries(
    args
      .filter((_, i) => args[i - 1] === '--env')
      .map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])
  )

/**
 * The test container of a platform: `docker run --rm --platform P --entrypoint /bin/sh
 * --env WHEEL_SLIM_SMOKE_TEST=<smoke test> --env WHEEL_SLIM_CHECK=<check_libs.py> <image> -c
 * <script>`: the smoke test, then the check that every compiled module loads.
 */
const isTest = (args: string[]): boolean =>
  args[0] === 'run' && after(args, '--entrypoint') === '/bin/sh'
/** What a test container was given: its platform, image, the two scripts and the -c script. */
const testOf = (
  args: string[]
): { platform: string; image: string; smoke: string; check: string; script: string } => ({
  platform: after(args, '--platform'),
  image: args.at(-3) ?? '',
  smoke: envOf(args)['WHEEL_SLIM_SMOKE_TEST'] ?? '',
  check: envOf(args)['WHEEL_SLIM_CHECK'] ?? '',
  script: args.at(-1) ?? ''
})
/** Any call that reads or writes a registry, or tags an image for one. */
const isRegistry = (args: string[]): boolean =>
  args[0] === 'push' || args[0] === 'tag' || args[1] === 'imagetools'
/** Any call that writes a registry, or tags an image for one. */
const isRegistryWrite = (args: string[]): boolean =>
  args[0] === 'push' || args[0] === 'tag' || (args[1] === 'imagetools' && args[2] === 'create')
/** A pushing run reads its first tag before any build: the registry must let it in. */
const accessCheck = (ref: string): string[] => [
  'buildx',
  'imagetools',
  'inspect',
  ref,
  '--format',
  '{{json .Manifest}}'
]
/** The first tag of a run on pushContext() (a push to the default branch). */
const EDGE = 'ghcr.io/org/app:edge'

/** What the "wheels" target exports per platform (wheel-slim.json), keyed by platform. */
let wheelReports: Record<string, object> = {}

/** Writes each platform's wheel report where the "wheels" target exports it. */
function exportWheelReports(): void {
  const platforms = Object.keys(wheelReports)
  for (const [platform, report] of Object.entries(wheelReports)) {
    const dir =
      platforms.length > 1
        ? join(tempDir, 'wheels-out', platform.replace(/\//g, '_'))
        : join(tempDir, 'wheels-out')
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'wheel-slim.json'), JSON.stringify(report))
  }
}

/** What one process in the test container prints and exits with. */
interface Ran {
  exitCode: number
  stdout: string
  stderr: string
}
/** How the smoke test runs on a platform (default: it passes, printing "smoke ok"). */
let smokeRuns: (platform: string, smokeTest: string) => Ran
/** How check_libs.py runs on a platform (default: every module loads, an empty JSON list). */
let checkRuns: (platform: string) => Ran
const SMOKE_OK: Ran = { exitCode: 0, stdout: 'smoke ok\n', stderr: '' }
const CHECK_OK: Ran = { exitCode: 0, stdout: '[]\n', stderr: '' }

/**
 * The test container as its -c script runs it: the smoke test (`sh -c "$WHEEL_SLIM_SMOKE_TEST"`)
 * beside `python3 -c "$WHEEL_SLIM_CHECK"`, whose output is held; a failed smoke test exits with
 * its code and nothing more is printed; else the mark on a line of its own, then the check's
 * output, and the check's exit code. Both scripts are read from the --env values; the
 * check runs as check_libs.py only when that value is check_libs.py, as it is in src/tools.
 * One real /bin/sh run of the script checks this emulation (see "the -c script itself").
 */
function testContainer(args: string[]): DockerResult {
  const t = testOf(args)
  const smoke = smokeRuns(t.platform, t.smoke)
  if (smoke.exitCode !== 0) return smoke
  const check: Ran =
    t.check === CHECK_LIBS
      ? checkRuns(t.platform)
      : { exitCode: 1, stdout: '', stderr: 'SyntaxError: not check_libs.py\n' }
  return {
    exitCode: check.exitCode,
    // `echo; echo "$WHEEL_SLIM_MARK"`: an empty line, then the run's mark on a line of its own.
    stdout: `${smoke.stdout}\n${envOf(args)['WHEEL_SLIM_MARK'] ?? ''}\n${check.stdout}`,
    stderr: smoke.stderr + check.stderr
  }
}

/** The default docker fake: buildx writes its metadata file, tests pass, all else succeeds. */
async function fakeDocker(args: string[]): Promise<DockerResult> {
  const ok = { exitCode: 0, stdout: '', stderr: '' }
  if (args[0] === 'buildx' && (args[1] === 'bake' || args[1] === 'build')) {
    if (args[1] === 'bake' || after(args, '--target') === 'wheels') exportWheelReports()
    const digestOf = (target: string): Record<string, string> =>
      target === 'wheels'
        ? {}
        : { 'containerimage.digest': target === 'base' ? BASE_DIGEST : RUNTIME_DIGEST }
    const meta =
      args[1] === 'bake'
        ? { runtime: digestOf('runtime'), base: digestOf('base'), wheels: {} }
        : digestOf(after(args, '--target'))
    writeFileSync(after(args, '--metadata-file'), JSON.stringify(meta))
    return ok
  }
  if (isTest(args)) return testContainer(args)
  // an empty registry: nothing is there yet
  if (args[1] === 'imagetools' && args[2] === 'inspect') {
    return { exitCode: 1, stdout: '', stderr: `ERROR: ${args[3] ?? ''}: not found` }
  }
  return ok
}

/**
 * A registry behind the fake: refs → digests, written by `docker push` (of what `docker tag`
 * named) and `imagetools create`; a ref by digest exists once a build pushed it.
 */
function withRegistry(): Map<string, string> {
  const refs = new Map<string, string>()
  const tags = new Map<string, string>()
  const localDigest = (image: string): string =>
    image.endsWith(':base') ? BASE_DIGEST : RUNTIME_DIGEST
  docker.mockImplementation(async (args) => {
    const ok = { exitCode: 0, stdout: '', stderr: '' }
    if (args[0] === 'image' && args[1] === 'inspect') {
      return { ...ok, stdout: `${localDigest(args.at(-1) ?? '')}\n` }
    }
    if (args[0] === 'tag') {
      tags.set(args[2] ?? '', args[1] ?? '')
      return ok
    }
    if (args[0] === 'push') {
      refs.set(args[1] ?? '', localDigest(tags.get(args[1] ?? '') ?? ''))
      return ok
    }
    if (args[1] === 'imagetools' && args[2] === 'inspect') {
      const ref = args[3] ?? ''
      if (args.includes('--raw')) return { ...ok, stdout: '{}' }
      const byDigest = ref.includes('@') ? ref.split('@')[1] : undefined
      const digest = byDigest ?? refs.get(ref)
      return digest
        ? { ...ok, stdout: JSON.stringify({ digest }) }
        : { exitCode: 1, stdout: '', stderr: `ERROR: ${ref}: not found` }
    }
    if (args[1] === 'imagetools' && args[2] === 'create') {
      const digest = (args.at(-1) ?? '').split('@')[1] ?? ''
      args.forEach((a, i) => {
        if (args[i - 1] === '--tag') refs.set(a, digest)
      })
      return ok
    }
    return fakeDocker(args)
  })
  return refs
}

/** The docker calls `pick` selects that came after call number `n` (invocation order). */
const callsAfter = (n: number, pick: (args: string[]) => boolean): string[][] =>
  docker.mock.calls
    .filter(([args], i) => pick(args) && (docker.mock.invocationCallOrder[i] ?? 0) > n)
    .map(([args]) => args)

/** The order in which docker was called, for the calls `pick` selects. */
const order = (pick: (args: string[]) => boolean): number[] =>
  docker.mock.calls
    .map(([args], i) => [args, docker.mock.invocationCallOrder[i] ?? 0] as const)
    .filter(([args]) => pick(args))
    .map(([, n]) => n)

beforeEach(() => {
  jest.resetAllMocks()
  core.installDefaults()
  tempDir = mkdtempSync(join(tmpdir(), 'wsa-execute-'))
  wheelReports = {}
  smokeRuns = () => SMOKE_OK
  checkRuns = () => CHECK_OK
  docker.mockImplementation(fakeDocker)
})

afterEach(() => {
  rmSync(tempDir, { recursive: true, force: true })
})

/** What an amd64 host's engine reports: amd64 and 386 native, the rest emulated. */
const runsOn = (platforms: string[]): Engine['runs'] =>
  Object.fromEntries(
    platforms.map((p) => [p, ['linux/amd64', 'linux/386'].includes(p) ? 'native' : 'emulated'])
  )

async function run(
  values: RawInputs,
  delivery: Engine['delivery'],
  ctx: WorkflowContext = pushContext()
): Promise<[BuildResult, BuildPlan, InstanceType<typeof Cleanup>]> {
  const plan = makePlan(
    parse({ image: 'ghcr.io/org/app', cache: 'false', ...values }),
    ctx,
    FACTS,
    { workspace: '/work/space', tempDir },
    RUN_KEY
  )
  setUpEngine.mockResolvedValue({ delivery, runs: runsOn(plan.platforms) })
  const cleanup = new Cleanup()
  const result = await execute(plan, 'docker.io/tonistiigi/binfmt:x', RUN_KEY, cleanup)
  return [result, plan, cleanup]
}

/** Every way a docker call of the run could write to a registry. */
function registryWrites(bake: BakeDefinition | undefined): string[] {
  const writes: string[] = []
  const pushing = (output: string): boolean =>
    /(^|,)push=true(,|$)/.test(output) || /(^|,)type=registry(,|$)/.test(output)
  for (const [name, t] of Object.entries(bake?.target ?? {})) {
    for (const o of t.output) if (pushing(o)) writes.push(`bake target ${name}: ${o}`)
  }
  for (const args of calls()) {
    if (args[0] === 'push') writes.push(`docker ${args.join(' ')}`)
    if (args[1] === 'imagetools' && args[2] === 'create') writes.push(`docker ${args.join(' ')}`)
    if (args[0] === 'buildx' && (args[1] === 'build' || args[1] === 'bake')) {
      if (args.includes('--push')) writes.push(`docker ${args.join(' ')}`)
      args.forEach((a, i) => {
        if (args[i - 1] === '--output' && pushing(a)) writes.push(`buildx build --output ${a}`)
      })
    }
  }
  return writes
}

const readBake = (file: string): BakeDefinition =>
  JSON.parse(readFileSync(file, 'utf8')) as BakeDefinition

const FORK_PR = pushContext({
  eventName: 'pull_request',
  ref: 'refs/pull/7/merge',
  prNumber: 7,
  untrustedReason: 'pull_request from a fork'
})
const SAME_REPO_PR = pushContext({
  eventName: 'pull_request',
  ref: 'refs/pull/7/merge',
  prNumber: 7
})

describe('execute: a run that does not push', () => {
  // README: "a pull request builds and smoke-tests :pr-7 but pushes nothing"; workflow.ts:
  // "Untrusted runs never push, whatever push says".
  test.each<[string, Engine['delivery'], WorkflowContext]>([
    ['a fork pull request, docker driver (load)', 'load', FORK_PR],
    ['a fork pull request, docker-container driver (digest)', 'digest', FORK_PR],
    ['a same-repository pull request, docker driver (load)', 'load', SAME_REPO_PR],
    ['a same-repository pull request, docker-container driver (digest)', 'digest', SAME_REPO_PR]
  ])('%s: builds, smoke-tests, writes nothing to a registry', async (_name, delivery, ctx) => {
    const [result, plan] = await run({}, delivery, ctx)
    expect(plan.push.push).toBe(false)
    expect(result.pushed).toBe(false)
    // one test container per platform: the smoke test and the check of the compiled modules
    expect(
      calls()
        .filter(isTest)
        .map((a) => [testOf(a).platform, testOf(a).smoke, testOf(a).check])
    ).toEqual(plan.platforms.map((p) => [p, plan.smokeTest, CHECK_LIBS]))
    expect(registryWrites(readBake(plan.files.bake))).toEqual([])
  })

  test('load delivery: the smoke test runs the loaded local image', async () => {
    const [, plan] = await run({}, 'load', SAME_REPO_PR)
    const tests = calls().filter(isTest).map(testOf)
    expect(tests.map((t) => t.image)).toEqual(plan.platforms.map(() => plan.local.runtime))
    expect(tests.map((t) => t.smoke)).toEqual(plan.platforms.map(() => plan.smokeTest))
  })
})

describe('execute: push false on a docker-container builder (digest engine) loads each platform', () => {
  const PLATFORMS = ['linux/amd64', 'linux/arm/v7']
  const TARGETS = ['runtime-linux-amd64', 'runtime-linux-arm-v7', 'wheels']

  test.each<[string, RawInputs, WorkflowContext]>([
    ['push: false on a push to the default branch, bake', { push: 'false' }, pushContext()],
    [
      'push: false on a push to the default branch, network host (buildx build)',
      { push: 'false', network: 'host' },
      pushContext()
    ],
    ['a same-repository pull request (push defaults to false), bake', {}, SAME_REPO_PR],
    ['a fork pull request that asks to push, bake', { push: 'true' }, FORK_PR]
  ])('%s', async (_name, values, ctx) => {
    const [result, plan, cleanup] = await run(
      { platforms: PLATFORMS.join(','), ...values },
      'digest',
      ctx
    )
    expect(plan.push.push).toBe(false)
    expect(result.pushed).toBe(false)
    expect(result.digest).toBe('')
    expect(result.moves).toEqual([])

    // Only the per-platform runtime targets and the wheel set: no base image, nothing by digest.
    const bake = readBake(plan.files.bake)
    expect(Object.keys(bake.target).sort()).toEqual(TARGETS)
    expect(bake.group.default.targets.sort()).toEqual(TARGETS)
    const tagOf: Record<string, string> = {}
    for (const p of PLATFORMS) {
      const t = bake.target[`runtime-${p.replace(/\//g, '-')}`] as BakeTarget
      expect([t.target, t.platforms, t.output, t.tags?.length]).toEqual([
        'runtime',
        [p],
        [LOAD_OUTPUT],
        1
      ])
      tagOf[p] = t.tags?.[0] ?? ''
    }
    expect(new Set(Object.values(tagOf)).size).toBe(PLATFORMS.length)

    // The calls that build: one bake, or (with a network) one buildx build per target.
    const builds = calls().filter(
      (a) => a[0] === 'buildx' && ['bake', 'build'].includes(a[1] ?? '')
    )
    if (values.network === 'host') {
      expect(
        builds.map((a) => [a[1], after(a, '--target'), after(a, '--platform'), after(a, '--tag')])
      ).toEqual([
        ['build', 'runtime', 'linux/amd64', tagOf['linux/amd64']],
        ['build', 'runtime', 'linux/arm/v7', tagOf['linux/arm/v7']],
        ['build', 'wheels', 'linux/amd64,linux/arm/v7', '']
      ])
    } else {
      expect(builds.map((a) => a[1])).toEqual(['bake'])
    }

    expect(registryWrites(bake)).toEqual([])
    // Not even a read: a run that does not push has no business with the registry.
    expect(calls().filter((a) => a[0] === 'push' || a[1] === 'imagetools')).toEqual([])

    // Each platform is smoke-tested on its own local image, its compiled modules checked in the
    // same container, and those images are cleaned up.
    const tests = calls().filter(isTest).map(testOf)
    expect(tests.map((t) => [t.platform, t.image, t.smoke, t.check])).toEqual(
      PLATFORMS.map((p) => [p, tagOf[p], plan.smokeTest, CHECK_LIBS])
    )
    expect(result.platforms.map((r) => [r.platform, r.smokeOutput])).toEqual(
      PLATFORMS.map((p) => [p, 'smoke ok'])
    )
    // How the engine ran each platform reaches the result as it said.
    expect(result.platforms.map((r) => [r.platform, r.runs])).toEqual([
      ['linux/amd64', 'native'],
      ['linux/arm/v7', 'emulated']
    ])
    expect(result.platforms.map((r) => r.runtimePackages)).toEqual(PLATFORMS.map(() => ({})))
    for (const r of result.platforms) expect(r.testSeconds).toBeGreaterThanOrEqual(0)
    expect(cleanup.state.localImages.sort()).toEqual(Object.values(tagOf).sort())
  })

  test('one platform: one runtime target, smoke-tested on its local tag', async () => {
    const [, plan] = await run({ push: 'false', platforms: 'linux/arm64' }, 'digest')
    const bake = readBake(plan.files.bake)
    expect(Object.keys(bake.target)).toEqual(['runtime-linux-arm64', 'wheels'])
    const tag = bake.target['runtime-linux-arm64']?.tags?.[0]
    expect(
      calls()
        .filter(isTest)
        .map((a) => [testOf(a).platform, testOf(a).image])
    ).toEqual([['linux/arm64', tag]])
    expect(registryWrites(bake)).toEqual([])
  })

  test('a failing smoke test on one platform fails the run naming that platform', async () => {
    smokeRuns = (platform) =>
      platform === 'linux/arm/v7'
        ? { exitCode: 1, stdout: '', stderr: "ModuleNotFoundError: No module named 'my_app'" }
        : SMOKE_OK
    const outcome = run({ push: 'false', platforms: PLATFORMS.join(',') }, 'digest')
    await expect(outcome).rejects.toThrow(/^Smoke test failed on linux\/arm\/v7 \(exit 1\)/)
    // the default smoke test could not import the module: the hint names the input to set
    await expect(outcome).rejects.toThrow(
      `ModuleNotFoundError: No module named 'my_app'\nThe default smoke test imports "my_app", the module of input "module"`
    )
    expect(registryWrites(undefined)).toEqual([])
  })
})

// What the summary reports per platform: the resolve and compile steps as the build log shows
// them. BuildKit names a step's platform only in a build of several platforms: a one-platform
// target prints "[runtime-linux-arm-v7 compile 3/3]" in bake and "[compile 3/3]" in buildx build.
// With a network, each target is its own buildx build, numbered from #1 again, one after another.
describe('execute: wheel step times per platform', () => {
  const RUN = 'RUN ["python3", "/wheel-slim/tools/wheel_slim.py"]'
  const log = (...steps: [number, string, string][]): string =>
    steps.map(([id, header, end]) => `#${id} [${header}] ${RUN}\n#${id} ${end}\n`).join('\n')
  // One resolve step gathers for both platforms (the plan lists them): its time is each one's.
  const EXPECTED = {
    'linux/amd64': {
      resolve: { seconds: 1.4, cached: false },
      compile: { seconds: 0.1, cached: false }
    },
    'linux/arm/v7': {
      resolve: { seconds: 1.4, cached: false },
      compile: { seconds: 9.5, cached: false }
    }
  }

  // [name, engine delivery, network, the log each buildx call prints (keyed by kind, target,
  // platforms)]
  test.each<[string, Engine['delivery'], 'default' | 'host', Record<string, string>]>([
    [
      'bake, docker driver (load): compile steps name their platform, resolve the build host',
      'load',
      'default',
      {
        bake: log(
          [12, 'wheels linux/amd64 resolve 2/2', 'DONE 1.4s'],
          [13, 'runtime linux/amd64 resolve 2/2', 'CACHED'],
          [17, 'runtime linux/arm/v7 compile 3/3', 'DONE 9.5s'],
          [18, 'wheels linux/arm/v7 compile 3/3', 'CACHED'],
          [19, 'runtime linux/amd64 compile 3/3', 'DONE 0.1s'],
          [20, 'wheels linux/amd64 compile 3/3', 'CACHED']
        )
      }
    ],
    [
      'bake, load-each: the one-platform targets ran the steps, the wheel set took them from the cache',
      'digest',
      'default',
      {
        bake: log(
          [14, 'runtime-linux-amd64 resolve 2/2', 'DONE 1.4s'],
          [15, 'runtime-linux-arm-v7 resolve 2/2', 'CACHED'],
          [16, 'wheels linux/amd64 resolve 2/2', 'CACHED'],
          [18, 'runtime-linux-arm-v7 compile 3/3', 'DONE 9.5s'],
          [19, 'runtime-linux-amd64 compile 3/3', 'DONE 0.1s'],
          [20, 'wheels linux/arm/v7 compile 3/3', 'CACHED'],
          [21, 'wheels linux/amd64 compile 3/3', 'CACHED']
        )
      }
    ],
    [
      'network host, load-each: one buildx build per platform, then the wheel set from the cache',
      'digest',
      'host',
      {
        'build runtime linux/amd64': log(
          [10, 'resolve 2/2', 'DONE 1.4s'],
          [12, 'compile 3/3', 'DONE 0.1s']
        ),
        'build runtime linux/arm/v7': log(
          [10, 'resolve 2/2', 'CACHED'],
          [12, 'compile 3/3', 'DONE 9.5s']
        ),
        'build wheels linux/amd64,linux/arm/v7': log(
          [10, 'linux/amd64 resolve 2/2', 'CACHED'],
          [13, 'linux/arm/v7 compile 3/3', 'CACHED'],
          [14, 'linux/amd64 compile 3/3', 'CACHED']
        )
      }
    ],
    [
      'network host, docker driver (load): the wheel set numbers its steps its own way',
      'load',
      'host',
      {
        'build runtime linux/amd64,linux/arm/v7': log(
          [9, 'linux/amd64 resolve 2/2', 'DONE 1.4s'],
          [12, 'linux/amd64 compile 3/3', 'DONE 0.1s'],
          [13, 'linux/arm/v7 compile 3/3', 'DONE 9.5s']
        ),
        'build wheels linux/amd64,linux/arm/v7': log(
          [10, 'linux/amd64 resolve 2/2', 'CACHED'],
          [12, 'linux/arm/v7 compile 3/3', 'CACHED'],
          [13, 'linux/amd64 compile 3/3', 'CACHED']
        )
      }
    ]
  ])('%s', async (_name, delivery, network, logs) => {
    docker.mockImplementation(async (args) => {
      const r = await fakeDocker(args)
      if (args[0] !== 'buildx') return r
      const key =
        args[1] === 'bake'
          ? 'bake'
          : `build ${after(args, '--target')} ${after(args, '--platform')}`
      const stderr = logs[key]
      if (stderr === undefined) throw new Error(`no log for ${key}`)
      return { ...r, stderr }
    })
    const [result, plan] = await run(
      { push: 'false', platforms: 'linux/amd64,linux/arm/v7', network },
      delivery,
      SAME_REPO_PR
    )
    expect(plan.push.push).toBe(false)
    expect(Object.fromEntries(result.platforms.map((r) => [r.platform, r.steps]))).toEqual(EXPECTED)
  })
})

describe('execute: user values reach buildx as they were written', () => {
  const VALUES: RawInputs = {
    'build-args': 'A=${HOME}\nB=%{ if true }x%{ endif }\nC=a$${b}\nD=100% $x',
    labels: 'org.example.l=${x}'
  }
  const EXPECTED_ARGS = { A: '${HOME}', B: '%{ if true }x%{ endif }', C: 'a$${b}', D: '100% $x' }

  test('the hclLiteral reader itself', () => {
    expect(hclLiteral('plain $x 100%')).toBe('plain $x 100%')
    expect(hclLiteral('$${HOME} %%{ if }')).toBe('${HOME} %{ if }')
    expect(hclLiteral('${HOME}')).toBeUndefined()
    expect(hclLiteral('a%{ if true }')).toBeUndefined()
  })

  test('in the bake file (network default), every string reads back as the value given', async () => {
    const [, plan] = await run(VALUES, 'load', SAME_REPO_PR)
    expect(calls().filter((a) => a[1] === 'bake')).toHaveLength(1)
    const bake = readBake(plan.files.bake)
    for (const [, t] of Object.entries(bake.target)) {
      const args = Object.fromEntries(Object.entries(t.args).map(([k, v]) => [k, hclLiteral(v)]))
      expect(args).toEqual({ ...EXPECTED_ARGS, SOURCE_DATE_EPOCH: FACTS.sourceDateEpoch })
    }
    const labels = bake.target['runtime']?.labels ?? {}
    // The OCI labels of the plan first, then the user's: every value reads back as given.
    expect(Object.entries(labels).map(([k, v]) => `${k}=${hclLiteral(v)}`)).toEqual(
      plan.common.labels
    )
    expect(Object.values(labels).map(hclLiteral).at(-1)).toBe('${x}')
  })

  test('in buildx build calls (network host), every value is one argv element, as given', async () => {
    const [, plan] = await run({ ...VALUES, network: 'host' }, 'load', SAME_REPO_PR)
    const builds = calls().filter((a) => a[1] === 'build')
    // A pull request does not push: no base image is built.
    expect(builds.map((a) => after(a, '--target')).sort()).toEqual(['runtime', 'wheels'])
    expect(calls().filter((a) => a[1] === 'bake')).toEqual([])
    for (const argv of builds) {
      expect(argv.filter((a, i) => argv[i - 1] === '--build-arg')).toEqual([
        ...Object.entries(EXPECTED_ARGS).map(([k, v]) => `${k}=${v}`),
        `SOURCE_DATE_EPOCH=${FACTS.sourceDateEpoch}`
      ])
      expect(after(argv, '--network')).toBe('host')
      expect(argv.at(-1)).toBe(plan.common.context)
    }
    const runtime = builds.find((a) => after(a, '--target') === 'runtime') ?? []
    const labels = runtime.filter((a, i) => runtime[i - 1] === '--label')
    expect(labels).toEqual(plan.common.labels)
    expect(labels.at(-1)).toBe('org.example.l=${x}')
  })
})

// "No broken image: every compiled module must load on every platform before a push": after the
// build, each platform's image runs check_libs.py with its own python3 and dynamic loader, in
// the container of its smoke test, after it.
describe('execute: every compiled module must load, checked on each platform before a push', () => {
  const PLATFORMS = 'linux/amd64,linux/arm/v7'
  const UNLOADABLE = {
    module: 'psycopg2._psycopg',
    file: 'psycopg2/_psycopg.cpython-312-arm-linux-gnueabihf.so',
    missing: ['libpq.so.5']
  }

  /** The check on `platform` reports `found`; every other call as the registry fake answers. */
  function checkReports(platform: string, found: unknown[]): void {
    withRegistry()
    checkRuns = (p) =>
      p === platform ? { exitCode: 0, stdout: `${JSON.stringify(found)}\n`, stderr: '' } : CHECK_OK
  }

  test.each<[string, Engine['delivery'], (plan: BuildPlan) => string]>([
    ['docker driver (load): the loaded image', 'load', (plan) => plan.local.runtime],
    [
      'docker-container driver (digest): the image pushed by digest, before any tag',
      'digest',
      () => `ghcr.io/org/app@${RUNTIME_DIGEST}`
    ]
  ])('a release, %s: one check per platform, then the push', async (_name, delivery, image) => {
    const refs = withRegistry()
    const [result, plan] = await run({ platforms: PLATFORMS }, delivery)
    expect(plan.push.push).toBe(true)
    expect(result.pushed).toBe(true)
    const checks = calls().filter(isTest)
    expect(checks.map((a) => [testOf(a).platform, testOf(a).image])).toEqual(
      plan.platforms.map((p) => [p, image(plan)])
    )
    for (const a of checks) {
      expect(a.slice(0, 2)).toEqual(['run', '--rm'])
      // the image's own python3 runs check_libs.py, given whole as one --env value
      expect(testOf(a).check).toBe(CHECK_LIBS)
      expect(testOf(a).smoke).toBe(plan.smokeTest)
    }
    // silent, and a failing check is a result to read, not a thrown DockerError
    const opts = docker.mock.calls.filter(([a]) => isTest(a)).map(([, o]) => o)
    expect(opts).toEqual(checks.map(() => ({ allowFailure: true, silent: true })))
    // every check is over before the first registry write of the push ...
    const firstWrite = Math.min(...order(isRegistryWrite))
    expect(Number.isFinite(firstWrite)).toBe(true)
    expect(Math.max(...order(isTest))).toBeLessThan(firstWrite)
    // ... and before the checks the registry was only read, once: the access check
    const firstCheck = Math.min(...order(isTest))
    const registryCalls = calls().filter(isRegistry)
    expect(registryCalls.length - callsAfter(firstCheck, isRegistry).length).toBe(1)
    expect(registryCalls[0]).toEqual(accessCheck(plan.slimTags[0] ?? ''))
    expect([...refs.keys()]).toContain(plan.runRefs.slim[0])
    expect(result.platforms.map((r) => typeof r.testSeconds)).toEqual(['number', 'number'])
  })

  test.each<[string, Engine['delivery'], WorkflowContext]>([
    ['a release, docker driver (load)', 'load', pushContext()],
    ['a release, docker-container driver (digest)', 'digest', pushContext()],
    ['a pull request, docker-container driver (load-each)', 'digest', SAME_REPO_PR]
  ])(
    '%s: a module missing a library fails the run naming it, nothing tagged',
    async (_name, delivery, ctx) => {
      checkReports('linux/arm/v7', [UNLOADABLE])
      const outcome = run({ platforms: PLATFORMS }, delivery, ctx)
      await expect(outcome).rejects.toThrow(
        /^Compiled modules cannot load on linux\/arm\/v7, the image lacks a shared library: /
      )
      const message = await outcome.then(
        () => '',
        (e: unknown) => (e as Error).message
      )
      expect(message).toContain(
        'module psycopg2._psycopg (psycopg2/_psycopg.cpython-312-arm-linux-gnueabihf.so) needs libpq.so.5'
      )
      expect(message).not.toContain('linux/amd64')
      expect(message.endsWith('\nNothing was pushed.')).toBe(true)
      // no tag, no push; a pushing run read the registry once, before the build (access)
      expect(calls().filter(isRegistryWrite)).toEqual([])
      expect(calls().filter(isRegistry)).toEqual(
        ctx.eventName === 'push' ? [accessCheck(EDGE)] : []
      )
      // A release on a docker-container builder uploads the image by digest during the build,
      // untagged, so that it can be tested; every other delivery keeps it in the engine.
      const writes = registryWrites(readBake(join(tempDir, 'bake.json')))
      expect(writes.length > 0).toBe(delivery === 'digest' && ctx.eventName === 'push')
      expect(writes.filter((w) => !w.includes('push-by-digest=true'))).toEqual([])
    }
  )

  test('a run that loads its images writes nothing at all to a registry when the check fails', async () => {
    checkReports('linux/amd64', [UNLOADABLE])
    await expect(run({ platforms: PLATFORMS }, 'load')).rejects.toThrow(
      /^Compiled modules cannot load on linux\/amd64/
    )
    expect(registryWrites(readBake(join(tempDir, 'bake.json')))).toEqual([])
    // only the access check before the build read the registry
    expect(calls().filter(isRegistry)).toEqual([accessCheck(EDGE)])
    expect(calls().filter(isRegistryWrite)).toEqual([])
  })

  test.each<[string, string, string, string]>([
    [
      'on (default): the package is not in the build stage',
      'true',
      'No Debian package in the build stage ships it: add the package to runtime-packages (and its -dev package to build-packages).',
      'auto-runtime-packages: true'
    ],
    [
      'off: the action was told not to look',
      'false',
      'Add the Debian package that ships it to runtime-packages, or set auto-runtime-packages: true to let the action find it.',
      'No Debian package in the build stage'
    ]
  ])('auto-runtime-packages %s: the fix it suggests', async (_name, auto, fix, notFix) => {
    checkReports('linux/arm/v7', [UNLOADABLE])
    const outcome = run({ platforms: PLATFORMS, 'auto-runtime-packages': auto }, 'load')
    const message = await outcome.then(
      () => '',
      (e: unknown) => (e as Error).message
    )
    expect(message).toContain(`libpq.so.5. ${fix}\nNothing was pushed.`)
    expect(message).not.toContain(notFix)
  })

  test('several modules and libraries: each named, in the order the check found them', async () => {
    const more = {
      module: 'lxml.etree',
      file: 'lxml/etree.so',
      missing: ['libxslt.so.1', 'libexslt.so.0']
    }
    checkReports('linux/amd64', [UNLOADABLE, more])
    await expect(run({ platforms: 'linux/amd64' }, 'load')).rejects.toThrow(
      'needs libpq.so.5; module lxml.etree (lxml/etree.so) needs libxslt.so.1, libexslt.so.0. '
    )
  })

  // A smoke test of the user's own (no python3 in it) passes on an image without python3: the
  // check, after the mark, cannot start.
  test('a check that cannot run fails the run naming the platform and what it printed', async () => {
    withRegistry()
    smokeRuns = () => ({ exitCode: 0, stdout: 'my-app 1.0.0\n', stderr: '' })
    checkRuns = () => ({
      exitCode: 127,
      stdout: '',
      stderr: '/bin/sh: 1: exec: python3: not found\n'
    })
    const outcome = run({ platforms: 'linux/arm64', 'smoke-test': 'my-app --version' }, 'load')
    await expect(outcome).rejects.toThrow(
      /^Could not check the compiled modules on linux\/arm64: \/bin\/sh: 1: exec: python3: not found\nNothing was pushed\.$/
    )
    expect(calls().filter(isRegistry)).toEqual([accessCheck(EDGE)])
  })

  test('a check that crashes: its traceback in the message, not a smoke test failure', async () => {
    withRegistry()
    const traceback =
      'Traceback (most recent call last):\n  File "<string>", line 60, in <module>\nPermissionError: [Errno 13] Permission denied: \'/usr/local/lib\'\n'
    checkRuns = (p) =>
      p === 'linux/arm/v7' ? { exitCode: 1, stdout: '', stderr: traceback } : CHECK_OK
    const outcome = run({ platforms: PLATFORMS }, 'load')
    await expect(outcome).rejects.toThrow(
      `Could not check the compiled modules on linux/arm/v7: ${traceback.trim()}\nNothing was pushed.`
    )
    await expect(outcome).rejects.not.toThrow(/Smoke test failed/)
    expect(calls().filter(isRegistryWrite)).toEqual([])
  })

  test('a failing smoke test and a clean check: the smoke test is what fails', async () => {
    smokeRuns = () => ({ exitCode: 1, stdout: '', stderr: 'boom' })
    await expect(run({ platforms: 'linux/amd64' }, 'load')).rejects.toThrow(
      /^Smoke test failed on linux\/amd64/
    )
  })
})

// The smoke test and the module check run in one container per platform. The two scripts travel
// only as --env values; the -c script names the variables and prints a mark between the smoke
// test's output and the check's JSON.
describe('execute: one test container per platform, the smoke test then the module check', () => {
  const HOSTILE_SMOKE = `python3 -c 'import my_app; print("$HOME")'\necho "it's \`id\`; $(id)" && exit 0`

  test('argv: the scripts only in --env values, never in the -c script', async () => {
    const [, plan] = await run(
      { platforms: 'linux/amd64,linux/arm/v7', 'smoke-test': HOSTILE_SMOKE },
      'load',
      SAME_REPO_PR
    )
    const tests = calls().filter(isTest)
    expect(tests).toHaveLength(2)
    const script = tests[0]?.at(-1) ?? ''
    tests.forEach((a, i) => {
      expect(a).toEqual([
        'run',
        '--rm',
        '--platform',
        plan.platforms[i],
        '--entrypoint',
        '/bin/sh',
        '--env',
        `WHEEL_SLIM_SMOKE_TEST=${HOSTILE_SMOKE}`,
        '--env',
        `WHEEL_SLIM_CHECK=${CHECK_LIBS}`,
        '--env',
        `WHEEL_SLIM_MARK=${envOf(a)['WHEEL_SLIM_MARK']}`,
        plan.local.runtime,
        '-c',
        script
      ])
    })
    // the -c script names the three variables, quoted, and prints the mark between the outputs;
    // the mark is the run's own: the fixed words and a random one
    expect(script).toContain('"$WHEEL_SLIM_SMOKE_TEST"')
    expect(script).toContain('"$WHEEL_SLIM_CHECK"')
    expect(script).toContain('"$WHEEL_SLIM_MARK"')
    expect(script.indexOf('$WHEEL_SLIM_SMOKE_TEST')).toBeLessThan(
      script.indexOf('$WHEEL_SLIM_MARK')
    )
    // the check's output, held, comes after the mark
    expect(script.indexOf('echo "$WHEEL_SLIM_MARK"')).toBeGreaterThan(-1)
    expect(script.indexOf('echo "$WHEEL_SLIM_MARK"')).toBeLessThan(script.indexOf('"$c"'))
    const marks = tests.map((a) => envOf(a)['WHEEL_SLIM_MARK'] ?? '')
    for (const m of marks) expect(m).toMatch(/^@@wheel-slim: compiled modules [0-9a-f]{16}@@$/)
    expect(new Set(marks).size).toBe(marks.length)
    // ... and holds no part of either script
    const parts = [...HOSTILE_SMOKE.split('\n'), ...CHECK_LIBS.split('\n')]
      .map((l) => l.trim())
      .filter((l) => l.length >= 8)
    expect(parts.length).toBeGreaterThan(10)
    expect(parts.filter((l) => script.includes(l))).toEqual([])
    for (const piece of ['$HOME', '`id`', '$(id)', 'import my_app', 'import json']) {
      expect(script).not.toContain(piece)
    }

    // the same script whatever the smoke test
    docker.mockClear()
    await run({ platforms: 'linux/amd64', 'smoke-test': 'my-app --version' }, 'load', SAME_REPO_PR)
    expect(
      calls()
        .filter(isTest)
        .map((a) => a.at(-1))
    ).toEqual([script])
  })

  // The fake's testContainer emulates the -c script; here the script itself runs, in a real
  // /bin/sh with the --env values, a python3 on PATH standing in for the image's.
  test.each<[string, string, Record<string, string>, Ran, Ran]>([
    [
      'a smoke test that passes, writing to both streams',
      `echo "smoke says hi"; echo 'a warning' >&2`,
      {},
      { exitCode: 0, stdout: 'smoke says hi\n', stderr: 'a warning\n' },
      CHECK_OK
    ],
    [
      'a smoke test that prints no newline at the end',
      `printf 'no newline'`,
      {},
      { exitCode: 0, stdout: 'no newline', stderr: '' },
      CHECK_OK
    ],
    [
      'a smoke test that fails: its exit code, nothing after it',
      `echo partial; echo boom >&2; exit 3`,
      {},
      { exitCode: 3, stdout: 'partial\n', stderr: 'boom\n' },
      CHECK_OK
    ],
    [
      'a check that fails after the smoke test passed',
      'echo ok',
      { FAKE_CHECK: '', FAKE_CHECK_EXIT: '1', FAKE_CHECK_ERR: 'MemoryError' },
      { exitCode: 0, stdout: 'ok\n', stderr: '' },
      { exitCode: 1, stdout: '', stderr: 'MemoryError\n' }
    ],
    [
      'a check that finds a module that cannot load',
      'true',
      { FAKE_CHECK: '[{"module": "m", "file": "m.so", "missing": ["libx.so.1"]}]' },
      { exitCode: 0, stdout: '', stderr: '' },
      {
        exitCode: 0,
        stdout: '[{"module": "m", "file": "m.so", "missing": ["libx.so.1"]}]\n',
        stderr: ''
      }
    ]
  ])('the -c script itself, run by /bin/sh: %s', async (_name, smoke, fake, smokeRan, checkRan) => {
    await run({ platforms: 'linux/amd64', 'smoke-test': smoke }, 'load', SAME_REPO_PR).catch(
      () => undefined
    )
    const args = calls().find(isTest) ?? []
    const bin = join(tempDir, 'bin')
    mkdirSync(bin)
    writeFileSync(
      join(bin, 'python3'),
      [
        '#!/bin/sh',
        // check_libs.py, exactly as the --env value carries it, or nothing
        '[ "$1" = -c ] && [ "$2" = "$WHEEL_SLIM_CHECK" ] && [ $# -eq 2 ] || { echo "python3: not the check: $*" >&2; exit 99; }',
        '[ -z "$FAKE_CHECK_ERR" ] || echo "$FAKE_CHECK_ERR" >&2',
        '[ -z "$FAKE_CHECK" ] || echo "$FAKE_CHECK"',
        'exit "${FAKE_CHECK_EXIT:-0}"',
        ''
      ].join('\n'),
      { mode: 0o755 }
    )
    const r = spawnSync('/bin/sh', ['-c', args.at(-1) ?? ''], {
      env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_CHECK: '[]', ...fake, ...envOf(args) },
      encoding: 'utf8'
    })
    const real = { exitCode: r.status, stdout: r.stdout, stderr: r.stderr }
    const expected =
      smokeRan.exitCode !== 0
        ? smokeRan
        : {
            exitCode: checkRan.exitCode,
            stdout: `${smokeRan.stdout}\n${envOf(args)['WHEEL_SLIM_MARK']}\n${checkRan.stdout}`,
            stderr: smokeRan.stderr + checkRan.stderr
          }
    expect(real).toEqual(expected)
    // the fake's emulation answers the same argv the same way
    smokeRuns = () => smokeRan
    checkRuns = () => checkRan
    expect(testContainer(args)).toEqual(expected)
  })

  test('the smoke output is what came before the mark; the log says both passed', async () => {
    wheelReports = {
      'linux/amd64': { path: 'build host', reason: '', wheels: [] },
      'linux/arm/v7': { path: 'target', reason: 'psycopg2 has no wheel for it', wheels: [] }
    }
    smokeRuns = (p) => ({ exitCode: 0, stdout: `my-app 1.0.0 on ${p}\nsecond line\n`, stderr: '' })
    const [result] = await run({ platforms: 'linux/amd64,linux/arm/v7' }, 'load', SAME_REPO_PR)
    expect(result.platforms.map((r) => r.smokeOutput)).toEqual([
      'my-app 1.0.0 on linux/amd64\nsecond line',
      'my-app 1.0.0 on linux/arm/v7\nsecond line'
    ])
    const infos = core.info.mock.calls.map(([m]) => String(m))
    const said = infos.filter((m) => m.includes('smoke test passed'))
    expect(said).toHaveLength(2)
    expect(said[0]).toMatch(
      /^linux\/amd64: smoke test passed and every compiled module loads \(\d+(\.\d)? s\); wheels all found on the build host, nothing emulated$/
    )
    expect(said[1]).toMatch(
      /^linux\/arm\/v7: smoke test passed and every compiled module loads \(\d+(\.\d)? s\); wheels compiled on the target: psycopg2 has no wheel for it$/
    )
    expect(result.platforms.every((r) => r.testSeconds >= 0)).toBe(true)
  })

  /** What input smoke-test defaults to for the package of FACTS. */
  const DEFAULT_SMOKE = "python3 -c 'import my_app'"

  // [what fails, smoke test, check, the whole message]
  test.each<[string, Ran, Ran, string]>([
    [
      'the smoke test (no mark): its exit code, the command and its stderr',
      {
        exitCode: 2,
        stdout: 'partial\n',
        stderr:
          'Traceback (most recent call last):\nImportError: libpq.so.5: cannot open shared object file\n'
      },
      CHECK_OK,
      `Smoke test failed on linux/arm/v7 (exit 2): ${DEFAULT_SMOKE}\nTraceback (most recent call last):\nImportError: libpq.so.5: cannot open shared object file\nNothing was pushed.`
    ],
    [
      'the smoke test, silent on stderr: the end of its stdout',
      {
        exitCode: 1,
        stdout: Array.from({ length: 12 }, (_, i) => `line ${i + 1}`).join('\n'),
        stderr: ''
      },
      CHECK_OK,
      `Smoke test failed on linux/arm/v7 (exit 1): ${DEFAULT_SMOKE}\n${Array.from({ length: 10 }, (_, i) => `line ${i + 3}`).join('\n')}\nNothing was pushed.`
    ],
    [
      'the check, after the mark, cannot run',
      SMOKE_OK,
      { exitCode: 1, stdout: '', stderr: 'MemoryError\n' },
      'Could not check the compiled modules on linux/arm/v7: MemoryError\nNothing was pushed.'
    ],
    [
      'the check finds a module that cannot load',
      SMOKE_OK,
      {
        exitCode: 0,
        stdout: '[{"module": "m", "file": "m.so", "missing": ["libx.so.1"]}]\n',
        stderr: ''
      },
      'Compiled modules cannot load on linux/arm/v7, the image lacks a shared library: module m (m.so) needs libx.so.1. No Debian package in the build stage ships it: add the package to runtime-packages (and its -dev package to build-packages).\nNothing was pushed.'
    ]
  ])('fails when %s', async (_name, smokeRan, checkRan, message) => {
    withRegistry()
    smokeRuns = (p) => (p === 'linux/arm/v7' ? smokeRan : SMOKE_OK)
    checkRuns = (p) => (p === 'linux/arm/v7' ? checkRan : CHECK_OK)
    const error = await run({ platforms: 'linux/amd64,linux/arm/v7' }, 'load').then(
      () => undefined,
      (e: unknown) => e as Error
    )
    expect(
      calls()
        .filter(isTest)
        .map((a) => testOf(a).smoke)
    ).toEqual([DEFAULT_SMOKE, DEFAULT_SMOKE])
    expect(error?.message).toBe(message)
    // a release run: nothing written to the registry (the smoke test or the check came first)
    expect(calls().filter(isRegistryWrite)).toEqual([])
  })

  // Text like the mark that is not the mark's own line stays the smoke test's output.
  test.each<[string, string]>([
    ['the mark and more on its line', `${MARK} (not the check)\n`],
    ['the mark less its last character', `${MARK.slice(0, -1)}\n`],
    ['the mark in capitals', `${MARK.toUpperCase()}\n`],
    ['the mark with a carriage return', `${MARK}\r\n`],
    ['the mark, with no newline, as the last output', `ok\n${MARK}`]
  ])('a smoke test that prints %s passes, its output as it printed it', async (_name, out) => {
    smokeRuns = () => ({ exitCode: 0, stdout: out, stderr: '' })
    const [result] = await run({ platforms: 'linux/amd64' }, 'load', SAME_REPO_PR)
    expect(result.platforms[0]?.smokeOutput).toBe(out.trim())
  })

  // A smoke test line that ends with (or is) the mark's fixed words is not the mark: the mark is a
  // line of its own with the run's random word.
  test.each<[string, string]>([
    ['a line that ends with the mark', `smoke says ${MARK}\n`],
    ['the mark indented', `  ${MARK}\n`]
  ])('a smoke test that prints %s passes, its output as it printed it', async (_name, out) => {
    smokeRuns = () => ({ exitCode: 0, stdout: out, stderr: '' })
    const [result] = await run({ platforms: 'linux/amd64' }, 'load', SAME_REPO_PR)
    expect(result.platforms[0]?.smokeOutput).toBe(out.trim())
  })

  // A failing smoke test whose last line ends with the mark's words is a smoke test failure.
  test("a failing smoke test whose output ends with the mark's text is a smoke test failure", async () => {
    smokeRuns = () => ({
      exitCode: 1,
      stdout: `checking ${MARK}\n`,
      stderr: "ModuleNotFoundError: No module named 'my_app'\n"
    })
    const outcome = run({ platforms: 'linux/amd64' }, 'load', SAME_REPO_PR)
    await expect(outcome).rejects.toThrow(/^Smoke test failed on linux\/amd64 \(exit 1\)/)
  })
})

// Once the run's own refs are in the registry and read back, the other tags move: a loaded
// image of several platforms is an index, copied registry-side with `buildx imagetools create`
// (one call per repository for the base tags and one for the slim tags); a loaded image of one
// platform is pushed under each tag (imagetools would wrap its lone manifest in a new index).
describe('execute: the other tags, registry-side for several platforms, pushed for one', () => {
  const RELEASE = pushContext({ ref: 'refs/tags/v1.0.0' })
  const IMAGES = 'ghcr.io/org/app\ndocker.io/org/app'
  const repoOf = (ref: string): string => ref.slice(0, ref.lastIndexOf(':'))
  const isCreate = (a: string[]): boolean => a[1] === 'imagetools' && a[2] === 'create'

  test('two platforms, loaded: the run refs by docker push, then imagetools create per repository', async () => {
    const refs = withRegistry()
    const [result, plan] = await run(
      { image: IMAGES, platforms: 'linux/amd64,linux/arm/v7' },
      'load',
      RELEASE
    )
    const early = [...plan.runRefs.base, ...plan.runRefs.slim]
    const lateBase = plan.baseTags.filter((r) => !early.includes(r))
    const lateSlim = plan.slimTags.filter((r) => !early.includes(r))
    expect(plan.repositories).toEqual(['ghcr.io/org/app', 'docker.io/org/app'])
    expect(lateSlim.length).toBeGreaterThan(2)

    // docker push: the run's own refs only, each read back before any tag moves; the base and
    // the slim index side by side, the refs of each one after another
    const pushed = calls()
      .filter((a) => a[0] === 'push')
      .map((a) => a[1] as string)
    expect(pushed.filter((r) => plan.runRefs.base.includes(r))).toEqual(plan.runRefs.base)
    expect(pushed.filter((r) => plan.runRefs.slim.includes(r))).toEqual(plan.runRefs.slim)
    expect(pushed).toHaveLength(early.length)
    const creates = calls().filter(isCreate)
    const tagArgs = (list: string[]): string[] => list.flatMap((r) => ['--tag', r])
    const byText = (list: string[][]): string[][] =>
      [...list].sort((a, b) => a.join(' ').localeCompare(b.join(' ')))
    expect(byText(creates)).toEqual(
      byText(
        plan.repositories.flatMap((repo) => [
          [
            'buildx',
            'imagetools',
            'create',
            ...tagArgs(lateBase.filter((r) => repoOf(r) === repo)),
            `${repo}@${BASE_DIGEST}`
          ],
          [
            'buildx',
            'imagetools',
            'create',
            ...tagArgs(lateSlim.filter((r) => repoOf(r) === repo)),
            `${repo}@${RUNTIME_DIGEST}`
          ]
        ])
      )
    )
    const lastPush = Math.max(...order((a) => a[0] === 'push'))
    const firstCreate = Math.min(...order(isCreate))
    expect(lastPush).toBeLessThan(firstCreate)
    // each run ref read back after its push, before the first create
    for (const ref of early) {
      const pushed = Math.min(...order((a) => a[0] === 'push' && a[1] === ref))
      const reads = order((a) => a[2] === 'inspect' && a[3] === ref)
      expect(reads.some((n) => n > pushed && n < firstCreate)).toBe(true)
    }
    // every tag read once after the tests (where it was when the push began), moved to the
    // tested digest, and read back after its create
    const tested = Math.max(...order(isTest))
    for (const ref of [...lateBase, ...lateSlim]) {
      const reads = order((a) => a[2] === 'inspect' && a[3] === ref)
      expect(reads.filter((n) => n > tested && n < firstCreate)).toHaveLength(1)
      expect([ref, refs.get(ref)]).toEqual([
        ref,
        lateBase.includes(ref) ? BASE_DIGEST : RUNTIME_DIGEST
      ])
      expect(
        callsAfter(firstCreate, (a) => a[2] === 'inspect' && a[3] === ref).length
      ).toBeGreaterThan(0)
    }
    expect(result.moves.map((m) => [m.ref, m.to])).toEqual(
      [...early, ...lateBase, ...lateSlim].map((r) => [
        r,
        plan.baseTags.includes(r) || plan.runRefs.base.includes(r) ? BASE_DIGEST : RUNTIME_DIGEST
      ])
    )
  })

  test('the versions of the floating tags already there are read beside the push, not after it', async () => {
    const refs = withRegistry()
    const latest = 'ghcr.io/org/app:latest'
    refs.set(latest, 'sha256:' + 'e'.repeat(64))
    const [, plan] = await run(
      { image: IMAGES, platforms: 'linux/amd64,linux/arm/v7' },
      'load',
      RELEASE
    )
    expect(plan.floating).toContain(latest)
    const labels = order(
      (a) => a[2] === 'inspect' && a[3] === latest && a.includes('{{json .Image}}')
    )
    expect(labels).toHaveLength(1)
    // before the first run ref is pushed: the read no longer waits for the push
    expect(labels[0]).toBeLessThan(Math.min(...order((a) => a[0] === 'push')))
    expect(refs.get(latest)).toBe(RUNTIME_DIGEST)
  })

  test("the pushed sizes are read from the run's own refs while the other tags move", async () => {
    withRegistry()
    const [result, plan] = await run(
      { image: IMAGES, platforms: 'linux/amd64,linux/arm/v7' },
      'load',
      RELEASE
    )
    const raw = (ref: string) => (a: string[]) =>
      a[2] === 'inspect' && a[3] === ref && a.includes('--raw')
    const firstCreate = Math.min(...order(isCreate))
    const lastPush = Math.max(...order((a) => a[0] === 'push'))
    for (const ref of [plan.runRefs.slim[0] as string, plan.runRefs.base[0] as string]) {
      const reads = order(raw(ref))
      expect(reads.length).toBeGreaterThan(0)
      expect(Math.min(...reads)).toBeGreaterThan(lastPush)
      expect(Math.min(...reads)).toBeLessThan(firstCreate)
    }
    expect(result.platforms.map((p) => typeof p.pushedSlimBytes)).toEqual(['number', 'number'])
    expect(result.platforms.map((p) => typeof p.pushedBaseBytes)).toEqual(['number', 'number'])
  })

  test('one platform, loaded: every tag by docker push, no imagetools create', async () => {
    const refs = withRegistry()
    const [result, plan] = await run({ image: IMAGES, platforms: 'linux/arm64' }, 'load', RELEASE)
    const early = [...plan.runRefs.base, ...plan.runRefs.slim]
    const late = [...plan.baseTags, ...plan.slimTags].filter((r) => !early.includes(r))
    expect(late.length).toBeGreaterThan(4)
    // the base and the slim image side by side, the tags of each one after another, the run's first
    const pushed = calls()
      .filter((a) => a[0] === 'push')
      .map((a) => a[1] as string)
    const isBase = (r: string): boolean =>
      plan.baseTags.includes(r) || plan.runRefs.base.includes(r)
    expect(pushed.filter(isBase)).toEqual([...early, ...late].filter(isBase))
    expect(pushed.filter((r) => !isBase(r))).toEqual([...early, ...late].filter((r) => !isBase(r)))
    expect(pushed).toHaveLength(early.length + late.length)
    // every run ref before any other tag
    expect(Math.max(...early.map((r) => pushed.indexOf(r)))).toBeLessThan(
      Math.min(...late.map((r) => pushed.indexOf(r)))
    )
    expect(calls().filter(isCreate)).toEqual([])
    for (const ref of late)
      expect(refs.get(ref)).toBe(plan.baseTags.includes(ref) ? BASE_DIGEST : RUNTIME_DIGEST)
    expect(result.moves.filter((m) => m.from === undefined)).toHaveLength(
      early.length + late.length
    )
  })

  test('two platforms, pushed by digest: nothing by docker push, every tag by imagetools create', async () => {
    const refs = withRegistry()
    const [, plan] = await run(
      { image: IMAGES, platforms: 'linux/amd64,linux/arm/v7' },
      'digest',
      RELEASE
    )
    expect(calls().filter((a) => a[0] === 'push')).toEqual([])
    const created = calls()
      .filter(isCreate)
      .flatMap((a) => a.filter((_, i) => a[i - 1] === '--tag'))
    expect(created.sort()).toEqual(
      [...plan.runRefs.base, ...plan.runRefs.slim, ...plan.baseTags, ...plan.slimTags]
        .filter((r, i, all) => all.indexOf(r) === i)
        .sort()
    )
    expect(calls().filter(isCreate)).toHaveLength(4)
    for (const ref of created) expect(refs.get(ref)).toBeDefined()
  })
})

// Registry operations go through one place (registry.ts attempt()): a transient failure is tried
// again after a pause (WHEEL_SLIM_REGISTRY_BACKOFF_MS, "100" here: one retry), a refused login
// and an unreachable registry are said plainly, anything else is the caller's to read.
describe('execute: registry faults', () => {
  const status = (ref: string, code: string): DockerResult => ({
    exitCode: 1,
    stdout: '',
    stderr: `ERROR: unexpected status from HEAD request to https://${ref.split('/')[0]}/v2/${ref.split('/').slice(1).join('/').replace(':', '/manifests/')}: ${code}\n`
  })
  const same = (a: string[], b: string[]): boolean => JSON.stringify(a) === JSON.stringify(b)
  const firstBuild = (): number =>
    Math.min(...order((a) => a[0] === 'buildx' && (a[1] === 'bake' || a[1] === 'build')))
  const retries = (): string[] =>
    core.info.mock.calls.map(([m]) => String(m)).filter((m) => m.includes('retrying'))

  /** The registry fake (its refs returned), with `fault` answering first when it has a result. */
  function faulty(fault: (args: string[]) => DockerResult | undefined): Map<string, string> {
    const refs = withRegistry()
    const registry = docker.getMockImplementation() as NonNullable<
      ReturnType<typeof docker.getMockImplementation>
    >
    docker.mockImplementation(async (args, opts) => fault(args) ?? registry(args, opts))
    return refs
  }
  /** `result` for the first `n` calls that `pick` selects. */
  const times = (
    n: number,
    pick: (a: string[]) => boolean,
    result: DockerResult
  ): ((args: string[]) => DockerResult | undefined) => {
    let left = n
    return (args: string[]): DockerResult | undefined =>
      pick(args) && left-- > 0 ? result : undefined
  }

  test('a 503 on a read, then an answer: tried again once, after "retrying in 0.1 s"', async () => {
    faulty(times(1, (a) => same(a, accessCheck(EDGE)), status(EDGE, '503 Service Unavailable')))
    const [result] = await run({}, 'load')
    expect(result.pushed).toBe(true)
    const reads = docker.mock.calls
      .map(([a], i) => [a, docker.mock.invocationCallOrder[i] ?? 0] as const)
      .filter(([a, n]) => same(a, accessCheck(EDGE)) && n < firstBuild())
    expect(reads).toHaveLength(2)
    expect(retries()).toEqual([
      `Registry ghcr.io: read ${EDGE} failed (${status(EDGE, '503 Service Unavailable').stderr.trim()}); retrying in 0.1 s`
    ])
  })

  test('a 503 twice: one retry (the pauses configured), then the read fails plainly, nothing built', async () => {
    faulty(times(2, (a) => same(a, accessCheck(EDGE)), status(EDGE, '503 Service Unavailable')))
    await expect(run({}, 'load')).rejects.toThrow(
      `Registry: could not read ${EDGE}: ERROR: unexpected status from HEAD request to https://ghcr.io/v2/org/app/manifests/edge: 503 Service Unavailable`
    )
    expect(retries()).toHaveLength(1)
    expect(calls().filter((a) => a[1] === 'bake' || a[1] === 'build')).toEqual([])
  })

  test('a 400 on a read is not tried again', async () => {
    faulty(times(1, (a) => same(a, accessCheck(EDGE)), status(EDGE, '400 Bad Request')))
    await expect(run({}, 'load')).rejects.toThrow(
      `Registry: could not read ${EDGE}: ERROR: unexpected status from HEAD request to https://ghcr.io/v2/org/app/manifests/edge: 400 Bad Request`
    )
    expect(calls().filter((a) => same(a, accessCheck(EDGE)))).toHaveLength(1)
    expect(retries()).toEqual([])
    expect(calls().filter((a) => a[1] === 'bake' || a[1] === 'build')).toEqual([])
  })

  test('a 502 on imagetools create: tried again, the tags end on the tested digest', async () => {
    const isCreate = (a: string[]): boolean => a[1] === 'imagetools' && a[2] === 'create'
    const bad: DockerResult = {
      exitCode: 1,
      stdout: '',
      stderr: 'ERROR: failed commit on ref "index-sha256:x": unexpected status: 502 Bad Gateway\n'
    }
    const refs = faulty(times(1, isCreate, bad))
    const [result, plan] = await run({ platforms: 'linux/amd64,linux/arm/v7' }, 'load')
    expect([refs.get(`${EDGE}-base`), refs.get(EDGE)]).toEqual([BASE_DIGEST, RUNTIME_DIGEST])
    expect(calls().filter(isCreate)).toHaveLength(3)
    expect(retries()).toHaveLength(1)
    expect(retries()[0]).toMatch(
      /^Registry ghcr\.io: tag ghcr\.io\/org\/app:edge-base failed \(.*502 Bad Gateway\); retrying in 0\.1 s$/
    )
    expect(result.moves.map((m) => m.ref).sort()).toEqual(
      [...plan.runRefs.base, ...plan.runRefs.slim, ...plan.baseTags, ...plan.slimTags]
        .filter((r, i, all) => all.indexOf(r) === i)
        .sort()
    )
  })

  test.each<[string, string, string, string, string]>([
    [
      'ghcr.io',
      'ghcr.io/org/app',
      'ghcr.io/org/app:edge',
      'ghcr.io',
      'ERROR: failed to authorize: no basic auth credentials'
    ],
    [
      'a registry with a port',
      'localhost:5000/org/app',
      'localhost:5000/org/app:edge',
      'localhost:5000',
      'ERROR: unexpected status from HEAD request to http://localhost:5000/v2/org/app/manifests/edge: 401 Unauthorized'
    ],
    [
      'Docker Hub',
      'org/app',
      'org/app:edge',
      'docker.io',
      'ERROR: failed to authorize: unauthorized: authentication required'
    ]
  ])(
    'a refused login on %s: names the registry and docker/login-action, before any build',
    async (_name, image, ref, registry, stderr) => {
      faulty((a) =>
        a[2] === 'inspect' ? { exitCode: 1, stdout: '', stderr: `${stderr}\n` } : undefined
      )
      await expect(run({ image }, 'load')).rejects.toThrow(
        `Registry ${registry}: authentication failed when trying to read ${ref} (${stderr}). Log in before this step, e.g. with docker/login-action (registry: ${registry}).`
      )
      expect(calls().filter((a) => a[2] === 'inspect')).toEqual([accessCheck(ref)])
      expect(retries()).toEqual([])
      expect(calls().filter((a) => a[1] === 'bake' || a[1] === 'build')).toEqual([])
      expect(calls().filter(isRegistryWrite)).toEqual([])
    }
  )

  test('a push refused for want of rights: the same plain error, for the push, nothing else pushed', async () => {
    const attempts = (): string[] =>
      calls()
        .filter((a) => a[0] === 'push')
        .map((a) => a[1] as string)
    const denied = 'denied: requested access to the resource is denied'
    faulty((a) =>
      a[0] === 'push'
        ? {
            exitCode: 1,
            stdout: 'The push refers to repository [ghcr.io/org/app]\n',
            stderr: `${denied}\n`
          }
        : undefined
    )
    const error = await run({}, 'load').then(
      () => undefined,
      (e: unknown) => e as Error
    )
    // the first ref of each index (base and slim go side by side), each once, then nothing more
    expect(attempts()).toEqual(['ghcr.io/org/app:sha-0123456-base', 'ghcr.io/org/app:sha-0123456'])
    expect(retries()).toEqual([])
    expect(error?.message).toBe(
      `Registry ghcr.io: authentication failed when trying to push ghcr.io/org/app:sha-0123456-base (${denied}). Log in before this step, e.g. with docker/login-action (registry: ghcr.io).`
    )
    expect(calls().filter((a) => a[1] === 'imagetools' && a[2] === 'create')).toEqual([])
  })

  test.each<[string, string, string, string]>([
    [
      'ghcr.io',
      'ghcr.io/org/app',
      'ghcr.io',
      'ERROR: failed to do request: Head "https://ghcr.io/v2/org/app/manifests/edge": dial tcp 140.82.112.33:443: connect: connection refused'
    ],
    [
      'a registry with a port',
      'localhost:5000/org/app',
      'localhost:5000',
      'ERROR: failed to do request: Head "http://localhost:5000/v2/org/app/manifests/edge": dial tcp [::1]:5000: connect: connection refused'
    ],
    [
      'a host that does not resolve',
      'registry.invalid/org/app',
      'registry.invalid',
      'ERROR: failed to do request: Head "https://registry.invalid/v2/org/app/manifests/edge": dial tcp: lookup registry.invalid on 127.0.0.53:53: no such host'
    ]
  ])(
    'an unreachable registry (%s): "cannot be reached", not tried again, nothing built',
    async (_name, image, registry, stderr) => {
      faulty((a) =>
        a[2] === 'inspect' ? { exitCode: 1, stdout: '', stderr: `${stderr}\n` } : undefined
      )
      await expect(run({ image }, 'load')).rejects.toThrow(
        `Registry ${registry} cannot be reached (to read ${image}:edge): ${stderr}`
      )
      expect(calls().filter((a) => a[2] === 'inspect')).toHaveLength(1)
      expect(retries()).toEqual([])
      expect(calls().filter((a) => a[1] === 'bake' || a[1] === 'build')).toEqual([])
    }
  )

  // The transient patterns are tried on the message without the reference: a "not found" for a
  // repository or tag that contains "eof" (geofence, videoforge) or a 5xx-like number (1.503.0)
  // is no transient failure.
  test.each<[string, RawInputs, string]>([
    [
      'a repository whose name contains "eof"',
      { image: 'ghcr.io/org/geofence' },
      'ghcr.io/org/geofence:edge'
    ],
    ['a tag with a number like a 5xx status', { tags: '1.503.0' }, 'ghcr.io/org/app:1.503.0']
  ])(
    'a tag not there yet, of %s, is read once: "not found" is no transient failure',
    async (_name, values, ref) => {
      withRegistry()
      const [result] = await run(values, 'load')
      expect(result.pushed).toBe(true)
      const before = calls().filter(
        (a, i) =>
          same(a, accessCheck(ref)) && (docker.mock.invocationCallOrder[i] ?? 0) < firstBuild()
      )
      expect(before).toHaveLength(1)
      expect(retries()).toEqual([])
    }
  )
})

// Before any build: a parent that does not fit and a registry that will not let this runner in
// stop the run while nothing is built or written.
describe('execute: the parent and the registry are checked before any build', () => {
  const PARENT = 'ghcr.io/org/svc:1.0-base'
  const isBuild = (a: string[]): boolean =>
    a[0] === 'buildx' && (a[1] === 'bake' || a[1] === 'build')
  const reads = (ref: string): number[] => order((a) => a[2] === 'inspect' && a[3] === ref)

  /** The registry fake, the parent in it: an index of `platforms`, labelled as this action does. */
  function withParent(platforms: string[], labels: Record<string, string>): void {
    const refs = withRegistry()
    refs.set(PARENT, `sha256:${'3'.repeat(64)}`)
    const registry = docker.getMockImplementation() as NonNullable<
      ReturnType<typeof docker.getMockImplementation>
    >
    docker.mockImplementation(async (args, opts) => {
      if (args[2] === 'inspect' && args[3] === PARENT && args.includes('--raw')) {
        const manifests = platforms.map((p) => {
          const [os, architecture, variant] = p.split('/')
          return { digest: `sha256:${'4'.repeat(64)}`, platform: { os, architecture, variant } }
        })
        return { exitCode: 0, stdout: JSON.stringify({ manifests }), stderr: '' }
      }
      if (args[2] === 'inspect' && args[3] === PARENT && args.includes('{{json .Image}}')) {
        const config = { config: { Labels: labels } }
        const image = Object.fromEntries(platforms.map((p) => [p, config]))
        return { exitCode: 0, stdout: JSON.stringify(image), stderr: '' }
      }
      return registry(args, opts)
    })
  }

  test('a parent that fits: read before the build, then the access check, then the build', async () => {
    withParent(['linux/amd64', 'linux/arm/v7'], { 'io.wheel-slim.wheel-dir': '/wheeley' })
    const [result, plan] = await run({ parent: PARENT }, 'load')
    expect(plan.spec.fromParent).toBe(true)
    expect(result.pushed).toBe(true)
    const build = Math.min(...order(isBuild))
    expect(reads(PARENT).length).toBeGreaterThan(0)
    expect(Math.max(...reads(PARENT))).toBeLessThan(Math.min(...reads(EDGE)))
    expect(Math.min(...reads(EDGE))).toBeLessThan(build)
  })

  test.each<[string, () => void, string]>([
    [
      'a parent that is not there',
      () => withRegistry(),
      'expected a base image this action pushed that exists; nothing is there.'
    ],
    [
      'a parent that lacks a platform',
      () => withParent(['linux/amd64'], { 'io.wheel-slim.wheel-dir': '/wheeley' }),
      'it holds linux/amd64 (missing linux/arm/v7)'
    ],
    [
      'a parent whose wheels are elsewhere',
      () => withParent(['linux/amd64', 'linux/arm/v7'], { 'io.wheel-slim.wheel-dir': '/w' }),
      'carries its wheels at /wheeley (wheel-dir); they are at /w'
    ]
  ])('%s: refused, naming parent, nothing built or written', async (_name, registry, message) => {
    registry()
    const outcome = run({ parent: PARENT }, 'load')
    await expect(outcome).rejects.toThrow(`Input "parent": ${JSON.stringify(PARENT)} is not valid`)
    await expect(outcome).rejects.toThrow(message)
    expect(calls().filter(isBuild)).toEqual([])
    expect(calls().filter(isTest)).toEqual([])
    expect(calls().filter(isRegistryWrite)).toEqual([])
    // the parent is checked first: the run's own tags were not even read
    expect(reads(EDGE)).toEqual([])
  })

  test('a run that does not push reads no tag of its own, only the parent', async () => {
    withParent(['linux/amd64', 'linux/arm/v7'], { 'io.wheel-slim.wheel-dir': '/wheeley' })
    await run({ parent: PARENT }, 'load', SAME_REPO_PR)
    expect(
      calls()
        .filter(isRegistry)
        .map((a) => a[3])
        .filter((r) => r !== PARENT)
    ).toEqual([])
  })
})

// The stage script refuses what cannot work (a runtime image that does not fit the builder, a
// package name that is none) with one "wheel-slim: ERROR: <message>" line in the build log.
describe('execute: a refusal from the build comes out in its own words', () => {
  const REFUSAL =
    "runtime-image python:3.12-slim-bullseye (glibc 2.31 (Debian GNU/Linux 11 (bullseye))) does not fit builder-image python:3.12 (glibc 2.36 (Debian GNU/Linux 12 (bookworm))): its glibc 2.31 is older than the builder's 2.36: the wheels would fail to load. Use a runtime image of the builder's release, e.g. python:3.12-slim-bookworm."
  const LOG = [
    '#14 [own 1/1] RUN --mount=type=bind,from=wheel-slim-tools,target=/wheel-slim/tools ["python3", "/wheel-slim/tools/wheel_slim.py", "own", "{}"]',
    `#14 0.412 wheel-slim: ERROR: ${REFUSAL}`,
    '#14 ERROR: process "python3 /wheel-slim/tools/wheel_slim.py own {}" did not complete successfully: exit code: 1',
    '------',
    ' > [own 1/1] RUN ["python3", "/wheel-slim/tools/wheel_slim.py", "own", "{}"]:',
    `0.412 wheel-slim: ERROR: ${REFUSAL}`,
    '------',
    'ERROR: failed to solve: process "python3 /wheel-slim/tools/wheel_slim.py own {}" did not complete successfully: exit code: 1',
    ''
  ].join('\n')

  const failBuilds = (result: DockerResult): void => {
    docker.mockImplementation(async (args) => {
      if (args[0] === 'buildx' && (args[1] === 'bake' || args[1] === 'build')) {
        throw new DockerError(args, result)
      }
      return fakeDocker(args)
    })
  }

  test.each<[string, RawInputs, DockerResult]>([
    ['bake (network default), the log on stderr', {}, { exitCode: 1, stdout: '', stderr: LOG }],
    [
      'buildx build (network host), the log on stderr',
      { network: 'host' },
      { exitCode: 1, stdout: '', stderr: LOG }
    ],
    ['bake, the log on stdout', {}, { exitCode: 1, stdout: LOG, stderr: 'exit status 1\n' }]
  ])('%s: the message and "Nothing was built or pushed."', async (_name, values, result) => {
    failBuilds(result)
    const outcome = run({ platforms: 'linux/amd64,linux/arm/v7', ...values }, 'load')
    const error = await outcome.then(
      () => undefined,
      (e: unknown) => e as Error
    )
    expect(error?.message).toBe(`${REFUSAL}\nNothing was built or pushed.`)
    expect(error?.cause).toBeInstanceOf(DockerError)
    // nothing ran after the build: no smoke test, no check, no registry (which was read once
    // before it: the access check)
    const build = Math.min(
      ...order((a) => a[0] === 'buildx' && (a[1] === 'bake' || a[1] === 'build'))
    )
    expect(callsAfter(build, (a) => a[0] === 'run' || isRegistry(a))).toEqual([])
    expect(calls().filter(isRegistry)).toEqual([accessCheck(EDGE)])
    expect(
      calls().filter((a) => a[0] === 'buildx' && (a[1] === 'bake' || a[1] === 'build'))
    ).toHaveLength(1)
  })

  test('only the first refusal, one line of it', async () => {
    failBuilds({
      exitCode: 1,
      stdout: '',
      stderr:
        '#9 0.1 wheel-slim: ERROR: not Debian package names, refused: Bad (from runtime-packages)\n#9 0.2 wheel-slim: ERROR: second\n'
    })
    await expect(run({}, 'load')).rejects.toThrow(
      /^not Debian package names, refused: Bad \(from runtime-packages\)\nNothing was built or pushed\.$/
    )
  })

  test('a build out of disk space: said plainly, the DockerError as its cause', async () => {
    failBuilds({
      exitCode: 1,
      stdout: '',
      stderr:
        '#12 ERROR: failed to copy files: copy file range failed: no space left on device\nERROR: failed to solve: failed to copy files: no space left on device\n'
    })
    const error = await run({}, 'load').then(
      () => undefined,
      (e: unknown) => e as Error
    )
    expect(error?.message).toBe(
      "The build ran out of disk space (no space left on device), in the runner's temp directory (RUNNER_TEMP) or the engine's. Nothing was pushed or saved."
    )
    expect(error?.cause).toBeInstanceOf(DockerError)
    expect(calls().filter(isTest)).toEqual([])
  })

  test('a build failure without a refusal fails with the DockerError itself', async () => {
    failBuilds({
      exitCode: 1,
      stdout: '',
      stderr: 'ERROR: failed to solve: python:3.12: not found\n'
    })
    const error = await run({}, 'load').then(
      () => undefined,
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(DockerError)
    expect((error as Error).message).not.toContain('Nothing was built')
  })
})

describe('execute: the runtime packages each platform installed reach the result and the metadata', () => {
  const PSYCOPG_ARM = 'psycopg2-2.9.9-cp312-cp312-linux_armv7l.whl'
  const report = (path: 'build host' | 'target', why: Record<string, string[]>): object => ({
    platform: 'x',
    path,
    reason: path === 'target' ? 'psycopg2 has no wheel for linux/arm/v7' : '',
    wheels: [PSYCOPG_ARM],
    built: path === 'target' ? [PSYCOPG_ARM] : [],
    reused: [],
    runtime_packages: Object.keys(why).sort(),
    runtime_packages_why: why
  })

  test.each<[string, 'default' | 'host']>([
    ['bake', 'default'],
    ['buildx build (network host)', 'host']
  ])(
    '%s: wheels-out/<platform>/wheel-slim.json → platforms[].runtimePackages',
    async (_name, network) => {
      wheelReports = {
        'linux/amd64': report('build host', { tzdata: ['runtime-packages'] }),
        'linux/arm/v7': report('target', {
          libpq5: [PSYCOPG_ARM],
          tzdata: ['runtime-packages', "the parent's runtime-packages"]
        })
      }
      const [result, plan] = await run(
        { platforms: 'linux/amd64,linux/arm/v7', push: 'false', network },
        'load',
        SAME_REPO_PR
      )
      expect(plan.files.wheelsOut).toBe(join(tempDir, 'wheels-out'))
      expect(
        Object.fromEntries(result.platforms.map((r) => [r.platform, r.runtimePackages]))
      ).toEqual({
        'linux/amd64': { tzdata: ['runtime-packages'] },
        'linux/arm/v7': {
          libpq5: [PSYCOPG_ARM],
          tzdata: ['runtime-packages', "the parent's runtime-packages"]
        }
      })
      const infos = core.info.mock.calls.map(([m]) => String(m))
      expect(infos).toContain(`linux/arm/v7: runtime package libpq5 installed for ${PSYCOPG_ARM}`)
      expect(infos).toContain(
        "linux/arm/v7: runtime package tzdata installed for runtime-packages, the parent's runtime-packages"
      )
      expect(infos.filter((m) => /^linux\/amd64: runtime package /.test(m))).toEqual([
        'linux/amd64: runtime package tzdata installed for runtime-packages'
      ])

      // the action's "metadata" output carries each build's runtime packages
      const parsed = parse({ image: 'ghcr.io/org/app' })
      const metadata = JSON.parse(
        outputsOf({ inputs: parsed, plan, runKey: RUN_KEY }, result).metadata
      ) as {
        builds: {
          platform: string
          runtimePackages: Record<string, string[]>
          testSeconds: number
        }[]
      }
      expect(metadata.builds.map((b) => [b.platform, b.runtimePackages])).toEqual([
        ['linux/amd64', { tzdata: ['runtime-packages'] }],
        [
          'linux/arm/v7',
          { libpq5: [PSYCOPG_ARM], tzdata: ['runtime-packages', "the parent's runtime-packages"] }
        ]
      ])
      expect(metadata.builds.every((b) => typeof b.testSeconds === 'number')).toBe(true)
    }
  )

  test('one platform: the report at the top of wheels-out', async () => {
    wheelReports = {
      'linux/arm64': report('build host', {
        libpq5: ['psycopg2-2.9.9-cp312-cp312-linux_aarch64.whl']
      })
    }
    const [result] = await run({ platforms: 'linux/arm64', push: 'false' }, 'load', SAME_REPO_PR)
    expect(result.platforms[0]?.runtimePackages).toEqual({
      libpq5: ['psycopg2-2.9.9-cp312-cp312-linux_aarch64.whl']
    })
  })

  test('no report: no runtime packages, and nothing logged about them', async () => {
    const [result] = await run({ platforms: 'linux/amd64', push: 'false' }, 'load', SAME_REPO_PR)
    expect(result.platforms[0]?.runtimePackages).toEqual({})
    expect(core.info.mock.calls.filter(([m]) => String(m).includes('runtime package'))).toEqual([])
  })
})

describe('writeTools', () => {
  test('ships the stage script and the module it imports, as they are in src/tools', () => {
    const dir = join(tempDir, 'tools')
    writeTools(dir)
    expect(readdirSync(dir).sort()).toEqual(['system_libs.py', 'wheel_slim.py'])
    for (const name of ['system_libs.py', 'wheel_slim.py']) {
      expect(readFileSync(join(dir, name), 'utf8')).toBe(
        readFileSync(new URL(`../src/tools/${name}`, import.meta.url), 'utf8')
      )
    }
  })
})
