/**
 * makeMergePlan: what the merge job (merge: true) reads and writes, from the same inputs and
 * event as the matrix jobs (arch-tags: true) that pushed one platform each. Pure: no registry.
 */
import { describe, expect, test } from '@jest/globals'
import { makeMergePlan, MergePlan } from '../src/merge.js'
import { BuildPlan } from '../src/plan.js'
import { archRef } from '../src/tags.js'
import { InputError } from '../src/validate.js'
import { WorkflowContext } from '../src/workflow.js'
import { runnerContext } from '../__fixtures__/events.js'
import { parse, plan, pushContext, RawInputs } from '../__fixtures__/inputs.js'

const TWO = 'linux/amd64,linux/arm/v7'
const merge = (values: RawInputs, ctx: WorkflowContext = pushContext()): MergePlan =>
  makeMergePlan(parse({ merge: 'true', platforms: TWO, ...values }), ctx)

describe('makeMergePlan: a release of two images on two platforms', () => {
  const ctx = runnerContext('push', 'refs/tags/v1.2.3')
  const p = merge({ image: 'ghcr.io/o/a\ndocker.io/o/a' }, ctx)
  const group = (repo: string, suffix: string): MergePlan['slim'][number] => ({
    refs: ['sha-abcdef0', '1.2.3', '1.2', '1', 'latest'].map((t) => `${repo}:${t}${suffix}`),
    sources: {
      'linux/amd64': `${repo}:sha-abcdef0${suffix}-amd64`,
      'linux/arm/v7': `${repo}:sha-abcdef0${suffix}-arm32v7`
    }
  })

  test('a group per repository for the slim image: the sha tag first, then every tag', () => {
    expect(p.slim).toEqual([group('ghcr.io/o/a', ''), group('docker.io/o/a', '')])
  })

  test('a group per repository for the base image, with base-suffix', () => {
    expect(p.base).toEqual([group('ghcr.io/o/a', '-base'), group('docker.io/o/a', '-base')])
  })

  test('the sources: per platform, the per-architecture sha tag of this commit', () => {
    for (const g of [...p.slim, ...p.base]) {
      expect(Object.keys(g.sources)).toEqual(['linux/amd64', 'linux/arm/v7'])
      for (const ref of Object.values(g.sources)) expect(ref).toMatch(/:sha-abcdef0(-base)?-/)
    }
  })

  test('floating: X.Y, X and latest of every repository, slim then base', () => {
    expect(p.floating).toEqual([
      'ghcr.io/o/a:1.2',
      'docker.io/o/a:1.2',
      'ghcr.io/o/a:1',
      'docker.io/o/a:1',
      'ghcr.io/o/a:latest',
      'docker.io/o/a:latest',
      'ghcr.io/o/a:1.2-base',
      'docker.io/o/a:1.2-base',
      'ghcr.io/o/a:1-base',
      'docker.io/o/a:1-base',
      'ghcr.io/o/a:latest-base',
      'docker.io/o/a:latest-base'
    ])
  })

  test('the platforms to join', () => {
    expect(p.platforms).toEqual(['linux/amd64', 'linux/arm/v7'])
  })
})

describe('makeMergePlan: events and inputs', () => {
  test.each<[string, RawInputs, WorkflowContext, string[], string[]]>([
    [
      'a push to the default branch: sha and edge, nothing floats',
      { image: 'ghcr.io/o/a' },
      runnerContext('push', 'refs/heads/main'),
      ['ghcr.io/o/a:sha-abcdef0', 'ghcr.io/o/a:edge'],
      []
    ],
    [
      'a pre-release: only itself',
      { image: 'ghcr.io/o/a' },
      runnerContext('push', 'refs/tags/v2.0.0rc1'),
      ['ghcr.io/o/a:sha-abcdef0', 'ghcr.io/o/a:2.0.0rc1'],
      []
    ],
    [
      'tags given: those, none floats',
      { image: 'ghcr.io/o/a', tags: 'stable\nlatest' },
      runnerContext('push', 'refs/tags/v1.2.3'),
      ['ghcr.io/o/a:sha-abcdef0', 'ghcr.io/o/a:stable', 'ghcr.io/o/a:latest'],
      []
    ],
    [
      'tag-prefix and tag-suffix on every tag, the sha tag too',
      { image: 'ghcr.io/o/a', 'tag-prefix': 'rpi-', 'tag-suffix': '-slim' },
      runnerContext('push', 'refs/tags/v0.4.1'),
      [
        'ghcr.io/o/a:rpi-sha-abcdef0-slim',
        'ghcr.io/o/a:rpi-0.4.1-slim',
        'ghcr.io/o/a:rpi-0.4-slim',
        'ghcr.io/o/a:rpi-latest-slim'
      ],
      [
        'ghcr.io/o/a:rpi-0.4-slim',
        'ghcr.io/o/a:rpi-latest-slim',
        'ghcr.io/o/a:rpi-0.4-slim-base',
        'ghcr.io/o/a:rpi-latest-slim-base'
      ]
    ]
  ])('%s', (_name, values, ctx, refs, floating) => {
    const p = merge(values, ctx)
    expect(p.slim.map((g) => g.refs)).toEqual([refs])
    expect(p.base.map((g) => g.refs)).toEqual([refs.map((r) => `${r}-base`)])
    expect(p.floating).toEqual(floating)
  })

  test('one platform merged under rpi-{tag}', () => {
    const p = merge({
      image: 'ghcr.io/o/a',
      platforms: 'linux/arm/v7',
      'arch-tag-format': 'rpi-{tag}'
    })
    expect(p.slim).toEqual([
      {
        refs: ['ghcr.io/o/a:sha-0123456', 'ghcr.io/o/a:edge'],
        sources: { 'linux/arm/v7': 'ghcr.io/o/a:rpi-sha-0123456' }
      }
    ])
    expect(p.base[0]?.sources).toEqual({ 'linux/arm/v7': 'ghcr.io/o/a:rpi-sha-0123456-base' })
  })

  test.each<[string, string]>([
    ['no sha', ''],
    ['a sha that is no hex', 'not-a-commit'],
    ['a sha too short', 'abc12']
  ])('%s: refused, naming merge and why', (_name, sha) => {
    const run = (): unknown => merge({ image: 'ghcr.io/o/a' }, pushContext({ sha }))
    expect(run).toThrow(InputError)
    expect(run).toThrow(
      'Input "merge": "true" is not valid; expected a run with a commit sha: the matrix jobs tag their images sha-<7>.'
    )
  })
})

// docker/metadata-action hands over full references: no image input, the repositories are
// those the tags name (as a build job's plan takes them), every one of them merged.
describe('makeMergePlan: full references and no image', () => {
  const ctx = runnerContext('push', 'refs/tags/v1.2.3')
  const sources = (repo: string, suffix: string): Record<string, string> => ({
    'linux/amd64': `${repo}:sha-abcdef0${suffix}-amd64`,
    'linux/arm/v7': `${repo}:sha-abcdef0${suffix}-arm32v7`
  })

  test('one repository: the sha tag of that repository, then the references as given', () => {
    const p = merge({ tags: 'ghcr.io/o/a:1.2.3\nghcr.io/o/a:latest' }, ctx)
    expect(p.slim).toEqual([
      {
        refs: ['ghcr.io/o/a:sha-abcdef0', 'ghcr.io/o/a:1.2.3', 'ghcr.io/o/a:latest'],
        sources: sources('ghcr.io/o/a', '')
      }
    ])
    expect(p.base).toEqual([
      {
        refs: ['ghcr.io/o/a:sha-abcdef0-base', 'ghcr.io/o/a:1.2.3-base', 'ghcr.io/o/a:latest-base'],
        sources: sources('ghcr.io/o/a', '-base')
      }
    ])
    // tags given: none floats
    expect(p.floating).toEqual([])
  })

  test('two registries: a group per repository, each with its own references only', () => {
    const p = merge({ tags: 'ghcr.io/o/a:1.2.3\ndocker.io/o/a:1.2.3\nghcr.io/o/a:latest' }, ctx)
    expect(p.slim).toEqual([
      {
        refs: ['ghcr.io/o/a:sha-abcdef0', 'ghcr.io/o/a:1.2.3', 'ghcr.io/o/a:latest'],
        sources: sources('ghcr.io/o/a', '')
      },
      {
        refs: ['docker.io/o/a:sha-abcdef0', 'docker.io/o/a:1.2.3'],
        sources: sources('docker.io/o/a', '')
      }
    ])
    expect(p.base.map((g) => g.refs)).toEqual([
      ['ghcr.io/o/a:sha-abcdef0-base', 'ghcr.io/o/a:1.2.3-base', 'ghcr.io/o/a:latest-base'],
      ['docker.io/o/a:sha-abcdef0-base', 'docker.io/o/a:1.2.3-base']
    ])
  })

  test('tag-prefix and tag-suffix: on the sha tag, not on the full references', () => {
    const p = merge({ tags: 'ghcr.io/o/a:1.2.3', 'tag-prefix': 'rpi-', 'tag-suffix': '-slim' }, ctx)
    expect(p.slim).toEqual([
      {
        refs: ['ghcr.io/o/a:rpi-sha-abcdef0-slim', 'ghcr.io/o/a:1.2.3'],
        sources: {
          'linux/amd64': 'ghcr.io/o/a:rpi-sha-abcdef0-slim-amd64',
          'linux/arm/v7': 'ghcr.io/o/a:rpi-sha-abcdef0-slim-arm32v7'
        }
      }
    ])
  })

  test('an image with full references to another repository: both repositories merged', () => {
    const p = merge({ image: 'ghcr.io/o/a', tags: 'docker.io/o/b:1.2.3\n1.2' }, ctx)
    expect(p.slim.map((g) => g.refs)).toEqual([
      ['docker.io/o/b:sha-abcdef0', 'docker.io/o/b:1.2.3'],
      ['ghcr.io/o/a:sha-abcdef0', 'ghcr.io/o/a:1.2']
    ])
  })
})

// The merge job must find exactly what the matrix jobs of the same workflow pushed: for every
// platform, the run refs of that platform's arch-tags job are the merge's sources, and its tags
// are the merge's refs in their per-architecture form.
describe('makeMergePlan agrees with the arch-tags jobs of the same inputs', () => {
  const job = (values: RawInputs, platform: string, ctx: WorkflowContext): BuildPlan =>
    plan({ ...values, platforms: platform, 'arch-tags': 'true' }, ctx, {
      distFiles: ['my_app-1.2.3.tar.gz']
    })

  test.each<[string, RawInputs, string]>([
    ['one image, default format', { image: 'ghcr.io/o/a' }, TWO],
    ['two images', { image: 'ghcr.io/o/a\ndocker.io/o/a' }, TWO],
    [
      'prefix, suffix, base-suffix and {arch}-{tag}',
      {
        image: 'ghcr.io/o/a',
        'tag-prefix': 'py3.12-',
        'tag-suffix': '-slim',
        'base-suffix': '_wheels',
        'arch-tag-format': '{arch}-{tag}'
      },
      TWO
    ],
    [
      'every platform',
      { image: 'ghcr.io/o/a' },
      'linux/amd64,linux/arm64,linux/arm/v7,linux/arm/v6,linux/386,linux/ppc64le,linux/s390x,linux/riscv64'
    ],
    [
      'metadata-action style full references, no image',
      { tags: 'ghcr.io/o/a:1.2.3\nghcr.io/o/a:latest' },
      TWO
    ],
    [
      'an image and a full reference to another repository',
      { image: 'ghcr.io/o/a', tags: 'docker.io/o/a:1.2.3\n1.2' },
      TWO
    ]
  ])('%s', (_name, values, platforms) => {
    const ctx = runnerContext('push', 'refs/tags/v1.2.3')
    const m = merge({ ...values, platforms }, ctx)
    for (const platform of platforms.split(',')) {
      const j = job(values, platform, ctx)
      const sources = (groups: MergePlan['slim']): (string | undefined)[] =>
        groups.map((g) => g.sources[platform]).sort()
      expect(sources(m.slim)).toEqual([...j.runRefs.slim].sort())
      expect(sources(m.base)).toEqual([...j.runRefs.base].sort())
      // the tags the merge creates are, per architecture, exactly what the job pushed
      const format = values['arch-tag-format'] ?? '{tag}-{arch}'
      const merged = [...m.slim, ...m.base].flatMap((g) => g.refs)
      const pushed = [...j.slimTags, ...j.baseTags, ...j.runRefs.slim, ...j.runRefs.base]
      expect([...new Set(merged.map((r) => archRef(r, platform, format)))].sort()).toEqual(
        [...new Set(pushed)].sort()
      )
    }
  })
})
