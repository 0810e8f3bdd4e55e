import { describe, expect, test } from '@jest/globals'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportedWheels, restoreDir } from '../src/wheel-cache.js'
import {
  cacheableWheels,
  cacheKeys,
  Fingerprint,
  needsSave,
  platformSlug,
  saveKey
} from '../src/wheel-cache-keys.js'

const FP: Fingerprint = {
  builder: 'ghcr.io/org/builder:3.11',
  pythonVersion: '3.11',
  buildPackages: ['libpq-dev', 'gcc'],
  pipArgs: ['--extra-index-url', 'https://user:s3cret@example.org/simple']
}
const HASH = '[0-9a-f]{16}'

describe('cacheKeys', () => {
  test('prefix, platform and the fingerprint hash; restore takes only this fingerprint', () => {
    const k = cacheKeys('wheel-slim', 'linux/arm/v7', FP)
    expect(k.platform).toBe('linux/arm/v7')
    expect(k.primary).toMatch(new RegExp(`^wheel-slim-linux-arm-v7-${HASH}$`))
    expect(k.restore).toEqual([`${k.primary}-`])
  })

  test('no platform-wide fallback: another fingerprint never matches by prefix', () => {
    const k = cacheKeys('p', 'linux/amd64', FP)
    const other = cacheKeys('p', 'linux/amd64', { ...FP, builder: 'python:3.11' })
    const otherEntry = saveKey(other, ['a-1-py3-none-any.whl'])
    expect(k.restore.filter((prefix) => otherEntry.startsWith(prefix))).toEqual([])
    expect(k.restore.every((prefix) => prefix.startsWith(k.primary))).toBe(true)
  })

  test('keys hold hashes, never input values', () => {
    const k = cacheKeys('wheel-slim', 'linux/amd64', FP)
    const all = [k.primary, ...k.restore, saveKey(k, ['a-1-py3-none-any.whl'], '987')].join(' ')
    for (const raw of ['s3cret', 'example.org', 'libpq', 'gcc', 'ghcr.io', '3.11', 'a-1']) {
      expect(all).not.toContain(raw)
    }
  })

  test.each<[string, Partial<Fingerprint>]>([
    ['the builder image', { builder: 'python:3.11' }],
    ['the Python version', { pythonVersion: '3.12' }],
    ['the build packages', { buildPackages: ['libpq-dev'] }],
    ['no build packages', { buildPackages: [] }],
    ['the pip arguments', { pipArgs: ['--no-index'] }],
    ['the order of the pip arguments', { pipArgs: [...FP.pipArgs].reverse() }]
  ])('a change of %s changes the key', (_what, change) => {
    expect(cacheKeys('p', 'linux/amd64', { ...FP, ...change }).primary).not.toBe(
      cacheKeys('p', 'linux/amd64', FP).primary
    )
  })

  test('the order of the build packages does not matter', () => {
    expect(
      cacheKeys('p', 'linux/amd64', { ...FP, buildPackages: ['gcc', 'libpq-dev'] }).primary
    ).toBe(cacheKeys('p', 'linux/amd64', FP).primary)
  })

  test('values cannot run into each other: the fields are hashed as a structure', () => {
    const a = cacheKeys('p', 'linux/amd64', { ...FP, builder: 'x', pythonVersion: 'y3.1' })
    const b = cacheKeys('p', 'linux/amd64', { ...FP, builder: 'xy', pythonVersion: '3.1' })
    expect(a.primary).not.toBe(b.primary)
  })

  test('platforms never share an entry, even by restore prefix', () => {
    const arm = cacheKeys('p', 'linux/arm/v7', FP)
    const arm64 = cacheKeys('p', 'linux/arm64', FP)
    const amd = cacheKeys('p', 'linux/amd64', FP)
    for (const [a, b] of [
      [arm, arm64],
      [arm64, arm],
      [arm, amd]
    ] as const) {
      expect(a.restore.some((prefix) => saveKey(b, ['x.whl']).startsWith(prefix))).toBe(false)
    }
  })

  test('the cache-key prefix separates images that do not share wheels', () => {
    expect(cacheKeys('a', 'linux/amd64', FP).primary).not.toBe(
      cacheKeys('b', 'linux/amd64', FP).primary
    )
  })
})

describe('saveKey', () => {
  const k = cacheKeys('p', 'linux/amd64', FP)

  test('the same set, in any order, gives the same key under the fingerprint prefix', () => {
    const a = saveKey(k, ['x-1.whl', 'y-2.whl'])
    expect(a).toBe(saveKey(k, ['y-2.whl', 'x-1.whl']))
    expect(a).toMatch(new RegExp(`^${k.primary}-[0-9a-f]{12}$`))
    expect(k.restore.some((prefix) => a.startsWith(prefix))).toBe(true)
  })

  test('a different set gives a different key', () => {
    expect(saveKey(k, ['x-1.whl'])).not.toBe(saveKey(k, ['x-2.whl']))
  })

  test('a replacement makes a key of its own, still found by the restore prefix', () => {
    const plain = saveKey(k, ['x-1.whl'])
    const replacing = saveKey(k, ['x-1.whl'], '123456789')
    expect(replacing).toBe(`${plain}-123456789`)
    expect(replacing).not.toBe(plain)
    expect(k.restore.some((prefix) => replacing.startsWith(prefix))).toBe(true)
  })

  test('no replacement id: the plain key', () => {
    expect(saveKey(k, ['x-1.whl'], undefined)).toBe(saveKey(k, ['x-1.whl']))
    expect(saveKey(k, ['x-1.whl'], '')).toBe(saveKey(k, ['x-1.whl']))
  })
})

describe('cacheableWheels', () => {
  test.each<[string, string[], string, string[]]>([
    [
      "drops the package's own wheel (any spelling of its name) and non-wheels, sorts",
      [
        'wsa_service-1.0.0-cp311-cp311-linux_x86_64.whl',
        'My_App-2.0-py3-none-any.whl',
        'numpy-2.0-cp311-cp311-linux_x86_64.whl',
        'notes.txt',
        'wheel-slim.json'
      ],
      'my-app',
      ['numpy-2.0-cp311-cp311-linux_x86_64.whl', 'wsa_service-1.0.0-cp311-cp311-linux_x86_64.whl']
    ],
    [
      'a dependency whose name starts like the package stays',
      ['my_app_extras-1.0-py3-none-any.whl', 'my_app-1.0-py3-none-any.whl'],
      'my.app',
      ['my_app_extras-1.0-py3-none-any.whl']
    ],
    ['nothing', [], 'my-app', []]
  ])('%s', (_name, files, pkg, expected) => {
    expect(cacheableWheels(files, pkg)).toEqual(expected)
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
  expect(restoreDir('linux/arm/v7')).toBe(join('.wheel-slim-cache', 'linux-arm-v7'))
  expect(restoreDir('linux/amd64')).not.toBe(restoreDir('linux/arm64'))
  expect(platformSlug('linux/amd64')).toBe('linux-amd64')
})

describe('exportedWheels', () => {
  test.each<[string, string[], string, string]>([
    ['one platform: the export directory itself', ['linux/amd64'], 'linux/amd64', ''],
    [
      'several: one sub-directory per platform',
      ['linux/amd64', 'linux/arm/v7'],
      'linux/arm/v7',
      'linux_arm_v7'
    ]
  ])('%s', (_name, platforms, platform, sub) => {
    const out = mkdtempSync(join(tmpdir(), 'wsa-exported-'))
    try {
      const dir = join(out, sub)
      mkdirSync(dir, { recursive: true })
      for (const f of ['b-1-py3-none-any.whl', 'a-1-py3-none-any.whl', 'wheel-slim.json']) {
        writeFileSync(join(dir, f), '')
      }
      expect(exportedWheels(out, platform, platforms).sort()).toEqual([
        join(dir, 'a-1-py3-none-any.whl'),
        join(dir, 'b-1-py3-none-any.whl')
      ])
      expect(exportedWheels(join(out, 'missing'), platform, platforms)).toEqual([])
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  })
})
