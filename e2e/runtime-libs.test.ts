// No broken image: a package whose C extension links a system library (libyaml) and loads it
// only when the app runs. Built with its -dev package and no runtime-packages, the action finds
// libyaml-0-2 itself and the pushed images run on both platforms with no -dev package; with the
// automatic part off, the run fails before any push, naming the library. A child image of it
// runs without repeating the runtime package, on its parent's Python. A runtime image older than
// the builder is refused before anything compiles.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { runImage } from './support/docker.js'
import { buildFixtureDist, type FixtureName } from './support/fixtures.js'
import { type Indexes, startIndexes } from './support/index.js'
import { listTags, REGISTRY } from './support/registry.js'
import { type ActionRun, pushEvent, runAction, WORK_DIR } from './support/runner.js'

const BOTH = ['linux/amd64', 'linux/arm/v7']
const MACHINE: Record<string, string> = { 'linux/amd64': 'x86_64', 'linux/arm/v7': 'armv7l' }
const NS = `e2e-libs-${randomBytes(4).toString('hex')}`
const SHA = randomBytes(20).toString('hex')
const OLD_RUNTIME = `${REGISTRY}/debian:bullseye`

interface Build {
  platform: string
  runtimePackages: Record<string, string[]>
  testSeconds: number
}
const builds = (run: ActionRun): Build[] =>
  (JSON.parse(run.outputs.metadata ?? '{}') as { builds: Build[] }).builds

let indexes: Indexes
let root: string

beforeAll(async () => {
  await mkdir(WORK_DIR, { recursive: true })
  indexes = await startIndexes(['yaml'], [])
  root = await mkdtemp(path.join(WORK_DIR, 'libs-'))
}, 10 * 60_000)

afterAll(async () => {
  await indexes?.stop()
  await rm(root, { recursive: true, force: true })
})

async function run(
  name: string,
  fixture: FixtureName,
  image: string,
  extra: Record<string, string>,
  post = true
): Promise<ActionRun> {
  const ws = path.join(root, name)
  await buildFixtureDist(fixture, path.join(ws, 'dist'))
  return runAction({
    name,
    workspace: ws,
    inputs: {
      image: `${REGISTRY}/${NS}/${image}`,
      'builder-image': `${REGISTRY}/python:3.11`,
      'runtime-image': `${REGISTRY}/python:3.11-slim`,
      cache: 'false',
      ...indexes.inputs,
      ...extra
    },
    event: pushEvent('refs/heads/main', SHA, 'main'),
    ref: 'refs/heads/main',
    sha: SHA,
    post
  })
}

function expectGreen(r: ActionRun): void {
  if (r.exitCode !== 0) throw new Error(`action failed: ${r.errors.join('\n')}\nlog: ${r.logFile}`)
}

describe('a C extension linking libyaml, built with libyaml-dev and no runtime-packages', () => {
  let yaml: ActionRun

  beforeAll(async () => {
    yaml = await run('yaml', 'yaml', 'yaml', {
      'python-version': '3.11',
      'build-packages': 'libyaml-dev',
      platforms: BOTH.join(',')
    })
  }, 30 * 60_000)

  test('the action finds libyaml-0-2 itself, for both platforms, and says why', () => {
    expectGreen(yaml)
    for (const b of builds(yaml)) {
      expect({ platform: b.platform, packages: b.runtimePackages }).toEqual({
        platform: b.platform,
        packages: { 'libyaml-0-2': [expect.stringMatching(/^wsa_yaml-1\.0\.0-cp311-cp311-linux_/)] }
      })
      console.log(
        `${b.platform}: the smoke test and the check that every compiled module loads took ${b.testSeconds} s`
      )
    }
    expect(yaml.stdout).toMatch(
      /linux\/arm\/v7: runtime package libyaml-0-2 installed for wsa_yaml-1\.0\.0-cp311-cp311-linux_armv7l\.whl/
    )
  })

  test.each(BOTH)(
    '%s: the pushed image runs the app (libyaml loads) and holds no -dev package',
    async (platform) => {
      expectGreen(yaml)
      const ref = `${REGISTRY}/${NS}/yaml:edge`
      const { stdout } = await runImage(ref, platform)
      expect(stdout).toMatch(
        new RegExp(`^wsa-yaml 1\\.0\\.0 libyaml 0\\.2\\.\\d+ ${MACHINE[platform]}\\n$`)
      )
      const dpkg = await runImage(ref, platform, ['-c', "dpkg-query -W -f '${Package}\\n'"], {
        entrypoint: 'sh'
      })
      const installed = dpkg.stdout.split('\n')
      expect(installed).toContain('libyaml-0-2')
      expect(installed.filter((p) => p.endsWith('-dev'))).toEqual([])
    }
  )

  test("a child on its base image runs on its parent's Python without repeating the runtime package", async () => {
    expectGreen(yaml)
    const child = await run('yaml-app', 'yaml-app', 'yaml-app', {
      parent: `${REGISTRY}/${NS}/yaml:edge-base`,
      'builder-image': '',
      platforms: 'linux/amd64'
    })
    expectGreen(child)
    expect(builds(child)).toEqual([
      expect.objectContaining({
        platform: 'linux/amd64',
        runtimePackages: { 'libyaml-0-2': ['wsa_yaml-1.0.0-cp311-cp311-linux_x86_64.whl'] }
      })
    ])
    const { stdout } = await runImage(`${REGISTRY}/${NS}/yaml-app:edge`, 'linux/amd64')
    expect(stdout).toMatch(/^wsa-yaml-app 0\.3\.0 on libyaml 0\.2\.\d+ x86_64\n$/)

    // With no python-version, builder-image or runtime-image, the parent's recorded Python (3.11,
    // not the default 3.12) names the default images.
    const plain = await run(
      'yaml-app-defaults',
      'yaml-app',
      'yaml-app',
      {
        parent: `${REGISTRY}/${NS}/yaml:edge-base`,
        'builder-image': '',
        'runtime-image': '',
        'dockerfile-only': 'true'
      },
      // The post step would remove the Dockerfile.
      false
    )
    expectGreen(plain)
    expect(await readFile(plain.outputs.dockerfile ?? '', 'utf8')).toContain(
      'FROM python:3.11-slim AS runtime-image'
    )
  })
})

test('with auto-runtime-packages off, the run fails before any push, naming the module, the library and the platform', async () => {
  const off = await run('yaml-off', 'yaml', 'yaml-off', {
    'python-version': '3.11',
    'build-packages': 'libyaml-dev',
    'auto-runtime-packages': 'false',
    platforms: 'linux/amd64'
  })
  expect(off.exitCode).not.toBe(0)
  const error = off.errors.join('\n')
  expect(error).toMatch(/Compiled modules cannot load on linux\/amd64/)
  expect(error).toMatch(
    /module wsa_yaml\._yaml \(wsa_yaml\/_yaml\.cpython-311-x86_64-linux-gnu\.so\) needs libyaml-0\.so\.2/
  )
  expect(error).toMatch(/auto-runtime-packages: true/)
  expect(error).toMatch(/Nothing was pushed/)
  expect(await listTags(`${NS}/yaml-off`)).toEqual([])
})

test('a runtime image older than the builder (glibc 2.31 against 2.36) is refused before anything compiles', async () => {
  const old = await run('old-runtime', 'yaml', 'old-runtime', {
    'python-version': '3.11',
    'runtime-image': OLD_RUNTIME,
    'build-packages': 'libyaml-dev',
    platforms: 'linux/amd64'
  })
  expect(old.exitCode).not.toBe(0)
  const error = old.errors.join('\n')
  expect(error).toMatch(
    new RegExp(
      `runtime-image ${OLD_RUNTIME} \\(glibc 2\\.31 \\(Debian GNU/Linux 11 \\(bullseye\\)\\)\\) does not fit builder-image ${REGISTRY}/python:3\\.11 \\(glibc 2\\.36 \\(Debian GNU/Linux 12 \\(bookworm\\)\\)\\)`
    )
  )
  expect(error).toMatch(/its glibc 2\.31 is older than the builder's 2\.36/)
  expect(error).toMatch(/Nothing was built or pushed/)
  // Refused in the first step: the build packages were never installed, nothing compiled.
  expect(old.stdout).not.toMatch(/Building wheel for wsa-yaml/)
  expect(await listTags(`${NS}/old-runtime`)).toEqual([])
})
