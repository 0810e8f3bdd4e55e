import { describe, expect, test } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import {
  ARCH_NAMES,
  archRef,
  computeTags,
  GitRef,
  movesForward,
  resolveTags,
  sanitizeTag,
  TagRules
} from '../src/tags.js'
import { InputError, platform } from '../src/validate.js'
import { EVENT_SHA, runnerContext } from '../__fixtures__/events.js'

const SHA = 'abcdef0123456789abcdef0123456789abcdef01'
const git = (eventName: string, ref: string, extra: Partial<GitRef> = {}): GitRef => ({
  eventName,
  ref,
  sha: SHA,
  defaultBranch: 'main',
  ...extra
})
const tagsOf = (ref: GitRef, baseSuffix?: string): string[] => computeTags(ref, baseSuffix).tags

describe('computeTags', () => {
  test.each<[string, GitRef, string[]]>([
    ['release vX.Y.Z', git('push', 'refs/tags/v1.2.3'), ['1.2.3', '1.2', '1', 'latest']],
    ['release without v', git('push', 'refs/tags/2.10.0'), ['2.10.0', '2.10', '2', 'latest']],
    ['release event', git('release', 'refs/tags/v3.0.1'), ['3.0.1', '3.0', '3', 'latest']],
    ['0.x has no major tag', git('push', 'refs/tags/v0.4.1'), ['0.4.1', '0.4', 'latest']],
    // PEP 440 spellings are normalised: "-rc.1" is rc1, "-beta.2" is b2
    ['pre-release is only itself', git('push', 'refs/tags/v1.2.3-rc.1'), ['1.2.3rc1']],
    [
      'pre-release with a local part: only itself, "+" as "-"',
      git('push', 'refs/tags/v1.2.3-beta.2+b7'),
      ['1.2.3b2-b7']
    ],
    [
      'a local version is only itself, "+" as "-"',
      git('push', 'refs/tags/v1.2.3+build.5'),
      ['1.2.3-build.5']
    ],
    ['non-version tag sanitised', git('push', 'refs/tags/Release/2024 Q1'), ['release-2024-q1']],
    [
      'a leading zero is normalised away (PEP 440)',
      git('push', 'refs/tags/v01.2.3'),
      ['1.2.3', '1.2', '1', 'latest']
    ],
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
    [
      'pull_request_review: a pull request event too',
      git('pull_request_review', 'refs/pull/8/merge', { prNumber: 8 }),
      ['pr-8']
    ],
    ['pull_request without a number', git('pull_request', 'refs/heads/x'), []],
    ['unknown ref', git('push', 'refs/remotes/origin/x'), []]
  ])('%s', (_name, ref, expected) => {
    expect(tagsOf(ref)).toEqual([...expected, 'sha-abcdef0'])
  })

  test.each([
    ['missing', ''],
    ['too short', 'abc12'],
    ['not hex', 'zzzzzzzzzz'],
    ['uppercase', 'ABCDEF0123'],
    ['too long', 'a'.repeat(41)],
    ['with a newline', 'abcdef0\n']
  ])('no sha tag when the sha is %s', (_name, sha) => {
    const tags = tagsOf(git('push', 'refs/tags/v1.2.3', { sha }))
    expect(tags).toEqual(['1.2.3', '1.2', '1', 'latest'])
    expect(tags.some((t) => t.startsWith('sha-'))).toBe(false)
  })

  test('a short sha is kept whole', () => {
    expect(tagsOf(git('push', 'refs/heads/main', { sha: '1234567' }))).toEqual([
      'edge',
      'sha-1234567'
    ])
  })

  test('a branch named like the default branch only on the default branch becomes edge', () => {
    expect(tagsOf(git('push', 'refs/heads/main', { defaultBranch: undefined }))).toEqual([
      'main',
      'sha-abcdef0'
    ])
  })

  test('a long branch name is cut to 128 characters', () => {
    const [branchTag] = tagsOf(git('push', `refs/heads/${'b'.repeat(300)}`))
    expect(branchTag).toBe('b'.repeat(128))
  })

  test('a branch that sanitises to nothing gives only the sha tag', () => {
    expect(tagsOf(git('push', 'refs/heads/...'))).toEqual(['sha-abcdef0'])
  })
})

// Every event the action runs on, as the runner presents it: GITHUB_* and the payload file,
// read by workflowContext as main.ts does, then computeTags.
describe('computeTags: every tagging rule, event by event (workflowContext → computeTags)', () => {
  interface Row {
    event: string
    ref: string
    tags: string[]
    floating?: string[]
    version?: string
    edit?: (payload: Record<string, unknown>) => void
  }
  const release = (version: string, tags: string[], floating: string[]): Partial<Row> => ({
    tags,
    floating,
    version
  })
  const ROWS: [string, Row][] = [
    // push to a branch
    ['push to the default branch', { event: 'push', ref: 'refs/heads/main', tags: ['edge'] }],
    [
      'push to another branch',
      { event: 'push', ref: 'refs/heads/Feature/New_UI', tags: ['feature-new_ui'] }
    ],
    [
      'push to a default branch named "latest": still edge',
      {
        event: 'push',
        ref: 'refs/heads/latest',
        tags: ['edge'],
        edit: (p) => {
          ;(p['repository'] as Record<string, unknown>)['default_branch'] = 'latest'
        }
      }
    ],
    // push of a tag
    [
      'push of v1.2.3',
      {
        event: 'push',
        ref: 'refs/tags/v1.2.3',
        ...release('1.2.3', ['1.2.3', '1.2', '1', 'latest'], ['1.2', '1', 'latest'])
      } as Row
    ],
    [
      'push of 1.2.3 (no v)',
      {
        event: 'push',
        ref: 'refs/tags/1.2.3',
        ...release('1.2.3', ['1.2.3', '1.2', '1', 'latest'], ['1.2', '1', 'latest'])
      } as Row
    ],
    [
      'push of v0.4.1: no major tag for 0.x',
      {
        event: 'push',
        ref: 'refs/tags/v0.4.1',
        ...release('0.4.1', ['0.4.1', '0.4', 'latest'], ['0.4', 'latest'])
      } as Row
    ],
    [
      'push of v1.2: X.Y and X',
      {
        event: 'push',
        ref: 'refs/tags/v1.2',
        ...release('1.2', ['1.2', '1', 'latest'], ['1', 'latest'])
      } as Row
    ],
    [
      'push of v1.2.3rc1: a pre-release is only itself',
      { event: 'push', ref: 'refs/tags/v1.2.3rc1', ...release('1.2.3rc1', ['1.2.3rc1'], []) } as Row
    ],
    [
      'push of V1.2.3-RC.1: normalised',
      {
        event: 'push',
        ref: 'refs/tags/V1.2.3-RC.1',
        ...release('1.2.3rc1', ['1.2.3rc1'], [])
      } as Row
    ],
    [
      'push of v1.2.3.post1: a post-release is only itself',
      {
        event: 'push',
        ref: 'refs/tags/v1.2.3.post1',
        ...release('1.2.3.post1', ['1.2.3.post1'], [])
      } as Row
    ],
    [
      'push of v1.2.4.dev3: a dev release is only itself',
      {
        event: 'push',
        ref: 'refs/tags/v1.2.4.dev3',
        ...release('1.2.4.dev3', ['1.2.4.dev3'], [])
      } as Row
    ],
    [
      'push of v2!1.0: an epoch is only itself, "!" as "-", never latest',
      { event: 'push', ref: 'refs/tags/v2!1.0', ...release('2!1.0', ['2-1.0'], []) } as Row
    ],
    [
      'push of v1.2.3+local: a local version is only itself, "+" as "-"',
      {
        event: 'push',
        ref: 'refs/tags/v1.2.3+local',
        ...release('1.2.3+local', ['1.2.3-local'], [])
      } as Row
    ],
    [
      'push of a non-version tag: sanitised, not a release',
      { event: 'push', ref: 'refs/tags/Nightly/2024 Q1', tags: ['nightly-2024-q1'] }
    ],
    // pull requests
    ['pull_request: pr-N', { event: 'pull_request', ref: 'refs/pull/7/merge', tags: ['pr-7'] }],
    [
      'pull_request_target: pr-N, not the base branch',
      { event: 'pull_request_target', ref: 'refs/heads/main', tags: ['pr-7'] }
    ],
    [
      'pull_request number 1234 from the payload',
      {
        event: 'pull_request',
        ref: 'refs/pull/1234/merge',
        tags: ['pr-1234'],
        edit: (p) => {
          p['number'] = 1234
          ;(p['pull_request'] as Record<string, unknown>)['number'] = 1234
        }
      }
    ],
    // other events
    [
      'workflow_dispatch on the default branch',
      { event: 'workflow_dispatch', ref: 'refs/heads/main', tags: ['edge'] }
    ],
    [
      'workflow_dispatch on another branch',
      { event: 'workflow_dispatch', ref: 'refs/heads/dev', tags: ['dev'] }
    ],
    [
      'workflow_dispatch on a tag',
      {
        event: 'workflow_dispatch',
        ref: 'refs/tags/v1.2.3',
        ...release('1.2.3', ['1.2.3', '1.2', '1', 'latest'], ['1.2', '1', 'latest'])
      } as Row
    ],
    [
      'schedule (the default branch)',
      { event: 'schedule', ref: 'refs/heads/main', tags: ['edge'] }
    ],
    [
      'release published for v1.2.3',
      {
        event: 'release',
        ref: 'refs/tags/v1.2.3',
        ...release('1.2.3', ['1.2.3', '1.2', '1', 'latest'], ['1.2', '1', 'latest'])
      } as Row
    ],
    [
      'release published for a pre-release v2.0.0b1',
      { event: 'release', ref: 'refs/tags/v2.0.0b1', ...release('2.0.0b1', ['2.0.0b1'], []) } as Row
    ],
    [
      'merge_group: the queue branch, sanitised',
      {
        event: 'merge_group',
        ref: `refs/heads/gh-readonly-queue/main/pr-7-${'1'.repeat(40)}`,
        tags: [`gh-readonly-queue-main-pr-7-${'1'.repeat(40)}`]
      }
    ]
  ]

  test.each(ROWS)('%s', (_name, row) => {
    const ctx = runnerContext(row.event, row.ref, row.edit)
    expect([ctx.eventName, ctx.ref, ctx.sha]).toEqual([row.event, row.ref, EVENT_SHA])
    expect(computeTags(ctx)).toEqual({
      tags: [...row.tags, 'sha-abcdef0'],
      floating: row.floating ?? [],
      version: row.version
    })
  })

  test('the table covers the events the action is run on', () => {
    expect([...new Set(ROWS.map(([, r]) => r.event))].sort()).toEqual([
      'merge_group',
      'pull_request',
      'pull_request_target',
      'push',
      'release',
      'schedule',
      'workflow_dispatch'
    ])
  })

  // A branch whose tag would read as another kind of tag gets "branch-": it must never stand
  // for a release, a pull request, a commit, the default branch or a base image.
  test.each<[string, string]>([
    ['latest', 'branch-latest'],
    ['Latest', 'branch-latest'],
    ['edge', 'branch-edge'],
    ['1.2', 'branch-1.2'],
    ['v2', 'branch-v2'],
    ['1.2.3rc1', 'branch-1.2.3rc1'],
    ['pr-3', 'branch-pr-3'],
    ['sha-abcdef0', 'branch-sha-abcdef0'],
    ['x-base', 'branch-x-base'],
    ['branch-y', 'branch-branch-y'],
    ['release/1.2', 'release-1.2'],
    ['latest-fix', 'latest-fix'],
    ['edge-case', 'edge-case'],
    ['pr-3a', 'pr-3a'],
    ['sha-xyz', 'sha-xyz'],
    ['base', 'base'],
    ['x_base', 'x_base']
  ])('push to branch %j → %j', (branch, tag) => {
    const ctx = runnerContext('push', `refs/heads/${branch}`)
    expect(computeTags(ctx)).toEqual({
      tags: [tag, 'sha-abcdef0'],
      floating: [],
      version: undefined
    })
  })

  test('"ends with the base suffix" follows base-suffix', () => {
    const ctx = runnerContext('push', 'refs/heads/x_wheels')
    expect(computeTags(ctx, '_wheels').tags).toEqual(['branch-x_wheels', 'sha-abcdef0'])
    expect(computeTags(ctx, '-base').tags).toEqual(['x_wheels', 'sha-abcdef0'])
    expect(computeTags(runnerContext('push', 'refs/heads/x-base'), '_wheels').tags).toEqual([
      'x-base',
      'sha-abcdef0'
    ])
  })
})

describe("computeTags: on a release tag, dist/ must hold the tag's version", () => {
  // PEP 440 equality, as packaging.version.Version(a) == Version(b)
  test.each<[string, string]>([
    ['v1.2.3', '1.2.3'],
    ['v1.2.3', '1.2.3.0'],
    ['1.2.3.0', '1.2.3'],
    ['v1.2.3', 'v1.2.3'],
    ['v1.2.3rc1', '1.2.3rc1'],
    ['v1.2.3-rc.1', '1.2.3rc1'],
    ['v1.2.3rc1', '1.2.3c1'],
    ['v1.2.3.post1', '1.2.3-1'],
    ['v1.2.4.dev3', '1.2.4.dev3'],
    ['v2!1.0', '2!1.0.0'],
    ['v1.2.3+local', '1.2.3+LOCAL']
  ])('tag %s, dist %s: the same version', (tag, dist) => {
    expect(() => computeTags(git('push', `refs/tags/${tag}`), '-base', dist)).not.toThrow()
  })

  test.each<[string, string, string]>([
    ['v1.2.3', '1.2.4.dev3', '1.2.3'],
    ['v1.2.4.dev3', '1.2.3', '1.2.4.dev3'],
    ['v1.2.3', '1.2.3+local', '1.2.3'],
    ['v1.2.3', '1.2.3.post1', '1.2.3'],
    ['v1.2.3rc1', '1.2.3', '1.2.3rc1'],
    ['v1.2.3', '1!1.2.3', '1.2.3'],
    ['V1.2.3-RC.1', '1.2.3rc2', '1.2.3rc1'],
    ['v1.2.3', 'not-a-version', '1.2.3']
  ])('tag %s, dist %s: refused, naming both', (tag, dist, tagVersion) => {
    const run = (): unknown => computeTags(git('push', `refs/tags/${tag}`), '-base', dist)
    expect(run).toThrow(Error)
    expect(run).toThrow(
      `The git tag ${tag} is version ${tagVersion}, but dist/ holds version ${dist}`
    )
  })

  test.each<[string, string]>([
    ['a branch', 'refs/heads/main'],
    ['a non-version tag', 'refs/tags/nightly'],
    ['a pull request', 'refs/pull/7/merge']
  ])('%s: any dist version', (_name, ref) => {
    const ctx = git(ref.startsWith('refs/pull/') ? 'pull_request' : 'push', ref)
    expect(() => computeTags(ctx, '-base', '9.9.9')).not.toThrow()
  })

  test('no dist version given: no check', () => {
    expect(computeTags(git('push', 'refs/tags/v1.2.3')).version).toBe('1.2.3')
  })
})

describe('movesForward: a floating tag moves only to a higher version', () => {
  test.each<[string | undefined, string | undefined, boolean]>([
    [undefined, '1.2.3', true],
    ['1.2.3', '1.2.4', true],
    ['1.2.4', '1.2.3', false],
    ['2.0.0', '1.4.9', false],
    ['1.2.3', '1.2.3', false],
    ['1.2.3', '1.2.3.0', false],
    ['1.2.3rc1', '1.2.3', true],
    ['1.2.3', '1.2.3rc1', false],
    ['1.2.3', '1.2.3.post1', true],
    ['1.2.4.dev3', '1.2.3', false],
    ['1.2.3', '1.2.4.dev3', true],
    ['1.2.3', '1.2.3+local', true],
    ['1!0.1', '2.0', false],
    ['v1.2.3', '1.2.10', true],
    ['1.10', '1.9', false],
    // a label that is no version does not hold a tag back
    ['garbage', '1.0', true],
    // nothing to move to
    ['1.0', undefined, false],
    ['1.0', 'garbage', false],
    [undefined, undefined, false]
  ])('%j → %j: %s', (current, next, forward) => {
    expect(movesForward(current, next)).toBe(forward)
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

const rules = (baseSuffix = '-base', prefix = '', suffix = ''): TagRules => ({
  prefix,
  suffix,
  baseSuffix
})

describe('resolveTags', () => {
  test('bare tags apply to every image', () => {
    expect(
      resolveTags(['ghcr.io/org/app', 'docker.io/org/app'], ['1.2.3', 'latest'], rules())
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
    expect(resolveTags(['ghcr.io/other/thing'], refs, rules())).toEqual({
      slim: refs,
      base: refs.map((r) => `${r}-base`)
    })
    expect(resolveTags([], refs, rules('_wheels')).base).toEqual(refs.map((r) => `${r}_wheels`))
  })

  test('bare tags and full references mix; duplicates are dropped', () => {
    expect(
      resolveTags(['ghcr.io/org/app'], ['1.0', 'ghcr.io/org/app:1.0', 'ghcr.io/x/y:2'], rules('-b'))
    ).toEqual({
      slim: ['ghcr.io/org/app:1.0', 'ghcr.io/x/y:2'],
      base: ['ghcr.io/org/app:1.0-b', 'ghcr.io/x/y:2-b']
    })
  })

  test('every slim reference has exactly one base reference: itself + suffix', () => {
    const { slim, base } = resolveTags(['a.io/x/y', 'b.io/z'], ['1', '2', 'c.io/w:3'], rules())
    expect(base).toEqual(slim.map((r) => `${r}-base`))
  })

  test('no tags: nothing', () => {
    expect(resolveTags(['ghcr.io/org/app'], [], rules())).toEqual({ slim: [], base: [] })
  })

  test('a bare tag without an image names "image"', () => {
    expect(() => resolveTags([], ['1.2.3'], rules())).toThrow(InputError)
    expect(() => resolveTags([], ['1.2.3'], rules())).toThrow(/^Input "image": "" is not valid/)
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
    expect(() => resolveTags(['ghcr.io/org/app'], [ref], rules())).toThrow(
      `Input "tags": ${JSON.stringify(ref)} is not valid`
    )
  })

  test.each(['-x', '.x', 'a b', '$(id)', 'x'.repeat(129), 'ü'])(
    'a bad bare tag %j names "tags"',
    (t) => {
      expect(() => resolveTags(['ghcr.io/org/app'], [t], rules())).toThrow(
        `Input "tags": ${JSON.stringify(t)} is not valid`
      )
    }
  )

  test('a suffix making a tag longer than 128 names "base-suffix"', () => {
    const t = 'v'.repeat(124)
    expect(resolveTags(['ghcr.io/org/app'], [t], rules('-abc')).base).toEqual([
      `ghcr.io/org/app:${t}-abc`
    ])
    expect(() => resolveTags(['ghcr.io/org/app'], [t], rules())).toThrow(InputError)
    expect(() => resolveTags(['ghcr.io/org/app'], [t], rules())).toThrow(/^Input "base-suffix": /)
    expect(() => resolveTags([], [`ghcr.io/org/app:${t}`], rules())).toThrow(
      /^Input "base-suffix": /
    )
  })
})

describe('resolveTags: tag-prefix and tag-suffix', () => {
  test.each<[string, string[], string[], TagRules, string[], string[]]>([
    [
      'bare tags: <prefix><tag><suffix>, then base-suffix',
      ['ghcr.io/o/a'],
      ['1.2.3', 'latest'],
      rules('-base', 'rpi-', '-slim'),
      ['ghcr.io/o/a:rpi-1.2.3-slim', 'ghcr.io/o/a:rpi-latest-slim'],
      ['ghcr.io/o/a:rpi-1.2.3-slim-base', 'ghcr.io/o/a:rpi-latest-slim-base']
    ],
    [
      'a prefix alone',
      ['ghcr.io/o/a', 'docker.io/o/a'],
      ['edge'],
      rules('-base', 'py3.12-'),
      ['ghcr.io/o/a:py3.12-edge', 'docker.io/o/a:py3.12-edge'],
      ['ghcr.io/o/a:py3.12-edge-base', 'docker.io/o/a:py3.12-edge-base']
    ],
    [
      'a suffix alone, with another base-suffix',
      ['ghcr.io/o/a'],
      ['sha-abcdef0'],
      rules('_wheels', '', '-alpine'),
      ['ghcr.io/o/a:sha-abcdef0-alpine'],
      ['ghcr.io/o/a:sha-abcdef0-alpine_wheels']
    ],
    [
      'full references (docker/metadata-action style) are used as they are: no prefix, no suffix',
      [],
      ['ghcr.io/o/a:1.2.3', 'docker.io/o/a:1.2.3'],
      rules('-base', 'rpi-', '-slim'),
      ['ghcr.io/o/a:1.2.3', 'docker.io/o/a:1.2.3'],
      ['ghcr.io/o/a:1.2.3-base', 'docker.io/o/a:1.2.3-base']
    ],
    [
      'full references and bare tags mixed: only the bare ones get prefix and suffix',
      ['ghcr.io/o/a'],
      ['ghcr.io/o/a:1.2.3', '1.2'],
      rules('-base', 'rpi-', '-slim'),
      ['ghcr.io/o/a:1.2.3', 'ghcr.io/o/a:rpi-1.2-slim'],
      ['ghcr.io/o/a:1.2.3-base', 'ghcr.io/o/a:rpi-1.2-slim-base']
    ]
  ])('%s', (_name, images, tags, r, slim, base) => {
    expect(resolveTags(images, tags, r)).toEqual({ slim, base })
  })

  test('a prefix that makes an illegal tag names "tag-prefix" and the tag it would make', () => {
    expect(() => resolveTags(['ghcr.io/o/a'], ['1.2.3'], rules('-base', '.rpi-'))).toThrow(
      'Input "tag-prefix": ".rpi-1.2.3" is not valid; expected a tag of letters'
    )
  })

  test('a prefix that makes a tag longer than 128 names "tag-prefix"', () => {
    const prefix = 'p'.repeat(60)
    expect(() => resolveTags(['ghcr.io/o/a'], ['v'.repeat(70)], rules('-base', prefix))).toThrow(
      /^Input "tag-prefix": /
    )
  })

  // Only tag-suffix is set: the error must name it, not tag-prefix.
  test('a suffix that makes a tag longer than 128 names "tag-suffix"', () => {
    const run = (): unknown =>
      resolveTags(['ghcr.io/o/a'], ['v'.repeat(124)], rules('-base', '', '-slim'))
    expect(run).toThrow(InputError)
    expect(run).toThrow(/^Input "tag-suffix": /)
  })

  // Both set and together too long: the suffix, the last part added, is named.
  test('a prefix and a suffix that make a tag longer than 128 name "tag-suffix"', () => {
    const run = (): unknown =>
      resolveTags(['ghcr.io/o/a'], ['v'.repeat(105)], rules('-base', 'p'.repeat(20), '-slim'))
    expect(run).toThrow(InputError)
    expect(run).toThrow(
      `Input "tag-suffix": "${'p'.repeat(20)}${'v'.repeat(105)}-slim" is not valid`
    )
  })

  test('prefix, tag, suffix and base-suffix of exactly 128 characters: accepted', () => {
    const t = 'v'.repeat(128 - 'rpi-'.length - '-slim'.length - '-base'.length)
    expect(resolveTags(['ghcr.io/o/a'], [t], rules('-base', 'rpi-', '-slim'))).toEqual({
      slim: [`ghcr.io/o/a:rpi-${t}-slim`],
      base: [`ghcr.io/o/a:rpi-${t}-slim-base`]
    })
  })

  test('a bare tag too long by itself names "tags", whatever prefix and suffix', () => {
    expect(() =>
      resolveTags(['ghcr.io/o/a'], ['v'.repeat(129)], rules('-base', 'rpi-', '-slim'))
    ).toThrow(/^Input "tags": /)
  })

  // Only the prefix can make a tag start with "." or "-" (the tag and the suffix are checked on
  // their own): the error names tag-prefix even with a suffix set.
  test('a prefix that makes an illegal tag names "tag-prefix" even when a suffix is set', () => {
    expect(() => resolveTags(['ghcr.io/o/a'], ['1.2.3'], rules('-base', '.rpi-', '-slim'))).toThrow(
      /^Input "tag-prefix": "\.rpi-1\.2\.3-slim" is not valid/
    )
  })
})

describe('archRef: per-architecture references', () => {
  // Docker's own names, as the official images' per-architecture repositories spell them.
  const PLATFORMS: [string, string][] = [
    ['linux/amd64', 'amd64'],
    ['linux/arm64', 'arm64v8'],
    ['linux/arm/v7', 'arm32v7'],
    ['linux/arm/v6', 'arm32v6'],
    ['linux/386', 'i386'],
    ['linux/ppc64le', 'ppc64le'],
    ['linux/s390x', 's390x'],
    ['linux/riscv64', 'riscv64']
  ]

  test.each(PLATFORMS)('%s: {tag}-{arch} → <tag>-%s', (p, arch) => {
    expect(archRef('ghcr.io/o/a:1.2.3', p, '{tag}-{arch}')).toBe(`ghcr.io/o/a:1.2.3-${arch}`)
    expect(archRef('ghcr.io/o/a:sha-abcdef0-base', p, '{tag}-{arch}')).toBe(
      `ghcr.io/o/a:sha-abcdef0-base-${arch}`
    )
    // a registry with a port: the tag is after the last ":"
    expect(archRef('localhost:5000/o/a:edge', p, '{tag}-{arch}')).toBe(
      `localhost:5000/o/a:edge-${arch}`
    )
  })

  test.each(PLATFORMS)('%s: rpi-{tag} → rpi-<tag> (no arch)', (p) => {
    expect(archRef('ghcr.io/o/a:1.2.3', p, 'rpi-{tag}')).toBe('ghcr.io/o/a:rpi-1.2.3')
    expect(archRef('ghcr.io/o/a:latest-base', p, 'rpi-{tag}')).toBe('ghcr.io/o/a:rpi-latest-base')
  })

  test.each(PLATFORMS)('%s: {arch}-{tag} → %s-<tag>', (p, arch) => {
    expect(archRef('ghcr.io/o/a:1.2.3', p, '{arch}-{tag}')).toBe(`ghcr.io/o/a:${arch}-1.2.3`)
  })

  test('every platform the inputs accept has a name, and action.yml lists them all', () => {
    for (const [p] of PLATFORMS) expect(platform('platforms', p)).toBe(p)
    expect(Object.entries(ARCH_NAMES).sort()).toEqual([...PLATFORMS].sort())
    const action = parseYaml(readFileSync(new URL('../action.yml', import.meta.url), 'utf8')) as {
      inputs: Record<string, { description: string }>
    }
    const described = action.inputs['arch-tag-format']?.description ?? ''
    for (const [, arch] of PLATFORMS) expect(described).toContain(arch)
  })

  test('a tag that grows past 128 names "arch-tag-format"', () => {
    expect(() => archRef(`ghcr.io/o/a:${'v'.repeat(124)}`, 'linux/arm/v7', '{tag}-{arch}')).toThrow(
      /^Input "arch-tag-format": /
    )
  })
})
