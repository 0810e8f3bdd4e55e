import { describe, expect, test } from '@jest/globals'
import {
  cacheableWheels,
  cacheKeys,
  Fingerprint,
  needsSave,
  platformSlug,
  restoreDir,
  saveKey
} from '../src/wheel-cache.js'

const FP: Fingerprint = {
  abi: 'cpython-311 ',
  builder: 'ghcr.io/org/builder:3.11',
  buildPackages: ['libpq-dev'],
  pipArgs: ['--extra-index-url', 'https://user:s3cret@example.org/simple']
}

describe('cacheKeys', () => {
  test('prefix, platform and a hash; restore by fingerprint, then by platform', () => {
    const k = cacheKeys('wheel-slim', 'linux/arm/v7', FP)
    expect(k.primary).toMatch(/^wheel-slim-linux-arm-v7-[0-9a-f]{16}$/)
    expect(k.restore).toEqual([`${k.primary}-`, 'wheel-slim-linux-arm-v7-'])
  })

  test('keys hold hashes, never input values', () => {
    const k = cacheKeys('wheel-slim', 'linux/amd64', FP)
    const all = [k.primary, ...k.restore, saveKey(k, ['a-1-py3-none-any.whl'])].join(' ')
    for (const raw of ['s3cret', 'example.org', 'libpq', 'ghcr.io', '3.11', 'cpython']) {
      expect(all).not.toContain(raw)
    }
  })

  test.each<[string, Partial<Fingerprint>]>([
    ['the ABI', { abi: 'cpython-312 ' }],
    ['the builder image', { builder: 'python:3.11' }],
    ['the build packages', { buildPackages: [] }],
    ['the pip arguments', { pipArgs: ['--no-index'] }]
  ])('a change of %s changes the key', (_what, change) => {
    expect(cacheKeys('p', 'linux/amd64', { ...FP, ...change }).primary).not.toBe(
      cacheKeys('p', 'linux/amd64', FP).primary
    )
  })

  test('platforms never share an entry, even by restore prefix', () => {
    const arm = cacheKeys('p', 'linux/arm/v7', FP)
    const arm64 = cacheKeys('p', 'linux/arm64', FP)
    expect(arm64.primary.startsWith(arm.restore[1] as string)).toBe(false)
    expect(arm.primary.startsWith(arm64.restore[1] as string)).toBe(false)
  })
})

describe('saveKey', () => {
  const k = cacheKeys('p', 'linux/amd64', FP)
  test('the same set, in any order, gives the same key under the fingerprint prefix', () => {
    const a = saveKey(k, ['x-1.whl', 'y-2.whl'])
    expect(a).toBe(saveKey(k, ['y-2.whl', 'x-1.whl']))
    expect(a.startsWith(k.restore[0] as string)).toBe(true)
  })
  test('a different set gives a different key', () => {
    expect(saveKey(k, ['x-1.whl'])).not.toBe(saveKey(k, ['x-2.whl']))
  })
})

describe('cacheableWheels', () => {
  test("drops the package's own wheel (any spelling of its name) and non-wheels, sorts", () => {
    expect(
      cacheableWheels(
        [
          'wsa_service-1.0.0-cp311-cp311-linux_x86_64.whl',
          'My_App-2.0-py3-none-any.whl',
          'numpy-2.0-cp311-cp311-linux_x86_64.whl',
          'notes.txt'
        ],
        'my-app'
      )
    ).toEqual([
      'numpy-2.0-cp311-cp311-linux_x86_64.whl',
      'wsa_service-1.0.0-cp311-cp311-linux_x86_64.whl'
    ])
  })
})

describe('needsSave', () => {
  test.each<[string[], string[], boolean]>([
    [['a.whl'], ['a.whl'], false],
    [['a.whl'], ['a.whl', 'old.whl'], false],
    [['a.whl', 'b.whl'], ['a.whl'], true],
    [['a.whl'], [], true],
    [[], [], false]
  ])('saved %j, restored %j → %s', (saved, restored, expected) => {
    expect(needsSave(saved, restored)).toBe(expected)
  })
})

test('restore directories are workspace-relative and per platform', () => {
  expect(restoreDir('linux/arm/v7')).toBe('.wheel-slim-cache/linux-arm-v7')
  expect(platformSlug('linux/amd64')).toBe('linux-amd64')
})
