/**
 * The engine checks made before anything else: a daemon that answers and a buildx new enough.
 * buildxVersion reads what `docker buildx version` prints; setUpEngine runs the checks with
 * docker faked, and stops before QEMU when one fails.
 */
import { beforeEach, describe, expect, jest, test } from '@jest/globals'
import * as core from '../__fixtures__/core.js'
import type { DockerOptions, DockerResult } from '../src/docker.js'
import type { Runs } from '../src/qemu.js'

const docker = jest.fn<(args: string[], opts?: DockerOptions) => Promise<DockerResult>>()
const ensureQemu = jest.fn<() => Promise<Record<string, Runs>>>()

jest.unstable_mockModule('@actions/core', () => core)
jest.unstable_mockModule('../src/docker.js', () => ({ docker, stopAll: jest.fn() }))
jest.unstable_mockModule('../src/qemu.js', () => ({ ensureQemu }))
const { buildxVersion, MIN_BUILDX, setUpEngine } = await import('../src/engine.js')
const { Cleanup } = await import('../src/cleanup.js')

describe('buildxVersion', () => {
  test.each<[string, number[] | undefined]>([
    // the upstream plugin: its module path, a v-version and the commit
    ['github.com/docker/buildx v0.13.1 abc', [0, 13, 1]],
    ['github.com/docker/buildx v0.13.1 abc\n', [0, 13, 1]],
    // a distribution's package: its version twice, with the packaging suffix
    ['github.com/docker/buildx 0.13.1+ds1 0.13.1+ds1-3', [0, 13, 1]],
    ['v0.9.1', [0, 9, 1]],
    ['github.com/docker/buildx v0.11.0-rc1 687feca', [0, 11, 0]],
    ['github.com/docker/buildx v1.2 deadbee', [1, 2, 0]],
    ['garbage', undefined],
    ['', undefined],
    ["docker: 'buildx' is not a docker command.", undefined]
  ])('%j → %j', (text, version) => {
    expect(buildxVersion(text)).toEqual(version)
  })

  test('the minimum this action needs', () => {
    expect(MIN_BUILDX).toEqual([0, 11])
  })
})

describe('setUpEngine: the daemon and buildx are checked first', () => {
  const ok = (stdout: string): DockerResult => ({ exitCode: 0, stdout, stderr: '' })
  const fail = (stderr: string): DockerResult => ({ exitCode: 1, stdout: '', stderr })

  /** docker answering `version` and `buildx version` as given; QEMU refused after them. */
  function answers(version: DockerResult, buildx: DockerResult): void {
    docker.mockImplementation(async (args) => {
      if (args[0] === 'version') return version
      if (args[0] === 'buildx' && args[1] === 'version') return buildx
      throw new Error(`unexpected docker ${args.join(' ')}`)
    })
    ensureQemu.mockRejectedValue(new Error('QEMU reached'))
  }
  const setUp = (): Promise<unknown> =>
    setUpEngine(['linux/amd64'], 'binfmt', 'python:3.12-slim', 'default', 'k', new Cleanup())

  beforeEach(() => {
    jest.resetAllMocks()
    core.installDefaults()
  })

  test.each<[string, DockerResult, DockerResult, string]>([
    [
      'no daemon answers',
      fail(
        'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n'
      ),
      ok('github.com/docker/buildx v0.13.1 abc\n'),
      "Docker: no daemon answers (Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?). GitHub's hosted runners run one; on your own runner start dockerd, or add docker/setup-docker-action before this step."
    ],
    [
      'buildx is missing',
      ok('27.3.1\n'),
      fail("docker: 'buildx' is not a docker command.\nSee 'docker --help'\n"),
      "Docker buildx is missing (docker: 'buildx' is not a docker command. See 'docker --help'). Add docker/setup-buildx-action before this step, or install the docker-buildx plugin."
    ],
    [
      'buildx prints no version',
      ok('27.3.1\n'),
      ok('garbage\n'),
      'Docker buildx is missing (garbage). Add docker/setup-buildx-action before this step, or install the docker-buildx plugin.'
    ],
    [
      'buildx is too old',
      ok('27.3.1\n'),
      ok('github.com/docker/buildx v0.9.1 ed00243\n'),
      'Docker buildx 0.9.1 is older than 0.11, which this action needs (bake with named contexts and attestations). Update it with docker/setup-buildx-action.'
    ],
    [
      'a distribution buildx too old',
      ok('20.10.24\n'),
      ok('github.com/docker/buildx 0.10.4+ds1 0.10.4+ds1-1\n'),
      'Docker buildx 0.10.4 is older than 0.11, which this action needs (bake with named contexts and attestations). Update it with docker/setup-buildx-action.'
    ]
  ])('%s: a clear error, nothing else run', async (_name, version, buildx, message) => {
    answers(version, buildx)
    await expect(setUp()).rejects.toThrow(new Error(message))
    expect(ensureQemu).not.toHaveBeenCalled()
  })

  test.each([
    'github.com/docker/buildx v0.11.0 687feca',
    'github.com/docker/buildx 0.13.1+ds1 0.13.1+ds1-3',
    'github.com/docker/buildx v1.0.0 abc'
  ])('buildx %j is enough: QEMU is next', async (text) => {
    answers(ok('27.3.1\n'), ok(`${text}\n`))
    await expect(setUp()).rejects.toThrow('QEMU reached')
    expect(ensureQemu).toHaveBeenCalledTimes(1)
    // the two checks first; then QEMU and the builder's reads side by side
    expect(docker.mock.calls.map(([args]) => args).slice(0, 2)).toEqual([
      ['version', '--format', '{{.Server.Version}}'],
      ['buildx', 'version']
    ])
  })
})
