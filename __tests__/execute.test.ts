/**
 * execute() with docker and the engine set-up faked: which buildx calls a plan turns into, what
 * the bake file says to buildx, and that a run that does not push writes nothing to a registry.
 * No docker runs here; every docker call is recorded instead.
 */
import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as core from '../__fixtures__/core.js'
import { hclLiteral } from '../__fixtures__/hcl.js'
import { FACTS, parse, pushContext, RawInputs } from '../__fixtures__/inputs.js'
import type { BakeDefinition, BakeTarget } from '../src/buildx.js'
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

jest.unstable_mockModule('@actions/core', () => core)
jest.unstable_mockModule('../src/docker.js', () => ({ docker, stopAll: jest.fn(), DockerError }))
jest.unstable_mockModule('../src/engine.js', () => ({ setUpEngine }))
const { execute, writeTools } = await import('../src/execute.js')
const { Cleanup } = await import('../src/cleanup.js')
const { makePlan } = await import('../src/plan.js')
const { outputsOf } = await import('../src/pipeline.js')

const CHECK_LIBS = readFileSync(new URL('../src/tools/check_libs.py', import.meta.url), 'utf8')

const RUNTIME_DIGEST = `sha256:${'1'.repeat(64)}`
const BASE_DIGEST = `sha256:${'2'.repeat(64)}`
const RUN_KEY = 'k1'

let tempDir: string
const calls = (): string[][] => docker.mock.calls.map(([args]) => args)
/** The value after a flag; '' when the flag is absent. */
const after = (args: string[], flag: string): string =>
  args.includes(flag) ? (args[args.indexOf(flag) + 1] ?? '') : ''

/** The smoke test: `docker run --entrypoint /bin/sh <image> -c <smoke-test>`. */
const isSmoke = (args: string[]): boolean =>
  args[0] === 'run' && after(args, '--entrypoint') === '/bin/sh'
/** The library check: `docker run --entrypoint python3 <image> -c <check_libs.py>`. */
const isCheck = (args: string[]): boolean =>
  args[0] === 'run' && after(args, '--entrypoint') === 'python3'
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

/** The default docker fake: buildx writes its metadata file, smoke tests pass, all else succeeds. */
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
  if (isCheck(args)) return { ...ok, stdout: '[]\n' }
  if (isSmoke(args)) return { ...ok, stdout: 'smoke ok\n' }
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
    expect(
      calls()
        .filter(isSmoke)
        .map((a) => after(a, '--platform'))
    ).toEqual(plan.platforms)
    expect(
      calls()
        .filter(isCheck)
        .map((a) => after(a, '--platform'))
    ).toEqual(plan.platforms)
    expect(registryWrites(readBake(plan.files.bake))).toEqual([])
  })

  test('load delivery: the smoke test runs the loaded local image', async () => {
    const [, plan] = await run({}, 'load', SAME_REPO_PR)
    const smoke = calls().filter(isSmoke)
    expect(smoke.map((a) => a.at(-3))).toEqual(plan.platforms.map(() => plan.local.runtime))
    expect(smoke.map((a) => a.at(-1))).toEqual(plan.platforms.map(() => plan.smokeTest))
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
        ['type=docker'],
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

    // Each platform is smoke-tested on its own local image, and those images are cleaned up.
    const smoke = calls().filter(isSmoke)
    expect(smoke.map((a) => [after(a, '--platform'), a.at(-3), a.at(-1)])).toEqual(
      PLATFORMS.map((p) => [p, tagOf[p], plan.smokeTest])
    )
    // ... and its compiled modules checked on that same image
    expect(
      calls()
        .filter(isCheck)
        .map((a) => [after(a, '--platform'), a.at(-3)])
    ).toEqual(PLATFORMS.map((p) => [p, tagOf[p]]))
    expect(result.platforms.map((r) => [r.platform, r.smokeOutput])).toEqual(
      PLATFORMS.map((p) => [p, 'smoke ok'])
    )
    // How the engine ran each platform reaches the result as it said.
    expect(result.platforms.map((r) => [r.platform, r.runs])).toEqual([
      ['linux/amd64', 'native'],
      ['linux/arm/v7', 'emulated']
    ])
    expect(result.platforms.map((r) => r.runtimePackages)).toEqual(PLATFORMS.map(() => ({})))
    for (const r of result.platforms) expect(r.checkSeconds).toBeGreaterThanOrEqual(0)
    expect(cleanup.state.localImages.sort()).toEqual(Object.values(tagOf).sort())
  })

  test('one platform: one runtime target, smoke-tested on its local tag', async () => {
    const [, plan] = await run({ push: 'false', platforms: 'linux/arm64' }, 'digest')
    const bake = readBake(plan.files.bake)
    expect(Object.keys(bake.target)).toEqual(['runtime-linux-arm64', 'wheels'])
    const tag = bake.target['runtime-linux-arm64']?.tags?.[0]
    expect(
      calls()
        .filter(isSmoke)
        .map((a) => [after(a, '--platform'), a.at(-3)])
    ).toEqual([['linux/arm64', tag]])
    expect(
      calls()
        .filter(isCheck)
        .map((a) => [after(a, '--platform'), a.at(-3)])
    ).toEqual([['linux/arm64', tag]])
    expect(registryWrites(bake)).toEqual([])
  })

  test('a failing smoke test on one platform fails the run naming that platform', async () => {
    docker.mockImplementation(async (args) =>
      isSmoke(args) && after(args, '--platform') === 'linux/arm/v7'
        ? { exitCode: 1, stdout: '', stderr: "ModuleNotFoundError: No module named 'my_app'" }
        : fakeDocker(args)
    )
    await expect(run({ push: 'false', platforms: PLATFORMS.join(',') }, 'digest')).rejects.toThrow(
      /^Smoke test failed on linux\/arm\/v7 \(exit 1\)/
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
  const EXPECTED = {
    'linux/amd64': {
      resolve: { seconds: 1.4, cached: false },
      compile: { seconds: 0.1, cached: false }
    },
    'linux/arm/v7': {
      resolve: { seconds: 3.1, cached: false },
      compile: { seconds: 9.5, cached: false }
    }
  }

  // [name, engine delivery, network, the log each buildx call prints (keyed by kind, target,
  // platforms)]
  test.each<[string, Engine['delivery'], 'default' | 'host', Record<string, string>]>([
    [
      'bake, docker driver (load): steps name their platform',
      'load',
      'default',
      {
        bake: log(
          [12, 'wheels linux/amd64->arm/v7 resolve 2/2', 'DONE 3.1s'],
          [13, 'runtime linux/amd64->arm/v7 resolve 2/2', 'CACHED'],
          [14, 'runtime linux/amd64 resolve 2/2', 'DONE 1.4s'],
          [16, 'wheels linux/amd64 resolve 2/2', 'CACHED'],
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
          [15, 'runtime-linux-arm-v7 resolve 2/2', 'DONE 3.1s'],
          [16, 'wheels linux/amd64 resolve 2/2', 'CACHED'],
          [17, 'wheels linux/amd64->arm/v7 resolve 2/2', 'CACHED'],
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
          [10, 'resolve 2/2', 'DONE 3.1s'],
          [12, 'compile 3/3', 'DONE 9.5s']
        ),
        'build wheels linux/amd64,linux/arm/v7': log(
          [10, 'linux/amd64 resolve 2/2', 'CACHED'],
          [11, 'linux/amd64->arm/v7 resolve 2/2', 'CACHED'],
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
          [10, 'linux/amd64->arm/v7 resolve 2/2', 'DONE 3.1s'],
          [12, 'linux/amd64 compile 3/3', 'DONE 0.1s'],
          [13, 'linux/arm/v7 compile 3/3', 'DONE 9.5s']
        ),
        'build wheels linux/amd64,linux/arm/v7': log(
          [9, 'linux/amd64->arm/v7 resolve 2/2', 'CACHED'],
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
// build, each platform's image runs check_libs.py with its own python3 and dynamic loader.
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
    const registry = docker.getMockImplementation()
    docker.mockImplementation(async (args, opts) =>
      isCheck(args) && after(args, '--platform') === platform
        ? { exitCode: 0, stdout: `${JSON.stringify(found)}\n`, stderr: '' }
        : (registry as NonNullable<typeof registry>)(args, opts)
    )
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
    const checks = calls().filter(isCheck)
    expect(checks.map((a) => [after(a, '--platform'), a.at(-3)])).toEqual(
      plan.platforms.map((p) => [p, image(plan)])
    )
    for (const a of checks) {
      expect(a.slice(0, 2)).toEqual(['run', '--rm'])
      // the image's own python3 runs the script given as one argv element
      expect(a.slice(-2)).toEqual(['-c', CHECK_LIBS])
    }
    // silent, and a failing check is a result to read, not a thrown DockerError
    const opts = docker.mock.calls.filter(([a]) => isCheck(a)).map(([, o]) => o)
    expect(opts).toEqual(checks.map(() => ({ allowFailure: true, silent: true })))
    // every check is over before the first registry call of the push
    // every check is over before the first registry write of the push ...
    const firstWrite = Math.min(...order(isRegistryWrite))
    expect(Number.isFinite(firstWrite)).toBe(true)
    expect(Math.max(...order(isCheck))).toBeLessThan(firstWrite)
    // ... and before the checks the registry was only read, once: the access check
    const firstCheck = Math.min(...order(isCheck))
    const registryCalls = calls().filter(isRegistry)
    expect(registryCalls.length - callsAfter(firstCheck, isRegistry).length).toBe(1)
    expect(registryCalls[0]).toEqual(accessCheck(plan.slimTags[0] ?? ''))
    expect([...refs.keys()]).toContain(plan.runRefs.slim[0])
    expect(result.platforms.map((r) => typeof r.checkSeconds)).toEqual(['number', 'number'])
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

  test('a check that cannot run fails the run naming the platform and what it printed', async () => {
    withRegistry()
    const registry = docker.getMockImplementation() as NonNullable<
      ReturnType<typeof docker.getMockImplementation>
    >
    docker.mockImplementation(async (args, opts) =>
      isCheck(args)
        ? {
            exitCode: 127,
            stdout: '',
            stderr: 'exec: "python3": executable file not found in $PATH\n'
          }
        : registry(args, opts)
    )
    await expect(run({ platforms: 'linux/arm64' }, 'load')).rejects.toThrow(
      'Could not check the compiled modules on linux/arm64: exec: "python3": executable file not found in $PATH\nNothing was pushed.'
    )
    expect(calls().filter(isRegistry)).toEqual([accessCheck(EDGE)])
  })

  test('a failing smoke test and a clean check: the smoke test is what fails', async () => {
    docker.mockImplementation(async (args) =>
      isSmoke(args) ? { exitCode: 1, stdout: '', stderr: 'boom' } : fakeDocker(args)
    )
    await expect(run({ platforms: 'linux/amd64' }, 'load')).rejects.toThrow(
      /^Smoke test failed on linux\/amd64/
    )
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
          checkSeconds: number
        }[]
      }
      expect(metadata.builds.map((b) => [b.platform, b.runtimePackages])).toEqual([
        ['linux/amd64', { tzdata: ['runtime-packages'] }],
        [
          'linux/arm/v7',
          { libpq5: [PSYCOPG_ARM], tzdata: ['runtime-packages', "the parent's runtime-packages"] }
        ]
      ])
      expect(metadata.builds.every((b) => typeof b.checkSeconds === 'number')).toBe(true)
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
