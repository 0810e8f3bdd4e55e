/**
 * checkParent: before anything compiles, the parent must exist, hold every platform of this
 * build, carry its wheels where wheel-dir says and be of this build's Python. The registry is a
 * fake behind docker.js, answering `buildx imagetools inspect` as buildx prints an index (with
 * an attestation manifest) or a lone manifest.
 */
import { beforeEach, describe, expect, jest, test } from '@jest/globals'
import * as core from '../__fixtures__/core.js'
import type { DockerOptions, DockerResult } from '../src/docker.js'

const docker = jest.fn<(args: string[], opts?: DockerOptions) => Promise<DockerResult>>()
class DockerError extends Error {
  constructor(
    readonly args: string[],
    readonly result: DockerResult
  ) {
    super(`docker ${args.slice(0, 2).join(' ')} failed (exit ${result.exitCode})`)
  }
}
jest.unstable_mockModule('@actions/core', () => core)
jest.unstable_mockModule('../src/docker.js', () => ({ docker, stopAll: jest.fn(), DockerError }))
const { checkParent } = await import('../src/parent.js')
const { InputError } = await import('../src/validate.js')

/** An image in the fake registry: an index of platforms, or one lone manifest. */
interface FakeImage {
  /** Index entries; undefined: a lone manifest of `lone`. */
  platforms?: string[]
  lone?: string
  labels: Record<string, string> | null
}

const PARENT = 'ghcr.io/org/service:1.4-base'
const WHEEL_DIR = '/wheeley'
const GOOD_LABELS = {
  'io.wheel-slim.wheel-dir': WHEEL_DIR,
  'io.wheel-slim.python-version': '3.12',
  'org.opencontainers.image.version': '1.4.2'
}
const digest = (n: number): string => `sha256:${String(n).repeat(64).slice(0, 64)}`
const split = (p: string): { os: string; architecture: string; variant?: string } => {
  const [os = '', architecture = '', variant] = p.split('/')
  return variant ? { os, architecture, variant } : { os, architecture }
}

let registry: Map<string, FakeImage>

function answer(args: string[]): DockerResult {
  const ok = (value: unknown): DockerResult => ({
    exitCode: 0,
    stdout: JSON.stringify(value),
    stderr: ''
  })
  const [, sub, verb, ref = ''] = args
  if (args[0] !== 'buildx' || sub !== 'imagetools' || verb !== 'inspect') {
    throw new Error(`unexpected docker ${args.join(' ')}`)
  }
  const image = registry.get(ref)
  if (!image) return { exitCode: 1, stdout: '', stderr: `ERROR: ${ref}: not found\n` }
  const config = { config: { Labels: image.labels } }
  if (args.includes('--raw')) {
    if (!image.platforms) {
      return ok({
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        layers: [{ size: 10 }]
      })
    }
    return ok({
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        ...image.platforms.map((p, i) => ({ digest: digest(i + 3), platform: split(p) })),
        // BuildKit's attestation manifest
        {
          digest: digest(9),
          platform: { os: 'unknown', architecture: 'unknown' },
          annotations: { 'vnd.docker.reference.type': 'attestation-manifest' }
        }
      ]
    })
  }
  const format = args[args.indexOf('--format') + 1]
  if (format === '{{json .Manifest}}') return ok({ digest: digest(1) })
  if (format === '{{json .Image}}') {
    if (!image.platforms) return ok({ ...split(image.lone ?? ''), ...config })
    return ok(Object.fromEntries(image.platforms.map((p) => [p, config])))
  }
  throw new Error(`unexpected docker ${args.join(' ')}`)
}

beforeEach(() => {
  jest.resetAllMocks()
  core.installDefaults()
  registry = new Map()
  docker.mockImplementation(async (args) => answer(args))
})

const refused = (what: string): string =>
  `Input "parent": ${JSON.stringify(PARENT)} is not valid; expected a base image this action pushed that ${what}.`

describe('checkParent', () => {
  // [name, the parent in the registry (undefined: none), platforms of the build, python-version,
  // the error (undefined: it fits)]
  test.each<[string, FakeImage | undefined, string[], string, string | undefined]>([
    ['missing', undefined, ['linux/amd64'], '3.12', refused('exists; nothing is there')],
    [
      'an index that lacks a platform',
      { platforms: ['linux/amd64'], labels: GOOD_LABELS },
      ['linux/amd64', 'linux/arm/v7'],
      '3.12',
      refused('holds linux/amd64, linux/arm/v7; it holds linux/amd64 (missing linux/arm/v7)')
    ],
    [
      'a lone manifest of another platform',
      { lone: 'linux/amd64', labels: GOOD_LABELS },
      ['linux/arm64'],
      '3.12',
      refused('holds linux/arm64; it holds linux/amd64 (missing linux/arm64)')
    ],
    [
      'no io.wheel-slim.wheel-dir label (a plain python image)',
      { platforms: ['linux/amd64', 'linux/arm64'], labels: { maintainer: 'someone' } },
      ['linux/amd64'],
      '3.12',
      refused(
        'carries a wheel directory at /wheeley (wheel-dir); it has no io.wheel-slim.wheel-dir label, so no wheel directory'
      )
    ],
    [
      'no labels at all',
      { platforms: ['linux/amd64'], labels: null },
      ['linux/amd64'],
      '3.12',
      refused(
        'carries a wheel directory at /wheeley (wheel-dir); it has no io.wheel-slim.wheel-dir label, so no wheel directory'
      )
    ],
    [
      'its wheels in another directory',
      { platforms: ['linux/amd64'], labels: { ...GOOD_LABELS, 'io.wheel-slim.wheel-dir': '/w' } },
      ['linux/amd64'],
      '3.12',
      refused('carries its wheels at /wheeley (wheel-dir); they are at /w')
    ],
    [
      'wheels for another Python',
      { platforms: ['linux/amd64'], labels: GOOD_LABELS },
      ['linux/amd64'],
      '3.11',
      refused('carries wheels for Python 3.11 (python-version); its wheels are for Python 3.12')
    ],
    [
      'all good: an index with every platform (and an attestation)',
      { platforms: ['linux/amd64', 'linux/arm/v7', 'linux/arm64'], labels: GOOD_LABELS },
      ['linux/arm/v7', 'linux/amd64'],
      '3.12',
      undefined
    ],
    [
      'all good: a lone manifest of the one platform built',
      { lone: 'linux/arm/v7', labels: GOOD_LABELS },
      ['linux/arm/v7'],
      '3.12',
      undefined
    ],
    [
      'all good: no Python recorded',
      {
        platforms: ['linux/amd64'],
        labels: { 'io.wheel-slim.wheel-dir': WHEEL_DIR }
      },
      ['linux/amd64'],
      '3.13',
      undefined
    ]
  ])('%s', async (_name, image, platforms, python, error) => {
    if (image) registry.set(PARENT, image)
    const outcome = checkParent(PARENT, platforms, WHEEL_DIR, python)
    if (error === undefined) {
      await expect(outcome).resolves.toBeUndefined()
    } else {
      await expect(outcome).rejects.toThrow(InputError)
      await expect(outcome).rejects.toThrow(new Error(error))
    }
    // reads only, silent
    for (const [args, opts] of docker.mock.calls) {
      expect(args.slice(0, 3)).toEqual(['buildx', 'imagetools', 'inspect'])
      expect(opts?.silent).toBe(true)
    }
  })

  test('a missing parent: nothing read after it was found missing', async () => {
    await expect(checkParent(PARENT, ['linux/amd64'], WHEEL_DIR, '3.12')).rejects.toThrow(
      'exists; nothing is there'
    )
    expect(docker.mock.calls.map(([args]) => args)).toEqual([
      ['buildx', 'imagetools', 'inspect', PARENT, '--format', '{{json .Manifest}}']
    ])
  })

  test('a registry that refuses the login: said plainly, naming the registry', async () => {
    docker.mockResolvedValue({
      exitCode: 1,
      stdout: '',
      stderr: 'ERROR: failed to authorize: no basic auth credentials\n'
    })
    await expect(checkParent(PARENT, ['linux/amd64'], WHEEL_DIR, '3.12')).rejects.toThrow(
      `Registry ghcr.io: authentication failed when trying to read ${PARENT} (ERROR: failed to authorize: no basic auth credentials). Log in before this step, e.g. with docker/login-action (registry: ghcr.io).`
    )
  })
})
