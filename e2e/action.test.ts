// The action end to end on the real engine, on pip's default path: an index and build
// isolation (e2e/support/index.ts), the bundled dist/ run as the runner runs it (main, then post),
// real buildx builds (arm/v7 through QEMU), pushes to the local registry, and every claim checked
// against what the registry holds and what the pushed images do when run.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { docker, DockerError, runImage } from './support/docker.js'
import { buildFixtureDist } from './support/fixtures.js'
import { IMPOSTOR, INDEX_PASSWORD, type Indexes, startIndexes } from './support/index.js'
import {
  type Descriptor,
  configLabels,
  fetchBlob,
  getManifest,
  layerBlobs,
  layerFiles,
  listTags,
  platformsOf,
  REGISTRY
} from './support/registry.js'
import { type ActionRun, pushEvent, runAction, WORK_DIR } from './support/runner.js'

const BOTH = ['linux/amd64', 'linux/arm/v7']
const MACHINE: Record<string, string> = { 'linux/amd64': 'x86_64', 'linux/arm/v7': 'armv7l' }
const WHEEL_PLATFORM: Record<string, string> = {
  'linux/amd64': 'linux_x86_64',
  'linux/arm/v7': 'linux_armv7l'
}
const BUILDER = `${REGISTRY}/python:3.11`
/** The gzipped empty tar: a RUN that changed nothing. */
const EMPTY_LAYER = 'sha256:4f4fb700ef54461cfa02571ae0db9a0dc1e0cdb5577484a6d75e68dc38e8acc1'
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

let indexes: Indexes

/** The inputs every run on this machine needs, on the indexes; `extra` adds or overrides. */
function inputs(image: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    image,
    'python-version': '3.11',
    'builder-image': BUILDER,
    'runtime-image': RUNTIME,
    cache: 'false',
    platforms: 'linux/amd64',
    ...indexes.inputs,
    ...extra
  }
}

interface PlatformBuild {
  platform: string
  path: string
  reason: string
  built: string[]
  reused: string[]
  wheels: string[]
  manifest?: string
  smokeOutput: string
}

interface Metadata {
  pushed: boolean
  pushReason: string
  tags: string[]
  'base-tags': string[]
  builds: PlatformBuild[]
  moves: { ref: string; from?: string; to: string }[]
  timings: Record<string, number>
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

/** post ran, exited 0, and removed every local image and directory main recorded. */
async function expectPostCleanedUp(run: ActionRun): Promise<void> {
  expect(run.post).toBeDefined()
  expect(run.post?.exitCode).toBe(0)
  const cleanup = JSON.parse(run.state.cleanup ?? '{}') as {
    localImages?: string[]
    dirs?: string[]
    builder?: string
  }
  expect(cleanup.dirs?.length).toBeGreaterThan(0)
  for (const dir of cleanup.dirs ?? [])
    expect({ dir, exists: existsSync(dir) }).toEqual({ dir, exists: false })
  for (const image of cleanup.localImages ?? []) {
    expect({ image, exists: await imageExists(image) }).toEqual({ image, exists: false })
  }
  if (cleanup.builder) {
    const builders = await docker(['buildx', 'ls', '--format', '{{.Name}}'])
    expect(lines(builders.stdout)).not.toContain(cleanup.builder)
  }
}

/** Every tag of a repository with the digest it points to. */
async function tagDigests(image: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {}
  for (const tag of await listTags(repoPath(image)))
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

/** Whether any added layer (decompressed) or the config of `ref` on `platform` holds `needle`. */
async function imageHolds(
  ref: string,
  fromRef: string,
  platform: string,
  needle: string
): Promise<boolean> {
  const repo = repoPath(ref.slice(0, ref.lastIndexOf(':')))
  for (const layer of await addedLayers(ref, fromRef, platform)) {
    const blob = await fetchBlob(repo, layer.digest)
    const bytes = /gzip$/.test(layer.mediaType) ? gunzipSync(blob) : blob
    if (bytes.includes(needle)) return true
  }
  const top = await getManifest(ref)
  const entry = top.manifest.manifests?.find(
    (d) =>
      d.platform &&
      `${d.platform.os}/${d.platform.architecture}${d.platform.variant ? `/${d.platform.variant}` : ''}` ===
        platform
  )
  const manifest = entry ? await getManifest(`${top.repo}@${entry.digest}`) : top
  const config = manifest.manifest.config
  return config ? (await fetchBlob(repo, config.digest)).includes(needle) : false
}

/** Every file under `dir`, recursively (for secrets left behind). */
async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return []
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name))
}

let workRoot: string

async function workspace(
  name: string,
  fixtures: ('service' | 'derived' | 'app')[],
  version?: string
): Promise<string> {
  const dir = path.join(workRoot, name)
  for (const f of fixtures) await buildFixtureDist(f, path.join(dir, 'dist'), { version })
  return dir
}

beforeAll(async () => {
  await mkdir(WORK_DIR, { recursive: true })
  workRoot = await mkdtemp(path.join(WORK_DIR, 'action-'))
  // wsa-service is a dependency of the derived image; every fixture has an impostor.
  indexes = await startIndexes(['service'], ['service', 'derived', 'app'])
}, 10 * 60_000)

afterAll(async () => {
  await indexes?.stop()
  // Local copies of this run's images (pulled by the tests).
  const all = await docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])
  const ours = lines(all.stdout).filter((ref) => ref.startsWith(`${NS}/`))
  if (ours.length > 0) await docker(['image', 'rm', '--force', ...ours]).catch(() => undefined)
  await rm(workRoot, { recursive: true, force: true })
})

describe('a service release (v1.4.2) for linux/amd64 and linux/arm/v7, on an index', () => {
  let serviceWs: string
  let release: ActionRun
  const releaseInputs = () => inputs(SERVICE, { platforms: BOTH.join(',') })
  const slimRefs = RELEASE_TAGS.map((t) => `${SERVICE}:${t}`)
  const baseRefs = RELEASE_TAGS.map((t) => `${SERVICE}:${t}-base`)

  beforeAll(async () => {
    // A release tag's version must be dist's.
    serviceWs = await workspace('service', ['service'], '1.4.2')
    release = await runAction({
      name: 'service-release',
      workspace: serviceWs,
      inputs: releaseInputs(),
      event: pushEvent(RELEASE.ref, RELEASE.sha, 'main'),
      ref: RELEASE.ref,
      sha: RELEASE.sha
    })
  }, 25 * 60_000)

  test('pushes the slim and base indexes under every computed tag; outputs match the registry', async () => {
    expectSucceeded(release)
    await expectPostCleanedUp(release)

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
    for (const [refs, digest] of [
      [slimRefs, release.outputs.digest],
      [baseRefs, release.outputs['base-digest']]
    ] as const) {
      for (const ref of refs) {
        expect({ ref, digest: (await getManifest(ref)).digest }).toEqual({ ref, digest })
        expect({ ref, platforms: (await platformsOf(ref)).sort() }).toEqual({
          ref,
          platforms: BOTH
        })
      }
    }

    const meta = metadataOf(release)
    expect(meta.pushed).toBe(true)
    expect(meta.builds.map((b) => b.platform)).toEqual(BOTH)
    for (const b of meta.builds) {
      expect(b.built).toEqual([`wsa_service-1.4.2-cp311-cp311-${WHEEL_PLATFORM[b.platform]}.whl`])
      expect(b.reused).toEqual([])
      // The manifest the registry holds for this platform is the one in the pushed index.
      const index = await getManifest(`${SERVICE}:1.4.2`)
      const entry = index.manifest.manifests?.find((d) => d.digest === b.manifest)
      expect(entry?.platform).toBeDefined()
    }
    // amd64 builds the C extension natively on the build host; arm/v7 needs the target.
    expect(meta.builds.map((b) => [b.platform, b.path])).toEqual([
      ['linux/amd64', 'build host'],
      ['linux/arm/v7', 'target']
    ])
    expect(release.outputs['wheels-built']).toBe('2')
    // A fresh repository: every tag is created, the run's own (sha-…) first.
    expect(meta.moves.map((m) => m.ref).sort()).toEqual([...slimRefs, ...baseRefs].sort())
    expect(meta.moves.slice(0, 2).map((m) => m.ref)).toEqual([
      `${SERVICE}:sha-${RELEASE.sha.slice(0, 7)}-base`,
      `${SERVICE}:sha-${RELEASE.sha.slice(0, 7)}`
    ])
    expect(meta.moves.filter((m) => m.from !== undefined)).toEqual([])
    for (const phase of ['setup', 'build', 'smoke', 'push'])
      expect(meta.timings[phase]).toBeGreaterThan(0)
    for (const ref of [...slimRefs, ...baseRefs]) expect(release.summary).toContain(`>${ref}<`)
  })

  test.each(BOTH)(
    '%s: the slim image runs the code from dist/ (not the index impostor), has no compiler, one added layer and no wheel; the base image carries the wheel',
    async (platform) => {
      expectSucceeded(release)
      const slim = `${SERVICE}:1.4.2`
      const machine = MACHINE[platform] as string

      const { stdout } = await runImage(slim, platform)
      expect(stdout).toBe(`wsa-service 1.4.2 ok 5 ${machine}\n`)
      expect(stdout).not.toContain(IMPOSTOR)

      const probe = [
        'command -v python3 >/dev/null || echo "python3 missing"',
        'for c in gcc cc x86_64-linux-gnu-gcc arm-linux-gnueabihf-gcc; do',
        '  if command -v "$c"; then echo "compiler: $c"; fi',
        'done'
      ].join('\n')
      const compilers = await runImage(slim, platform, ['-c', probe], { entrypoint: 'sh' })
      expect(compilers.stdout).toBe('')

      // One layer of files; the runtime packages step leaves the empty layer when it installs nothing.
      const added = await addedLayers(slim, RUNTIME, platform)
      expect(added.map((l) => l.digest === EMPTY_LAYER)).toEqual([true, false])
      const slimFiles = await filesOf(SERVICE, added)
      expect(slimFiles.filter((f) => /\.whl$/.test(f) || /(^|\/)wheeley(\/|$)/.test(f))).toEqual([])
      expect(slimFiles).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/\/wsa_service\/__init__\.py$/),
          expect.stringMatching(/\/wsa_service\/_speedups\.cpython-311-.*\.so$/),
          'etc/passwd'
        ])
      )

      const baseAdded = await addedLayers(`${SERVICE}:1.4.2-base`, BUILDER, platform)
      const wheels = (await filesOf(SERVICE, baseAdded)).filter((f) => /\.whl$/.test(f))
      expect(wheels).toEqual([
        `wheeley/wsa_service-1.4.2-cp311-cp311-${WHEEL_PLATFORM[platform]}.whl`
      ])
    },
    10 * 60_000
  )

  test('the OCI labels of every image config are, the same, the annotations of its index', async () => {
    expectSucceeded(release)
    for (const ref of [slimRefs[0], baseRefs[0]] as string[]) {
      const index = await getManifest(ref)
      const annotations = index.manifest.annotations ?? {}
      expect(annotations).toMatchObject({
        'org.opencontainers.image.title': 'wsa-service',
        'org.opencontainers.image.version': '1.4.2',
        'org.opencontainers.image.revision': RELEASE.sha
      })
      for (const entry of index.manifest.manifests ?? []) {
        const labels = await configLabels(index.repo, entry.digest)
        const oci = Object.entries(labels).filter(([k]) => k.startsWith('org.opencontainers.'))
        expect({ ref, entry: entry.digest, oci: Object.fromEntries(oci) }).toEqual({
          ref,
          entry: entry.digest,
          oci: annotations
        })
      }
    }
  })

  test('extra-index-url is used for real, and its password is nowhere: log, outputs, summary, layers, files left behind', async () => {
    expectSucceeded(release)
    // pip asked the private index, with the credentials, for the package's dependencies' names.
    const asked = indexes.private.requests.filter(
      (r) => r.authorized && r.path.startsWith('/simple/')
    )
    expect(asked.length).toBeGreaterThan(0)
    // `::add-mask::` lines register the secret with the runner, which never prints them.
    const printed =
      `${release.stdout}\n${release.stderr}\n${release.post?.stdout}\n${release.post?.stderr}`
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
    expect(printed.filter((l) => l.includes(INDEX_PASSWORD))).toEqual([])
    expect(`${release.stdout}\n${release.stderr}`).toContain(`::add-mask::${INDEX_PASSWORD}`)
    expect(release.outputs.metadata).not.toContain(INDEX_PASSWORD)
    expect(release.summary).not.toContain(INDEX_PASSWORD)
    for (const platform of BOTH) {
      expect(await imageHolds(`${SERVICE}:1.4.2`, RUNTIME, platform, INDEX_PASSWORD)).toBe(false)
      expect(await imageHolds(`${SERVICE}:1.4.2-base`, BUILDER, platform, INDEX_PASSWORD)).toBe(
        false
      )
    }
    for (const file of [
      ...(await filesUnder(release.runnerTemp)),
      ...(await filesUnder(serviceWs))
    ]) {
      expect({ file, holds: (await readFile(file)).includes(INDEX_PASSWORD) }).toEqual({
        file,
        holds: false
      })
    }
  })

  test('a derived image on the service base compiles only its own extension, from dist/, and reuses the parent wheel', async () => {
    expectSucceeded(release)
    const ws = await workspace('derived', ['derived'])
    const sha = randomBytes(20).toString('hex')
    const run = await runAction({
      workspace: ws,
      inputs: inputs(DERIVED, { parent: `${SERVICE}:1.4.2-base` }),
      event: pushEvent('refs/heads/main', sha, 'main'),
      ref: 'refs/heads/main',
      sha
    })
    expectSucceeded(run)
    await expectPostCleanedUp(run)
    const text = await log(run)
    expect(text).toMatch(/Building wheel for wsa-derived/)
    expect(text).not.toMatch(/Building wheel for wsa-service/)

    expect(run.outputs['wheels-built']).toBe('1')
    expect(run.outputs['wheels-reused']).toBe('1')
    const meta = metadataOf(run)
    expect(
      meta.builds.map((b) => ({ platform: b.platform, built: b.built, reused: b.reused }))
    ).toEqual([
      {
        platform: 'linux/amd64',
        built: ['wsa_derived-1.0.0-cp311-cp311-linux_x86_64.whl'],
        reused: ['wsa_service-1.4.2-cp311-cp311-linux_x86_64.whl']
      }
    ])

    const tags = [`${DERIVED}:edge`, `${DERIVED}:sha-${sha.slice(0, 7)}`]
    expect(lines(run.outputs.tags)).toEqual(tags)
    expect((await getManifest(tags[0] as string)).digest).toBe(run.outputs.digest)
    expect(await platformsOf(tags[0] as string)).toEqual(['linux/amd64'])
    const { stdout } = await runImage(tags[0] as string, 'linux/amd64')
    expect(stdout).toBe('wsa-derived 1.0.0 ok 35 wsa-service 1.4.2 x86_64\n')
  })

  test('a smoke test failing on arm/v7 fails the action and creates or moves no tag', async () => {
    expectSucceeded(release)
    const before = await tagDigests(SERVICE)
    expect(Object.keys(before).length).toBeGreaterThan(0)
    // A later release: had it pushed, it would create 1.5.0, 1.5, sha-… and move 1 and latest.
    const sha = randomBytes(20).toString('hex')
    const run = await runAction({
      workspace: await workspace('service-1.5.0', ['service'], '1.5.0'),
      inputs: { ...releaseInputs(), 'smoke-test': 'test "$(uname -m)" != armv7l' },
      event: pushEvent('refs/tags/v1.5.0', sha, 'main'),
      ref: 'refs/tags/v1.5.0',
      sha
    })
    expect(run.exitCode).not.toBe(0)
    expect(run.errors).toEqual([expect.stringMatching(/Smoke test failed on linux\/arm\/v7/)])
    expect(run.errors.join('\n')).not.toMatch(/linux\/amd64/)
    expect(run.outputs.digest ?? '').toBe('')
    await expectPostCleanedUp(run)
    expect(await tagDigests(SERVICE)).toEqual(before)
  })

  test('running the same release again changes nothing: every tag unchanged, same digests', async () => {
    expectSucceeded(release)
    const before = await tagDigests(SERVICE)
    const again = await runAction({
      name: 'service-release-again',
      workspace: serviceWs,
      inputs: releaseInputs(),
      event: pushEvent(RELEASE.ref, RELEASE.sha, 'main'),
      ref: RELEASE.ref,
      sha: RELEASE.sha
    })
    expectSucceeded(again)
    await expectPostCleanedUp(again)
    expect(again.outputs.digest).toBe(release.outputs.digest)
    expect(again.outputs['base-digest']).toBe(release.outputs['base-digest'])
    expect(await tagDigests(SERVICE)).toEqual(before)
    const moves = metadataOf(again).moves
    expect(moves).toHaveLength(slimRefs.length + baseRefs.length)
    for (const m of moves)
      expect({ ref: m.ref, unchanged: m.from === m.to }).toEqual({ ref: m.ref, unchanged: true })
  })
})

describe('runs that push nothing', () => {
  test('push: false builds and smoke-tests but pushes nothing', async () => {
    const ws = await workspace('no-push', ['service'])
    const run = await runAction({
      workspace: ws,
      inputs: inputs(NO_PUSH, { push: 'false', 'smoke-test': 'python3 -m wsa_service' })
    })
    expectSucceeded(run)
    await expectPostCleanedUp(run)

    expect(run.outputs.digest).toBe('')
    expect(run.outputs['base-digest']).toBe('')
    const meta = metadataOf(run)
    expect(meta.pushed).toBe(false)
    expect(meta.moves).toEqual([])
    expect(meta.builds.map((b) => [b.platform, b.smokeOutput])).toEqual([
      ['linux/amd64', 'wsa-service 1.0.0 ok 5 x86_64']
    ])
    expect(await log(run)).toMatch(/Not pushing: push: false\./)
    expect(await listTags(repoPath(NO_PUSH))).toEqual([])
  })

  test('dockerfile-only writes the Dockerfile and names its build contexts; builds nothing', async () => {
    const ws = await workspace('dockerfile-only', ['service'])
    const imagesBefore = lines(
      (await docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])).stdout
    )
    const run = await runAction({
      workspace: ws,
      inputs: inputs(DOCKERFILE_ONLY, { 'dockerfile-only': 'true', platforms: BOTH.join(',') }),
      post: false
    })
    expectSucceeded(run)

    const dockerfile = run.outputs.dockerfile ?? ''
    const text = await readFile(dockerfile, 'utf8')
    const stages = [...text.matchAll(/^FROM (?:--platform=\S+ )?(\S+) AS (\S+)$/gm)].map(
      (m) => m[2]
    )
    expect(stages).toEqual([
      'runtime-image',
      'runtime-native',
      'runtime-files',
      'own',
      'resolve',
      'compile',
      'collect',
      'base',
      'wheels',
      'runtime-base',
      'runtime'
    ])
    expect(lines(run.outputs['build-contexts'])[0]).toMatch(/^wheel-slim-tools=\//)
    const tools = (lines(run.outputs['build-contexts'])[0] ?? '').split('=')[1] ?? ''
    expect(existsSync(path.join(tools, 'wheel_slim.py'))).toBe(true)
    expect(run.outputs.digest).toBe('')

    const output = `${run.stdout}\n${run.stderr}`
    expect(output).not.toMatch(/buildx/)
    const imagesAfter = lines(
      (await docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])).stdout
    )
    const added = imagesAfter.filter((ref) => !imagesBefore.includes(ref))
    expect(
      added.filter((ref) => ref.startsWith('wheel-slim-') || ref.startsWith(`${NS}/`))
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
