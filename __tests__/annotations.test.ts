/**
 * OCI annotations: buildx's `[level[platform]:]key=value` lines, the OCI labels added on the
 * index, and what a single-platform build and a merge can write.
 */
import { describe, expect, test } from '@jest/globals'
import {
  buildAnnotations,
  forPlatforms,
  mergeAnnotations,
  parseAnnotation
} from '../src/annotations.js'

const LABELS = [
  'org.opencontainers.image.title=app',
  'org.opencontainers.image.version=1.2.3',
  'io.wheel-slim.wheel-dir=/wheels',
  'org.example.team=web'
]

describe('parseAnnotation', () => {
  test.each([
    ['k=v', { level: 'manifest', platforms: '', key: 'k', value: 'v' }],
    ['index:a.b=c=d', { level: 'index', platforms: '', key: 'a.b', value: 'c=d' }],
    [
      'manifest-descriptor:k=',
      { level: 'manifest-descriptor', platforms: '', key: 'k', value: '' }
    ],
    ['index-descriptor:k=v', { level: 'index-descriptor', platforms: '', key: 'k', value: 'v' }],
    [
      'manifest[linux/amd64,linux/arm/v7]:k=v v',
      { level: 'manifest', platforms: '[linux/amd64,linux/arm/v7]', key: 'k', value: 'v v' }
    ]
  ])('%s', (line, parsed) => {
    expect(parseAnnotation(line)).toEqual(parsed)
  })

  test.each(['', '=v', 'k', 'layer:k=v', 'index:k=v\nRUN x', 'manifest[]:k=v', '$(id)=x'])(
    'refused: %j',
    (line) => {
      expect(parseAnnotation(line)).toBeUndefined()
    }
  )
})

describe('buildAnnotations', () => {
  test('the OCI labels on the index; other labels are not annotations', () => {
    expect(buildAnnotations(LABELS, [])).toEqual([
      'index:org.opencontainers.image.title=app',
      'index:org.opencontainers.image.version=1.2.3'
    ])
  })

  test('a later label of a key wins (the user labels come after the action ones)', () => {
    const labels = [...LABELS, 'org.opencontainers.image.title=mine']
    expect(buildAnnotations(labels, [])).toContain('index:org.opencontainers.image.title=mine')
    expect(buildAnnotations(labels, [])).not.toContain('index:org.opencontainers.image.title=app')
  })

  test("the user's lines after, a level written out; one of a level and key wins", () => {
    const user = [
      'org.opencontainers.image.title=plain',
      'index:org.opencontainers.image.title=theirs',
      'manifest[linux/amd64]:org.example.arch=x86-64'
    ]
    expect(buildAnnotations(LABELS, user)).toEqual([
      'index:org.opencontainers.image.title=theirs',
      'index:org.opencontainers.image.version=1.2.3',
      'manifest:org.opencontainers.image.title=plain',
      'manifest[linux/amd64]:org.example.arch=x86-64'
    ])
  })
})

describe('forPlatforms', () => {
  const all = ['index:a=1', 'index-descriptor:b=2', 'manifest:c=3', 'manifest-descriptor:d=4']
  test('several platforms make an index: every line', () => {
    expect(forPlatforms(all, 2)).toEqual(all)
  })
  test('one platform makes no index (buildx refuses index annotations there)', () => {
    expect(forPlatforms(all, 1)).toEqual(['manifest:c=3', 'manifest-descriptor:d=4'])
  })
})

describe('mergeAnnotations', () => {
  test("the images' OCI labels and the user's index lines; no manifest or descriptor level", () => {
    const labels = Object.fromEntries(LABELS.map((l) => l.split('=') as [string, string]))
    const user = [
      'manifest:org.opencontainers.image.title=m',
      'index-descriptor:k=v',
      'index:org.opencontainers.image.version=1.2.3-custom',
      'index:org.example.team=web'
    ]
    expect(mergeAnnotations(labels, user)).toEqual([
      'index:org.opencontainers.image.title=app',
      'index:org.opencontainers.image.version=1.2.3-custom',
      'index:org.example.team=web'
    ])
  })
})
