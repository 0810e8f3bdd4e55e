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
import { FACTS, parse, pushContext, RawInputs } from '../__fixtures__/inputs.js'
import type { BakeDefinition } from '../src/buildx.js'
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
const after = (args: string[], flag: string): string => args[args.indexOf(flag) + 1] ?? ''

beforeEach(() => {
  jest.resetAllMocks()
  core.installDefaults()
  tempDir = mkdtempSync(join(tmpdir(), 'wsa-execute-'))
  docker.mockImplementation(async (args) => {
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
  })
})

afterEach(() => {
  rmSync(tempDir, { recursive: true, force: true })
})

async function run(
  values: RawInputs,
  delivery: Engine['delivery'],
  ctx: WorkflowContext = pushContext()
): Promise<[BuildResult, BuildPlan]> {
  setUpEngine.mockResolvedValue({ delivery })
  const plan = makePlan(
    parse({ image: 'ghcr.io/org/app', cache: 'false', ...values }),
    ctx,
    FACTS,
    { workspace: '/work/space', tempDir },
    RUN_KEY
  )
  const result = await execute(plan, 'docker.io/tonistiigi/binfmt:x', RUN_KEY, new Cleanup())
  return [result, plan]
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
    if (args[1] === 'build') {
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

/**
 * A string of a bake file read as buildx reads it: bake parses JSON definitions with HCL's JSON
 * syntax, where every string is a template. Returns the literal value, or undefined when the
 * string holds a live interpolation ("${") or directive ("%{"); "$${" and "%%{" are escapes.
 */
function hclLiteral(s: string): string | undefined {
  let out = ''
  for (let i = 0; i < s.length;) {
    const three = s.slice(i, i + 3)
    if (three === '$${' || three === '%%{') {
      out += three.slice(1)
      i += 3
    } else if (three.startsWith('${') || three.startsWith('%{')) {
      return undefined
    } else {
      out += s[i]
      i += 1
    }
  }
  return out
}

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
