import { describe, expect, test } from '@jest/globals'
import { computeTags, GitRef, resolveTags, sanitizeTag } from '../src/tags.js'
import { InputError } from '../src/validate.js'

const SHA = 'abcdef0123456789abcdef0123456789abcdef01'
const git = (eventName: string, ref: string, extra: Partial<GitRef> = {}): GitRef => ({
  eventName,
  ref,
  sha: SHA,
  defaultBranch: 'main',
  ...extra
})

describe('computeTags', () => {
  test.each<[string, GitRef, string[]]>([
    ['release vX.Y.Z', git('push', 'refs/tags/v1.2.3'), ['1.2.3', '1.2', '1', 'latest']],
    ['release without v', git('push', 'refs/tags/2.10.0'), ['2.10.0', '2.10', '2', 'latest']],
    ['release event', git('release', 'refs/tags/v3.0.1'), ['3.0.1', '3.0', '3', 'latest']],
    ['0.x has no major tag', git('push', 'refs/tags/v0.4.1'), ['0.4.1', '0.4', 'latest']],
    ['pre-release is only itself', git('push', 'refs/tags/v1.2.3-rc.1'), ['1.2.3-rc.1']],
    [
      'pre-release with build metadata',
      git('push', 'refs/tags/v1.2.3-beta.2+b7'),
      ['1.2.3-beta.2']
    ],
    [
      'build metadata dropped',
      git('push', 'refs/tags/v1.2.3+build.5'),
      ['1.2.3', '1.2', '1', 'latest']
    ],
    ['non-semver tag sanitised', git('push', 'refs/tags/Release/2024 Q1'), ['release-2024-q1']],
    ['leading zero is not semver', git('push', 'refs/tags/v01.2.3'), ['v01.2.3']],
    ['default branch', git('push', 'refs/heads/main'), ['edge']],
    ['other branch', git('push', 'refs/heads/Feature/New_UI'), ['feature-new_ui']],
    ['branch with odd characters', git('push', 'refs/heads/fix#12@home'), ['fix-12-home']],
    ['workflow_dispatch on a branch', git('workflow_dispatch', 'refs/heads/dev'), ['dev']],
    [
      'pull_request with number',
      git('pull_request', 'refs/pull/7/merge', { prNumber: 7 }),
      ['pr-7']
    ],
    ['pull_request number from ref', git('pull_request', 'refs/pull/42/merge'), ['pr-42']],
    [
      'pull_request_target',
      git('pull_request_target', 'refs/heads/main', { prNumber: 9 }),
      ['pr-9']
    ],
    ['pull_request_target from ref', git('pull_request_target', 'refs/pull/5/head'), ['pr-5']],
    ['pull_request without a number', git('pull_request', 'refs/heads/x'), []],
    ['unknown ref', git('push', 'refs/remotes/origin/x'), []]
  ])('%s', (_name, ref, expected) => {
    expect(computeTags(ref)).toEqual([...expected, 'sha-abcdef0'])
  })

  test.each([
    ['missing', ''],
    ['too short', 'abc12'],
    ['not hex', 'zzzzzzzzzz'],
    ['uppercase', 'ABCDEF0123'],
    ['too long', 'a'.repeat(41)],
    ['with a newline', 'abcdef0\n']
  ])('no sha tag when the sha is %s', (_name, sha) => {
    const tags = computeTags(git('push', 'refs/tags/v1.2.3', { sha }))
    expect(tags).toEqual(['1.2.3', '1.2', '1', 'latest'])
    expect(tags.some((t) => t.startsWith('sha-'))).toBe(false)
  })

  test('a short sha is kept whole', () => {
    expect(computeTags(git('push', 'refs/heads/main', { sha: '1234567' }))).toEqual([
      'edge',
      'sha-1234567'
    ])
  })

  test('a branch named like the default branch only on the default branch becomes edge', () => {
    expect(computeTags(git('push', 'refs/heads/main', { defaultBranch: undefined }))).toEqual([
      'main',
      'sha-abcdef0'
    ])
  })

  test('a long branch name is cut to 128 characters', () => {
    const [branchTag] = computeTags(git('push', `refs/heads/${'b'.repeat(300)}`))
    expect(branchTag).toBe('b'.repeat(128))
  })

  test('a branch that sanitises to nothing gives only the sha tag', () => {
    expect(computeTags(git('push', 'refs/heads/...'))).toEqual(['sha-abcdef0'])
  })
})

describe('sanitizeTag', () => {
  test.each([
    ['Feature/Foo', 'feature-foo'],
    ['a/b/c', 'a-b-c'],
    ['UPPER', 'upper'],
    ['with space', 'with-space'],
    ['ünïcödé', 'n-c-d-'],
    ['.hidden', 'hidden'],
    ['-dash', 'dash'],
    ['..-.x', 'x'],
    ['_under', '_under'],
    ['keep.dots-and_underscores', 'keep.dots-and_underscores'],
    ['$(id);rm -rf /', 'id--rm--rf--'],
    ['a\nRUN evil', 'a-run-evil'],
    ['', ''],
    ['...', ''],
    ['x'.repeat(200), 'x'.repeat(128)]
  ])('%j → %j', (name, expected) => {
    expect(sanitizeTag(name)).toBe(expected)
  })

  test.each(['Feature/Foo', 'ünïcödé-branch', 'a'.repeat(500), '$(id)', 'x\u0000y', 'İstanbul'])(
    '%j sanitises to a legal tag',
    (name) => {
      const t = sanitizeTag(name)
      expect(t).toMatch(/^[a-z0-9_][a-z0-9_.-]{0,127}$/)
    }
  )
})

describe('resolveTags', () => {
  test('bare tags apply to every image', () => {
    expect(
      resolveTags(['ghcr.io/org/app', 'docker.io/org/app'], ['1.2.3', 'latest'], '-base')
    ).toEqual({
      slim: [
        'ghcr.io/org/app:1.2.3',
        'docker.io/org/app:1.2.3',
        'ghcr.io/org/app:latest',
        'docker.io/org/app:latest'
      ],
      base: [
        'ghcr.io/org/app:1.2.3-base',
        'docker.io/org/app:1.2.3-base',
        'ghcr.io/org/app:latest-base',
        'docker.io/org/app:latest-base'
      ]
    })
  })

  test('full references are kept as they are, whatever the images', () => {
    const refs = ['ghcr.io/org/app:1.2.3', 'localhost:5000/team/app:edge', 'app:1']
    expect(resolveTags(['ghcr.io/other/thing'], refs, '-base')).toEqual({
      slim: refs,
      base: refs.map((r) => `${r}-base`)
    })
    expect(resolveTags([], refs, '_wheels').base).toEqual(refs.map((r) => `${r}_wheels`))
  })

  test('bare tags and full references mix; duplicates are dropped', () => {
    expect(
      resolveTags(['ghcr.io/org/app'], ['1.0', 'ghcr.io/org/app:1.0', 'ghcr.io/x/y:2'], '-b')
    ).toEqual({
      slim: ['ghcr.io/org/app:1.0', 'ghcr.io/x/y:2'],
      base: ['ghcr.io/org/app:1.0-b', 'ghcr.io/x/y:2-b']
    })
  })

  test('every slim reference has exactly one base reference: itself + suffix', () => {
    const { slim, base } = resolveTags(['a.io/x/y', 'b.io/z'], ['1', '2', 'c.io/w:3'], '-base')
    expect(base).toEqual(slim.map((r) => `${r}-base`))
  })

  test('no tags: nothing', () => {
    expect(resolveTags(['ghcr.io/org/app'], [], '-base')).toEqual({ slim: [], base: [] })
  })

  test('a bare tag without an image names "image"', () => {
    expect(() => resolveTags([], ['1.2.3'], '-base')).toThrow(InputError)
    expect(() => resolveTags([], ['1.2.3'], '-base')).toThrow(/^Input "image": "" is not valid/)
  })

  test.each([
    'ghcr.io/org/app',
    'ghcr.io/org/App:1',
    'ghcr.io/org/app:1@sha256:' + 'a'.repeat(64),
    'ghcr.io/org/app:-x',
    'ghcr.io/org/app:a b',
    'localhost:5000/app',
    'a//b:1',
    'x:y:z'
  ])('a bad full reference %j names "tags"', (ref) => {
    expect(() => resolveTags(['ghcr.io/org/app'], [ref], '-base')).toThrow(
      `Input "tags": ${JSON.stringify(ref)} is not valid`
    )
  })

  test.each(['-x', '.x', 'a b', '$(id)', 'x'.repeat(129), 'ü'])(
    'a bad bare tag %j names "tags"',
    (t) => {
      expect(() => resolveTags(['ghcr.io/org/app'], [t], '-base')).toThrow(
        `Input "tags": ${JSON.stringify(t)} is not valid`
      )
    }
  )

  test('a suffix making a tag longer than 128 names "base-suffix"', () => {
    const t = 'v'.repeat(124)
    expect(resolveTags(['ghcr.io/org/app'], [t], '-abc').base).toEqual([`ghcr.io/org/app:${t}-abc`])
    expect(() => resolveTags(['ghcr.io/org/app'], [t], '-base')).toThrow(InputError)
    expect(() => resolveTags(['ghcr.io/org/app'], [t], '-base')).toThrow(/^Input "base-suffix": /)
    expect(() => resolveTags([], [`ghcr.io/org/app:${t}`], '-base')).toThrow(
      /^Input "base-suffix": /
    )
  })
})
