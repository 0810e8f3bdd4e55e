// The README's workflows, run as written: examples/workflows/matrix.yml (a job per platform with
// arch-tags, then a merge job) and examples/workflows/release.yml (release tags, a backport).
// Their `with:` blocks are read from the files; only the image's registry and what this machine
// needs (local base images, the local index) are put in.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import { runImage } from './support/docker.js'
import { buildFixtureDist } from './support/fixtures.js'
import { type Indexes, startIndexes } from './support/index.js'
import { configLabels, getManifest, listTags, platformsOf, REGISTRY } from './support/registry.js'
import { type ActionRun, pushEvent, runAction, WORK_DIR } from './support/runner.js'

const EXAMPLES = fileURLToPath(new URL('../examples/workflows/', import.meta.url))
const NS = `e2e-matrix-${randomBytes(4).toString('hex')}`
const MACHINE: Record<string, string> = { 'linux/amd64': 'x86_64', 'linux/arm/v7': 'armv7l' }

interface Step {
  uses?: string
  with?: Record<string, string | boolean>
}
interface Job {
  strategy?: { matrix?: Record<string, string[]> }
  steps: Step[]
}

/** Each job's wheel-slim step: its `with:` (one per matrix value), as the runner would expand it. */
async function actionSteps(file: string): Promise<Record<string, Record<string, string>[]>> {
  const workflow = parseYaml(await readFile(path.join(EXAMPLES, file), 'utf8')) as {
    jobs: Record<string, Job>
  }
  const out: Record<string, Record<string, string>[]> = {}
  for (const [name, job] of Object.entries(workflow.jobs)) {
    const step = job.steps.find((s) => s.uses?.startsWith('org/wheel-slim-action@'))
    if (!step?.with) continue
    const matrix = job.strategy?.matrix ?? {}
    const [key, values] = Object.entries(matrix)[0] ?? ['', ['']]
    out[name] = values.map((value) =>
      Object.fromEntries(
        Object.entries(step.with ?? {}).map(([k, v]) => [
          k,
          String(v).replace(new RegExp(`\\$\\{\\{\\s*matrix\\.${key}\\s*\\}\\}`, 'g'), value)
        ])
      )
    )
  }
  return out
}

let indexes: Indexes
let root: string

beforeAll(async () => {
  await mkdir(WORK_DIR, { recursive: true })
  indexes = await startIndexes([], ['service'])
  root = await mkdtemp(path.join(WORK_DIR, 'matrix-'))
}, 10 * 60_000)

afterAll(async () => {
  await indexes?.stop()
  await rm(root, { recursive: true, force: true })
})

/** A run of the step `given` (from a workflow file) on this machine, for a push of `ref`. */
async function run(
  name: string,
  given: Record<string, string>,
  repo: string,
  ref: string,
  sha: string,
  version = '1.0.0'
): Promise<ActionRun> {
  const ws = path.join(root, name)
  await mkdir(ws, { recursive: true })
  if (given['merge'] !== 'true')
    await buildFixtureDist('service', path.join(ws, 'dist'), { version })
  return runAction({
    name,
    workspace: ws,
    inputs: {
      ...given,
      image: `${REGISTRY}/${NS}/${repo}`,
      'python-version': '3.11',
      'builder-image': `${REGISTRY}/python:3.11`,
      'runtime-image': `${REGISTRY}/python:3.11-slim`,
      cache: 'false',
      ...indexes.inputs
    },
    event: pushEvent(ref, sha, 'main'),
    ref,
    sha
  })
}

function expectGreen(r: ActionRun): void {
  if (r.exitCode !== 0) throw new Error(`action failed: ${r.errors.join('\n')}\nlog: ${r.logFile}`)
}

async function tagDigests(repo: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const t of await listTags(`${NS}/${repo}`))
    out[t] = (await getManifest(`${REGISTRY}/${NS}/${repo}:${t}`)).digest
  return out
}

describe('examples/workflows/matrix.yml: a job per platform, then the merge', () => {
  const sha = randomBytes(20).toString('hex')
  const ref = 'refs/tags/v2.1.0'
  const TAGS = ['2.1.0', '2.1', '2', 'latest', `sha-${sha.slice(0, 7)}`]
  let steps: Record<string, Record<string, string>[]>
  let merged: ActionRun

  beforeAll(async () => {
    steps = await actionSteps('matrix.yml')
    for (const given of steps['build'] ?? []) {
      const job = await run(
        `matrix-${given['platforms']?.replace(/\W/g, '')}`,
        given,
        'svc',
        ref,
        sha,
        '2.1.0'
      )
      expectGreen(job)
    }
    merged = await run('matrix-merge', steps['merge']?.[0] ?? {}, 'svc', ref, sha)
  }, 30 * 60_000)

  test('the file has two build jobs (one per platform, arch-tags) and a merge job', () => {
    expect(steps['build']?.map((w) => [w['platforms'], w['arch-tags']])).toEqual([
      ['linux/amd64', 'true'],
      ['linux/arm/v7', 'true']
    ])
    expect(steps['merge']?.[0]?.['merge']).toBe('true')
  })

  test('every computed tag, slim and base, holds an index of exactly both platforms', async () => {
    expectGreen(merged)
    for (const tag of TAGS) {
      for (const t of [tag, `${tag}-base`]) {
        const platforms = (await platformsOf(`${REGISTRY}/${NS}/svc:${t}`)).sort()
        expect({ t, platforms }).toEqual({ t, platforms: ['linux/amd64', 'linux/arm/v7'] })
      }
    }
    expect((await getManifest(`${REGISTRY}/${NS}/svc:latest`)).digest).toBe(merged.outputs.digest)
    expect((await getManifest(`${REGISTRY}/${NS}/svc:latest-base`)).digest).toBe(
      merged.outputs['base-digest']
    )
  })

  test.each([
    ['linux/amd64', 'amd64'],
    ['linux/arm/v7', 'arm32v7']
  ])(
    '%s: its per-architecture tags run on it, and the merged tag runs there too',
    async (platform, arch) => {
      const own = await runImage(`${REGISTRY}/${NS}/svc:2.1.0-${arch}`, platform)
      expect(own.stdout).toBe(`wsa-service 2.1.0 ok 5 ${MACHINE[platform]}\n`)
      const merged = await runImage(`${REGISTRY}/${NS}/svc:2.1.0`, platform)
      expect(merged.stdout).toBe(own.stdout)
      expect(await platformsOf(`${REGISTRY}/${NS}/svc:2.1.0-base-${arch}`)).toEqual([platform])
    }
  )

  test("each index carries the images' OCI labels and the index annotations; each image its manifest ones", async () => {
    expectGreen(merged)
    for (const t of ['latest', 'latest-base']) {
      const index = await getManifest(`${REGISTRY}/${NS}/svc:${t}`)
      expect(index.manifest.annotations).toMatchObject({
        'org.opencontainers.image.title': 'wsa-service',
        'org.opencontainers.image.version': '2.1.0',
        'org.opencontainers.image.revision': sha,
        'org.opencontainers.image.vendor': 'Org'
      })
      for (const entry of index.manifest.manifests ?? []) {
        const image = await getManifest(`${index.repo}@${entry.digest}`)
        expect(image.manifest.annotations).toEqual({ 'org.opencontainers.image.vendor': 'Org' })
        const labels = await configLabels(index.repo, entry.digest)
        expect(labels['org.opencontainers.image.created']).toBe(
          index.manifest.annotations?.['org.opencontainers.image.created']
        )
      }
    }
  })

  test('running the merge again changes nothing', async () => {
    expectGreen(merged)
    const before = await tagDigests('svc')
    const again = await run('matrix-merge-again', steps['merge']?.[0] ?? {}, 'svc', ref, sha)
    expectGreen(again)
    expect(await tagDigests('svc')).toEqual(before)
  })

  test('a merge with a platform missing fails, naming it and the tag it looked for, and creates no tag', async () => {
    const other = randomBytes(20).toString('hex')
    const amd64 = (steps['build'] ?? []).find((w) => w['platforms'] === 'linux/amd64') ?? {}
    expectGreen(await run('matrix-half', amd64, 'half', 'refs/tags/v2.2.0', other, '2.2.0'))
    const before = await tagDigests('half')
    const failed = await run(
      'matrix-half-merge',
      steps['merge']?.[0] ?? {},
      'half',
      'refs/tags/v2.2.0',
      other
    )
    expect(failed.exitCode).not.toBe(0)
    expect(failed.errors.join('\n')).toContain(
      `linux/arm/v7 (looked for ${REGISTRY}/${NS}/half:sha-${other.slice(0, 7)}-arm32v7)`
    )
    expect(failed.errors.join('\n')).toContain('No tag was created or moved')
    expect(await tagDigests('half')).toEqual(before)
  })
})

describe('examples/workflows/release.yml: release tags, and a backport', () => {
  test('v1.5.0, v2.0.0, then the backport v1.4.9: 1.4.9 and 1.4 created, latest and 1 stay', async () => {
    const given = (await actionSteps('release.yml'))['image']?.[0] ?? {}
    expect(given['platforms']).toBe('linux/amd64,linux/arm/v7')
    const release = async (version: string): Promise<ActionRun> => {
      const r = await run(
        `release-${version}`,
        given,
        'rel',
        `refs/tags/v${version}`,
        randomBytes(20).toString('hex'),
        version
      )
      expectGreen(r)
      return r
    }
    const v150 = await release('1.5.0')
    const v200 = await release('2.0.0')
    const v149 = await release('1.4.9')
    const tags = await tagDigests('rel')
    expect(tags['latest']).toBe(v200.outputs.digest)
    expect(tags['latest-base']).toBe(v200.outputs['base-digest'])
    expect(tags['1']).toBe(v150.outputs.digest)
    expect(tags['1-base']).toBe(v150.outputs['base-digest'])
    expect(tags['1.4']).toBe(v149.outputs.digest)
    expect(tags['1.4.9']).toBe(v149.outputs.digest)
    expect(v149.stdout).toMatch(/tag kept: .*:latest stays on 2\.0\.0, not older than this release/)
    expect(v149.stdout).toMatch(/tag kept: .*:1 stays on 1\.5\.0, not older than this release/)
  })

  test('a tag whose version is not the one in dist/ is refused, naming both', async () => {
    const given = (await actionSteps('release.yml'))['image']?.[0] ?? {}
    const r = await run(
      'release-mismatch',
      given,
      'mismatch',
      'refs/tags/v1.2.3',
      randomBytes(20).toString('hex'),
      '1.2.4.dev3'
    )
    expect(r.exitCode).not.toBe(0)
    expect(r.errors.join('\n')).toContain(
      'The git tag v1.2.3 is version 1.2.3, but dist/ holds version 1.2.4.dev3'
    )
    expect(await listTags(`${NS}/mismatch`)).toEqual([])
  })
})
