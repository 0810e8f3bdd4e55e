// The action end to end on the real engine: the bundled dist/ run as the runner runs it (main,
// then post), real buildx builds (arm/v7 through QEMU), pushes to the local registry, and every
// claim checked against what the registry holds and what the pushed images do when run.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { docker, DockerError, runImage } from './support/docker.js'
import { buildFixtureDist } from './support/fixtures.js'
import {
  type Descriptor,
  getManifest,
  layerBlobs,
  layerFiles,
  listTags,
  platformsOf,
  REGISTRY
} from './support/registry.js'
import { type ActionRun, runAction, WORK_DIR } from './support/runner.js'

const BOTH = ['linux/amd64', 'linux/arm/v7']
const MACHINE: Record<string, string> = { 'linux/amd64': 'x86_64', 'linux/arm/v7': 'armv7l' }
const WHEEL_PLATFORM: Record<string, string> = {
  'linux/amd64': 'linux_x86_64',
  'linux/arm/v7': 'linux_armv7l'
}
const BUILDER = `${REGISTRY}/python:3.11`
const RUNTIME = `${REGISTRY}/python:3.11-slim`

/** Everything lands under a namespace of its own: the registry outlives the run. */
const RUN_ID = randomBytes(4).toString('hex')
const NS = `${REGISTRY}/e2e-${RUN_ID}`
const SERVICE = `${NS}/service`
const DERIVED = `${NS}/derived`
const NO_PUSH = `${NS}/no-push`
const DOCKERFILE_ONLY = `${NS}/dockerfile-only`
/** Registry API path of a full repository name. */
const repoPath = (image: string): string => image.slice(REGISTRY.length + 1)

const RELEASE = { ref: 'refs/tags/v1.4.2', sha: randomBytes(20).toString('hex') }
const RELEASE_TAGS = ['1.4.2', '1.4', '1', 'latest', `sha-${RELEASE.sha.slice(0, 7)}`]

function pushEvent(ref: string, sha: string): { name: string; payload: object } {
  return {
    name: 'push',
    payload: {
      ref,
      after: sha,
      repository: {
        name: 'app',
        full_name: 'acme/app',
        default_branch: 'main',
        owner: { login: 'acme' }
      }
    }
  }
}

/** The inputs every run on this machine needs; `extra` adds to or overrides them. */
function inputs(image: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    image,
    'python-version': '3.11',
    'builder-image': BUILDER,
    'runtime-image': RUNTIME,
    'pip-args': '--no-index --no-build-isolation',
    cache: 'false',
    'no-cache-filters': 'base',
    platforms: 'linux/amd64',
    ...extra
  }
}

interface PlatformBuild {
  platform: string
  buildSeconds: number
  wheelSeconds?: number
  built: string[]
  reused: number
  slimBytes: number
  smokeOutput: string
}

interface Metadata {
  pushed: boolean
  tags: string[]
  'base-tags': string[]
  builds: PlatformBuild[]
  moves: { ref: string; from?: string; to: string }[]
}

const metadataOf = (run: ActionRun): Metadata => JSON.parse(run.outputs.metadata ?? '') as Metadata
const lines = (text = ''): string[] => text.split('\n').filter((l) => l !== '')
const log = (run: ActionRun): Promise<string> => readFile(run.logFile, 'utf8')

/** Fails with the action's own error messages and log, so a red test says why. */
function expectSucceeded(run: ActionRun): void {
  if (run.exitCode !== 0) {
    throw new Error(
      `action failed (exit ${run.exitCode}); errors:\n${run.errors.join('\n')}\nlog: ${run.logFile}`
    )
  }
  expect(run.errors).toEqual([])
}

async function imageExists(ref: string): Promise<boolean> {
  try {
    await docker(['image', 'inspect', ref])
    return true
  } catch (err) {
    if (err instanceof DockerError) return false
    throw err
  }
}

/** post ran, exited 0, and removed the smoke-test image of every platform main built. */
async function expectPostCleanedUp(run: ActionRun, platforms: number): Promise<void> {
  expect(run.post).toBeDefined()
  expect(run.post?.exitCode).toBe(0)
  const cleanup = JSON.parse(run.state.cleanup ?? '{"localImages":[]}') as {
    localImages: string[]
    builder?: string
  }
  expect(cleanup.localImages).toHaveLength(platforms)
  for (const image of cleanup.localImages) {
    expect(image).toMatch(/^wheel-slim-smoke\//)
    expect(await imageExists(image)).toBe(false)
  }
  const left = await docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])
  const runKeys = new Set(cleanup.localImages.map((i) => i.split(':')[0]))
  expect(lines(left.stdout).filter((ref) => runKeys.has(ref.split(':')[0]))).toEqual([])
  if (cleanup.builder) {
    const builders = await docker(['buildx', 'ls', '--format', '{{.Name}}'])
    expect(lines(builders.stdout)).not.toContain(cleanup.builder)
  }
}

/** Every tag of a repository with the digest it points to. */
async function tagDigests(image: string): Promise<Record<string, string>> {
  const repo = repoPath(image)
  const result: Record<string, string> = {}
  for (const tag of await listTags(repo))
    result[tag] = (await getManifest(`${image}:${tag}`)).digest
  return result
}

/** The layers `ref` adds on top of `baseRef` for one platform (which must be a layer prefix). */
async function addedLayers(ref: string, baseRef: string, platform: string): Promise<Descriptor[]> {
  const layers = await layerBlobs(ref, platform)
  const base = await layerBlobs(baseRef, platform)
  expect(layers.slice(0, base.length).map((l) => l.digest)).toEqual(base.map((l) => l.digest))
  return layers.slice(base.length)
}

async function filesOf(image: string, layers: Descriptor[]): Promise<string[]> {
  const files: string[] = []
  for (const layer of layers) files.push(...(await layerFiles(repoPath(image), layer)))
  return files
}

let workRoot: string
const times: Record<string, number[]> = {}

/** Build times of a run that got as far as its outputs (a failed run sets none). */
function recordTimes(run: ActionRun): void {
  if (!run.outputs.metadata) return
  for (const b of metadataOf(run).builds) (times[b.platform] ??= []).push(b.buildSeconds)
}

async function workspace(name: string, fixtures: ('service' | 'derived')[]): Promise<string> {
  const dir = path.join(workRoot, name)
  for (const f of fixtures) await buildFixtureDist(f, path.join(dir, 'dist'))
  return dir
}

beforeAll(async () => {
  await mkdir(WORK_DIR, { recursive: true })
  workRoot = await mkdtemp(path.join(WORK_DIR, 'action-'))
})

afterAll(async () => {
  console.log(
    `build seconds by platform (metadata builds[].buildSeconds): ${JSON.stringify(times)}`
  )
  // Local copies of this run's images (pulled by the tests, or kept by the docker driver's push).
  const all = await docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])
  const ours = lines(all.stdout).filter((ref) => ref.startsWith(`${NS}/`))
  if (ours.length > 0) await docker(['image', 'rm', '--force', ...ours]).catch(() => undefined)
  await rm(workRoot, { recursive: true, force: true })
})

describe('a service release (v1.4.2) for linux/amd64 and linux/arm/v7', () => {
  let serviceWs: string
  let release: ActionRun
  const releaseInputs = () => inputs(SERVICE, { platforms: BOTH.join(',') })
  const slimRefs = RELEASE_TAGS.map((t) => `${SERVICE}:${t}`)
  const baseRefs = RELEASE_TAGS.map((t) => `${SERVICE}:${t}-base`)

  beforeAll(async () => {
    serviceWs = await workspace('service', ['service'])
    release = await runAction({
      name: 'service-release',
      workspace: serviceWs,
      inputs: releaseInputs(),
      event: pushEvent(RELEASE.ref, RELEASE.sha),
      ref: RELEASE.ref,
      sha: RELEASE.sha
    })
    recordTimes(release)
  }, 25 * 60_000)

  test('pushes the slim index and the base image under every computed tag; outputs match the registry', async () => {
    expectSucceeded(release)
    await expectPostCleanedUp(release, 2)

    expect(lines(release.outputs.tags)).toEqual(slimRefs)
    expect(lines(release.outputs['base-tags'])).toEqual(baseRefs)
    expect(release.outputs.platforms).toBe('linux/amd64,linux/arm/v7')
    expect(release.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(release.outputs['base-digest']).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(release.outputs['base-digest']).not.toBe(release.outputs.digest)

    // Exactly these tags, nothing stray.
    expect(await listTags(repoPath(SERVICE))).toEqual(
      [...RELEASE_TAGS, ...RELEASE_TAGS.map((t) => `${t}-base`)].sort()
    )
    for (const ref of slimRefs) {
      expect({ ref, digest: (await getManifest(ref)).digest }).toEqual({
        ref,
        digest: release.outputs.digest
      })
      expect({ ref, platforms: (await platformsOf(ref)).sort() }).toEqual({ ref, platforms: BOTH })
    }
    for (const ref of baseRefs) {
      expect({ ref, digest: (await getManifest(ref)).digest }).toEqual({
        ref,
        digest: release.outputs['base-digest']
      })
      expect({ ref, platforms: (await platformsOf(ref)).sort() }).toEqual({ ref, platforms: BOTH })
    }

    const meta = metadataOf(release)
    expect(meta.pushed).toBe(true)
    expect(meta.tags).toEqual(slimRefs)
    expect(meta['base-tags']).toEqual(baseRefs)
    expect(meta.builds.map((b) => b.platform)).toEqual(BOTH)
    for (const b of meta.builds) {
      expect(b.built).toEqual([`wsa_service-1.0.0-cp311-cp311-${WHEEL_PLATFORM[b.platform]}.whl`])
    }
    expect(release.outputs['wheels-built']).toBe('2')
    // A fresh repository: every tag is created.
    expect(meta.moves.map((m) => m.ref).sort()).toEqual([...slimRefs, ...baseRefs].sort())
    expect(meta.moves.filter((m) => m.from !== undefined)).toEqual([])

    for (const ref of [...slimRefs, ...baseRefs]) expect(release.summary).toContain(`>${ref}<`)
  })

  test.each(BOTH)(
    '%s: the slim image runs its entrypoint, has no compiler and no wheel in any added layer; the base image carries the wheel',
    async (platform) => {
      expectSucceeded(release)
      const slim = `${SERVICE}:1.4.2`
      const machine = MACHINE[platform] as string

      const { stdout } = await runImage(slim, platform)
      expect(stdout).toBe(`wsa-service 1.0.0 ok 5 ${machine}\n`)

      // python3 is found (the probe works), no compiler is.
      const probe = [
        'command -v python3 >/dev/null || echo "python3 missing"',
        'for c in gcc cc x86_64-linux-gnu-gcc arm-linux-gnueabihf-gcc; do',
        '  if command -v "$c"; then echo "compiler: $c"; fi',
        'done'
      ].join('\n')
      const compilers = await runImage(slim, platform, ['-c', probe], { entrypoint: 'sh' })
      expect(compilers.stdout).toBe('')

      const added = await addedLayers(slim, RUNTIME, platform)
      expect(added.length).toBeGreaterThan(0)
      const slimFiles = await filesOf(SERVICE, added)
      expect(slimFiles.filter((f) => /\.whl$/.test(f))).toEqual([])
      expect(slimFiles.filter((f) => /\/wheeley(\/|$)/.test(f) || /^wheeley/.test(f))).toEqual([])
      // The listing is real: the installed package and its compiled extension are there.
      expect(slimFiles).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/\/wsa_service\/__init__\.py$/),
          expect.stringMatching(/\/wsa_service\/_speedups\.cpython-311-.*\.so$/)
        ])
      )

      const baseAdded = await addedLayers(`${SERVICE}:1.4.2-base`, BUILDER, platform)
      const wheels = (await filesOf(SERVICE, baseAdded)).filter((f) => /\.whl$/.test(f))
      expect(wheels).toEqual([
        `wheeley/wsa_service-1.0.0-cp311-cp311-${WHEEL_PLATFORM[platform]}.whl`
      ])
    },
    10 * 60_000
  )

  test('a derived image on the service base compiles only its own extension', async () => {
    expectSucceeded(release)
    const ws = await workspace('derived', ['derived'])
    const sha = randomBytes(20).toString('hex')
    const run = await runAction({
      workspace: ws,
      inputs: inputs(DERIVED, { parent: `${SERVICE}:1.4.2-base` }),
      event: pushEvent('refs/heads/main', sha),
      ref: 'refs/heads/main',
      sha
    })
    recordTimes(run)
    await expectPostCleanedUp(run, 1)
    // The build log first: it holds whatever happens later in the run.
    const text = await log(run)
    expect(text).toMatch(/Building wheel for wsa-derived/)
    expect(text).toMatch(/Created wheel for wsa-derived/)
    expect(text).not.toMatch(/Building wheel for wsa-service/)
    expect(text).not.toMatch(/Created wheel for wsa-service/)
    expect(text).toMatch(
      /File was already downloaded \/wheeley\/wsa_service-1\.0\.0-cp311-cp311-linux_x86_64\.whl/
    )
    expectSucceeded(run)

    expect(run.outputs['wheels-built']).toBe('1')
    expect(run.outputs['wheels-reused']).toBe('1')
    const meta = metadataOf(run)
    expect(meta.builds.map((b) => ({ platform: b.platform, built: b.built }))).toEqual([
      { platform: 'linux/amd64', built: ['wsa_derived-1.0.0-cp311-cp311-linux_x86_64.whl'] }
    ])

    const tags = [`${DERIVED}:edge`, `${DERIVED}:sha-${sha.slice(0, 7)}`]
    expect(lines(run.outputs.tags)).toEqual(tags)
    expect((await getManifest(tags[0] as string)).digest).toBe(run.outputs.digest)
    expect(await platformsOf(tags[0] as string)).toEqual(['linux/amd64'])
    const { stdout } = await runImage(tags[0] as string, 'linux/amd64')
    expect(stdout).toBe('wsa-derived 1.0.0 ok 35 wsa-service 1.0.0 x86_64\n')
  })

  test('a smoke test failing on arm/v7 fails the action and creates or moves no tag', async () => {
    expectSucceeded(release)
    const before = await tagDigests(SERVICE)
    expect(Object.keys(before).length).toBeGreaterThan(0)
    // A later release: had it pushed, it would create 1.5.0, 1.5, sha-… and move 1 and latest.
    const sha = randomBytes(20).toString('hex')
    const run = await runAction({
      workspace: serviceWs,
      inputs: {
        ...releaseInputs(),
        'smoke-test': 'test "$(uname -m)" != armv7l'
      },
      event: pushEvent('refs/tags/v1.5.0', sha),
      ref: 'refs/tags/v1.5.0',
      sha
    })
    expect(run.exitCode).not.toBe(0)
    expect(run.failed).toBe(true)
    expect(run.errors).toEqual([expect.stringMatching(/Smoke test failed on linux\/arm\/v7/)])
    expect(run.errors.join('\n')).not.toMatch(/linux\/amd64/)
    expect(run.outputs.digest ?? '').toBe('')
    await expectPostCleanedUp(run, 2)

    expect(await tagDigests(SERVICE)).toEqual(before)
  })

  test('running the same release again is idempotent: same tags, complete working indexes, nothing stray', async () => {
    expectSucceeded(release)
    const before = await tagDigests(SERVICE)
    const again = await runAction({
      name: 'service-release-again',
      workspace: serviceWs,
      inputs: releaseInputs(),
      event: pushEvent(RELEASE.ref, RELEASE.sha),
      ref: RELEASE.ref,
      sha: RELEASE.sha
    })
    recordTimes(again)
    expectSucceeded(again)
    await expectPostCleanedUp(again, 2)

    expect(lines(again.outputs.tags)).toEqual(slimRefs)
    expect(lines(again.outputs['base-tags'])).toEqual(baseRefs)
    const after = await tagDigests(SERVICE)
    expect(Object.keys(after)).toEqual(Object.keys(before))

    // The action reports each tag's previous digest truthfully.
    const moves = metadataOf(again).moves
    for (const m of moves) {
      const tag = m.ref.slice(m.ref.lastIndexOf(':') + 1)
      expect({ ref: m.ref, from: m.from, to: m.to }).toEqual({
        ref: m.ref,
        from: before[tag],
        to: after[tag]
      })
    }
    expect(moves).toHaveLength(slimRefs.length + baseRefs.length)

    for (const [refs, digest] of [
      [slimRefs, again.outputs.digest],
      [baseRefs, again.outputs['base-digest']]
    ] as const) {
      for (const ref of refs) {
        const tag = ref.slice(ref.lastIndexOf(':') + 1)
        expect({ ref, digest: after[tag] }).toEqual({ ref, digest })
        expect({ ref, platforms: (await platformsOf(ref)).sort() }).toEqual({
          ref,
          platforms: BOTH
        })
      }
    }
    if (again.outputs.digest !== release.outputs.digest) {
      console.log(`second release moved the slim tags to a new index ${again.outputs.digest}`)
    }
    for (const platform of BOTH) {
      const { stdout } = await runImage(`${SERVICE}:latest`, platform)
      expect(stdout).toBe(`wsa-service 1.0.0 ok 5 ${MACHINE[platform]}\n`)
    }
  })
})

describe('runs that push nothing', () => {
  test('push: false builds and smoke-tests but pushes nothing', async () => {
    const ws = await workspace('no-push', ['service'])
    const run = await runAction({
      workspace: ws,
      inputs: inputs(NO_PUSH, { push: 'false', 'smoke-test': 'python3 -m wsa_service' })
    })
    recordTimes(run)
    expectSucceeded(run)
    await expectPostCleanedUp(run, 1)

    expect(run.outputs.digest).toBe('')
    expect(run.outputs['base-digest']).toBe('')
    const meta = metadataOf(run)
    expect(meta.pushed).toBe(false)
    expect(meta.moves).toEqual([])
    expect(meta.builds.map((b) => [b.platform, b.smokeOutput, b.built])).toEqual([
      [
        'linux/amd64',
        'wsa-service 1.0.0 ok 5 x86_64',
        ['wsa_service-1.0.0-cp311-cp311-linux_x86_64.whl']
      ]
    ])
    expect(await log(run)).toMatch(/Not pushing: push: false\./)
    expect(await listTags(repoPath(NO_PUSH))).toEqual([])
  })

  test('dockerfile-only writes a three-stage Dockerfile and builds nothing', async () => {
    const ws = await workspace('dockerfile-only', ['service'])
    const imagesBefore = lines(
      (await docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])).stdout
    )
    const run = await runAction({
      workspace: ws,
      inputs: inputs(DOCKERFILE_ONLY, { 'dockerfile-only': 'true', platforms: BOTH.join(',') })
    })
    expectSucceeded(run)
    expect(run.post?.exitCode).toBe(0)

    const dockerfile = run.outputs.dockerfile ?? ''
    expect(existsSync(dockerfile)).toBe(true)
    const stages = [...(await readFile(dockerfile, 'utf8')).matchAll(/^FROM (\S+) AS (\S+)$/gm)]
    expect(stages.map((m) => [m[1], m[2]])).toEqual([
      [BUILDER, 'base'],
      ['scratch', 'wheels'],
      [RUNTIME, 'runtime']
    ])
    expect(run.outputs.digest).toBe('')

    const output = `${run.stdout}\n${run.stderr}\n${run.post?.stdout}\n${run.post?.stderr}`
    expect(output).not.toMatch(/buildx/)
    const imagesAfter = lines(
      (await docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])).stdout
    )
    // Other suites may share the engine: only images this action could have made count.
    const added = imagesAfter.filter((ref) => !imagesBefore.includes(ref))
    expect(
      added.filter((ref) => ref.startsWith('wheel-slim-smoke/') || ref.startsWith(`${NS}/`))
    ).toEqual([])
    expect(await listTags(repoPath(DOCKERFILE_ONLY))).toEqual([])
  })

  test('a hostile package name fails before anything runs, naming the input', async () => {
    const ws = await workspace('hostile-package', ['service'])
    const hostile = 'wsa-service"]\nRUN ["sh", "-c", "id'
    const run = await runAction({
      workspace: ws,
      inputs: inputs(DOCKERFILE_ONLY, { 'dockerfile-only': 'true', package: hostile })
    })
    expect(run.exitCode).not.toBe(0)
    expect(run.errors).toHaveLength(1)
    expect(run.errors[0]).toContain(`Input "package": ${JSON.stringify(hostile)} is not valid`)
    expect(run.errors[0]).toContain('PEP 508')
    expect(run.outputs.dockerfile).toBeUndefined()
  })
})
