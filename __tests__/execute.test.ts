/**
 * execute() with docker and the engine set-up faked: which buildx calls a plan turns into, what
 * the bake file says to buildx, and that a run that does not push writes nothing to a registry.
 * No docker runs here; every docker call is recorded instead.
 */
import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
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
class DockerError extends Error {}

jest.unstable_mockModule('@actions/core', () => core)
jest.unstable_mockModule('../src/docker.js', () => ({ docker, stopAll: jest.fn(), DockerError }))
jest.unstable_mockModule('../src/engine.js', () => ({ setUpEngine }))
const { execute } = await import('../src/execute.js')
const { Cleanup } = await import('../src/cleanup.js')
const { makePlan } = await import('../src/plan.js')

const RUNTIME_DIGEST = `sha256:${'1'.repeat(64)}`
const BASE_DIGEST = `sha256:${'2'.repeat(64)}`
const RUN_KEY = 'k1'

let tempDir: string
const calls = (): string[][] => docker.mock.calls.map(([args]) => args)
/** The value after a flag; '' when the flag is absent. */
const after = (args: string[], flag: string): string =>
  args.includes(flag) ? (args[args.indexOf(flag) + 1] ?? '') : ''

/** The default docker fake: buildx writes its metadata file, smoke tests pass, all else succeeds. */
async function fakeDocker(args: string[]): Promise<DockerResult> {
  const ok = { exitCode: 0, stdout: '', stderr: '' }
  if (args[0] === 'buildx' && (args[1] === 'bake' || args[1] === 'build')) {
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
  if (args[0] === 'run') return { ...ok, stdout: 'smoke ok\n' }
  return ok
}

beforeEach(() => {
  jest.resetAllMocks()
  core.installDefaults()
  tempDir = mkdtempSync(join(tmpdir(), 'wsa-execute-'))
  docker.mockImplementation(fakeDocker)
})

afterEach(() => {
  rmSync(tempDir, { recursive: true, force: true })
})

async function run(
  values: RawInputs,
  delivery: Engine['delivery'],
  ctx: WorkflowContext = pushContext()
): Promise<[BuildResult, BuildPlan, InstanceType<typeof Cleanup>]> {
  setUpEngine.mockResolvedValue({ delivery })
  const plan = makePlan(
    parse({ image: 'ghcr.io/org/app', cache: 'false', ...values }),
    ctx,
    FACTS,
    { workspace: '/work/space', tempDir },
    RUN_KEY
  )
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
        .filter((a) => a[0] === 'run')
        .map((a) => after(a, '--platform'))
    ).toEqual(plan.platforms)
    expect(registryWrites(readBake(plan.files.bake))).toEqual([])
  })

  test('load delivery: the smoke test runs the loaded local image', async () => {
    const [, plan] = await run({}, 'load', SAME_REPO_PR)
    const smoke = calls().filter((a) => a[0] === 'run')
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
    const smoke = calls().filter((a) => a[0] === 'run')
    expect(smoke.map((a) => [after(a, '--platform'), a.at(-3), a.at(-1)])).toEqual(
      PLATFORMS.map((p) => [p, tagOf[p], plan.smokeTest])
    )
    expect(result.platforms.map((r) => [r.platform, r.smokeOutput])).toEqual(
      PLATFORMS.map((p) => [p, 'smoke ok'])
    )
    expect(cleanup.state.localImages.sort()).toEqual(Object.values(tagOf).sort())
  })

  test('one platform: one runtime target, smoke-tested on its local tag', async () => {
    const [, plan] = await run({ push: 'false', platforms: 'linux/arm64' }, 'digest')
    const bake = readBake(plan.files.bake)
    expect(Object.keys(bake.target)).toEqual(['runtime-linux-arm64', 'wheels'])
    const tag = bake.target['runtime-linux-arm64']?.tags?.[0]
    expect(
      calls()
        .filter((a) => a[0] === 'run')
        .map((a) => [after(a, '--platform'), a.at(-3)])
    ).toEqual([['linux/arm64', tag]])
    expect(registryWrites(bake)).toEqual([])
  })

  test('a failing smoke test on one platform fails the run naming that platform', async () => {
    docker.mockImplementation(async (args) =>
      args[0] === 'run' && after(args, '--platform') === 'linux/arm/v7'
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
    expect(Object.values(labels).map(hclLiteral)).toEqual(['${x}'])
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
    expect(runtime.filter((a, i) => runtime[i - 1] === '--label')).toEqual(['org.example.l=${x}'])
  })
})
