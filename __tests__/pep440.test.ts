import { describe, expect, test } from '@jest/globals'
import {
  compareVersions,
  isFinalRelease,
  normalizeVersion,
  parseVersion,
  Pep440,
  releaseTags
} from '../src/pep440.js'

const parse = (text: string): Pep440 => {
  const v = parseVersion(text)
  if (!v) throw new Error(`not a PEP 440 version: ${text}`)
  return v
}

// Expected values are str(packaging.version.Version(input)) from pip's vendored packaging 21.3,
// except where marked "deviation".
describe('parseVersion + normalizeVersion', () => {
  test.each<[string, string]>([
    ['1.2.3', '1.2.3'],
    ['v1.2.3rc1', '1.2.3rc1'],
    ['V1.2.3RC1', '1.2.3rc1'],
    ['1.2.3-rc.1', '1.2.3rc1'],
    ['1.2.3-beta.1', '1.2.3b1'],
    ['1.2.3rc', '1.2.3rc0'],
    ['1.0rc', '1.0rc0'],
    ['1.0c1', '1.0rc1'],
    ['1.0C2', '1.0rc2'],
    ['1.0pre3', '1.0rc3'],
    ['1.0preview', '1.0rc0'],
    ['1.0-preview-4', '1.0rc4'],
    ['1.0alpha', '1.0a0'],
    ['1.0Alpha_2', '1.0a2'],
    ['1.0beta.3', '1.0b3'],
    ['1.0b', '1.0b0'],
    ['1.0a-1', '1.0a1'],
    ['1.0a1-1', '1.0a1.post1'],
    ['1.2.4.dev3', '1.2.4.dev3'],
    ['1.0dev', '1.0.dev0'],
    ['1.0.dev', '1.0.dev0'],
    ['1.0-dev_7', '1.0.dev7'],
    ['1.0.post2', '1.0.post2'],
    ['1.0.post', '1.0.post0'],
    ['1.0post', '1.0.post0'],
    ['1.0-post-3', '1.0.post3'],
    ['1.0rev4', '1.0.post4'],
    ['1.0r', '1.0.post0'],
    ['1.0_r5', '1.0.post5'],
    ['1.0-1', '1.0.post1'],
    ['1.0-1.dev2', '1.0.post1.dev2'],
    ['1.0rc1.post2.dev3', '1.0rc1.post2.dev3'],
    ['1.0-rc1-1.dev0+A', '1.0rc1.post1.dev0+a'],
    ['2!1.0', '2!1.0'],
    ['0!1.0', '1.0'],
    ['1!2.0rc1.post2.dev3+local.x', '1!2.0rc1.post2.dev3+local.x'],
    ['1.0+abc.5', '1.0+abc.5'],
    ['1.0+ABC-05_x', '1.0+abc.5.x'],
    ['1.0+007', '1.0+7'],
    ['01.02', '1.2'],
    ['1.0.0', '1.0.0'],
    ['0', '0'],
    ['2024.01.15', '2024.1.15'],
    ['1.0.0.0.0', '1.0.0.0.0'],
    ['v0.1', '0.1']
  ])('%j → %s', (input, expected) => {
    expect(normalizeVersion(parse(input))).toBe(expected)
  })

  test.each<[string]>([
    [''],
    ['1.2.3-beta.x'],
    ['latest'],
    ['1..2'],
    ['v'],
    ['vv1.0'],
    ['1.2.3.'],
    ['1.0-'],
    ['1.0+'],
    ['1.0+abc..5'],
    ['1.0+-abc'],
    ['1.0+é'],
    ['1.0a1a2'],
    ['1.0ab'],
    ['1.0.post1.post2'],
    ['1.0dev1.post1'],
    ['1.0-rc-1-'],
    ['!1.0'],
    ['1!'],
    // deviation: packaging strips surrounding whitespace; a git tag with spaces is not a version.
    ['1.2.3 '],
    [' 1.2.3'],
    ['1.0\n'],
    // deviation: packaging's Unicode re.IGNORECASE lets "ſ"/"ı" match "s"/"i" ("1.0prevıew0").
    ['1.0poſt1'],
    ['1.0prevıew'],
    // deviation: Python ints are unbounded; a JS number would silently round these.
    ['1.99999999999999999999'],
    ['1.0.post99999999999999999999']
  ])('%j is rejected', (input) => {
    expect(parseVersion(input)).toBeUndefined()
  })

  test('parsed fields', () => {
    expect(parseVersion('1!2.0rc1.post2.dev3+Local-X')).toEqual({
      epoch: 1,
      release: [2, 0],
      pre: ['rc', 1],
      post: 2,
      dev: 3,
      local: 'local.x'
    })
    expect(parseVersion('1.2')).toEqual({ epoch: 0, release: [1, 2] })
  })
})

// Expected signs from packaging.version: (Version(a) > Version(b)) - (Version(a) < Version(b)).
describe('compareVersions', () => {
  test.each<[string, string, number]>([
    ['1.0', '1.0.0', 0],
    ['1.0', '1.0.1', -1],
    ['1.10', '1.9', 1],
    ['1.0.dev0', '1.0a0', -1],
    ['1.0a0.dev0', '1.0a0', -1],
    ['1.0.dev5', '1.0a0.dev0', -1],
    ['1.0a1', '1.0a2', -1],
    ['1.0a2', '1.0b1', -1],
    ['1.0b9', '1.0rc0', -1],
    ['1.0c1', '1.0rc1', 0],
    ['1.0rc1', '1.0', -1],
    ['1.0', '1.0.post0', -1],
    ['1.0.post0.dev0', '1.0', 1],
    ['1.0.post0.dev0', '1.0.post0', -1],
    ['1.0.post1', '1.0.1.dev0', -1],
    ['1.0a1.post1', '1.0a2.dev0', -1],
    ['1.0a1', '1.0a1.post0', -1],
    ['1.0a1.post1.dev1', '1.0a1.post1', -1],
    ['1.0a1.dev1', '1.0a1', -1],
    ['1!0.1', '2.0', 1],
    ['0!2.0', '2.0', 0],
    ['1.0', '1.0+local', -1],
    ['1.0+abc', '1.0+1', -1],
    ['1.0+abc', '1.0+abd', -1],
    ['1.0+abc', '1.0+abc.0', -1],
    ['1.0+2', '1.0+10', -1],
    ['1.0+abc.2', '1.0+abc.10', -1],
    ['1.0+01', '1.0+1', 0],
    ['1.0+ABC', '1.0+abc', 0],
    ['1.0+a-b', '1.0+a.b', 0],
    ['1.0.post1+x', '1.0.post2', -1],
    ['1.0rc1+x', '1.0', -1],
    ['1.0.dev0+x', '1.0a0', -1],
    ['2.0.0.0', '2', 0],
    ['1.0.0.1', '1.0.1', -1],
    ['0.0', '0', 0],
    ['1.0+99999999999999999999', '1.0+99999999999999999998', 1],
    ['1.0-1', '1.0.post1', 0],
    ['1.0.dev', '1.0.dev0', 0],
    ['1.0+z', '1.0+0', -1]
  ])('%s vs %s → %i', (a, b, expected) => {
    expect(compareVersions(parse(a), parse(b))).toBe(expected)
    expect(compareVersions(parse(b), parse(a))).toBe(-expected || 0)
  })

  test('sorts like packaging.version', () => {
    // Produced by Python: sorted(versions, key=packaging.version.Version) (pip's packaging 21.3).
    const expected = [
      '0.9.99',
      '1.0.dev0',
      '1.0.dev1',
      '1.0a0.dev0',
      '1.0a1',
      '1.0a1.post1.dev0',
      '1.0a1.post1',
      '1.0a2',
      '1.0a10',
      '1.0b0',
      '1.0rc1',
      '1.0rc1+local',
      '1.0',
      '1.0.0',
      '1.0+abc',
      '1.0+abc.1',
      '1.0+1',
      '1.0.post0.dev0',
      '1.0.post1',
      '1.0.1',
      '2.0.dev0',
      '1!0.1'
    ]
    // A fixed shuffle; "1.0" stays before "1.0.0" (equal keys) because Array.sort is stable.
    const shuffled = [14, 3, 20, 0, 9, 17, 6, 12, 1, 21, 11, 4, 13, 8, 19, 2, 16, 10, 5, 15, 7, 18]
    const input = shuffled.map((i) => expected[i] as string)
    const sorted = input.sort((a, b) => compareVersions(parse(a), parse(b)))
    expect(sorted).toEqual(expected)
  })
})

describe('isFinalRelease', () => {
  test.each<[string, boolean]>([
    ['1.2.3', true],
    ['2!1.0', true],
    ['1.2.3rc1', false],
    ['1.2.3.post1', false],
    ['1.2.4.dev3', false],
    ['1.0+local.1', false]
  ])('%s → %s', (input, expected) => {
    expect(isFinalRelease(parse(input))).toBe(expected)
  })
})

describe('releaseTags', () => {
  test.each<[string, string[]]>([
    ['1.2.3', ['1.2.3', '1.2', '1']],
    ['v1.2.3', ['1.2.3', '1.2', '1']],
    ['0.4.1', ['0.4.1', '0.4']],
    ['1.2', ['1.2', '1']],
    ['0.4', ['0.4']],
    ['3', ['3']],
    ['1.2.3rc1', ['1.2.3rc1']],
    ['1.2.3-rc.1', ['1.2.3rc1']],
    ['1.2.3.post1', ['1.2.3.post1']],
    ['1.2.4.dev3', ['1.2.4.dev3']],
    ['1.0+local.1', ['1.0-local.1']],
    ['2!1.0', ['2-1.0']],
    ['1!2.0rc1+abc', ['1-2.0rc1-abc']],
    ['1.2.3.4', ['1.2.3.4', '1.2', '1']]
  ])('%s → %j', (input, expected) => {
    expect(releaseTags(parse(input))).toEqual(expected)
  })
})
