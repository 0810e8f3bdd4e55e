import { readFileSync } from 'node:fs'
import { describe, expect, test } from '@jest/globals'
import { parseWheelSteps, WheelSteps } from '../src/build-log.js'

// A hand-written excerpt in the shape `docker buildx bake --progress=plain` prints for a
// two-platform build on an amd64 host: build-host stages are named "linux/amd64->arm/v7", bake
// prefixes each step with its target, and a step shared by several targets runs once (DONE)
// and shows as CACHED under the others.
const BAKE = readFileSync(new URL('./logs/bake-two-platforms.txt', import.meta.url), 'utf8')

const asObject = (m: Map<string, WheelSteps>): Record<string, WheelSteps> => Object.fromEntries(m)

describe('parseWheelSteps', () => {
  test('a two-platform bake log: resolve and compile times per target platform', () => {
    expect(asObject(parseWheelSteps(BAKE))).toEqual({
      'linux/arm/v7': {
        resolve: { seconds: 3.1, cached: false },
        compile: { seconds: 9.5, cached: false }
      },
      'linux/amd64': {
        resolve: { seconds: 1.4, cached: false },
        compile: { seconds: 0.1, cached: false }
      }
    })
  })

  test.each<[string, string[], Record<string, WheelSteps>]>([
    [
      'a step that only shows as CACHED took no time',
      ['#9 [runtime linux/arm64 compile 3/3] RUN ["/bin/sh"]', '#9 CACHED'],
      { 'linux/arm64': { compile: { seconds: 0, cached: true } } }
    ],
    [
      'CACHED under one target, DONE under another, in either order: the run counts',
      [
        '#5 [base linux/arm/v7 compile 3/3] RUN ["/bin/sh"]',
        '#5 CACHED',
        '#6 [runtime linux/arm/v7 compile 3/3] RUN ["/bin/sh"]',
        '#6 DONE 12.0s',
        '#7 [wheels linux/arm/v7 compile 3/3] RUN ["/bin/sh"]',
        '#7 CACHED'
      ],
      { 'linux/arm/v7': { compile: { seconds: 12, cached: false } } }
    ],
    [
      'two runs of the same step: the longer one',
      [
        '#5 [base linux/amd64->arm64 resolve 2/2] RUN ["python3"]',
        '#6 [runtime linux/amd64->arm64 resolve 2/2] RUN ["python3"]',
        '#6 DONE 2.5s',
        '#5 DONE 4s'
      ],
      { 'linux/arm64': { resolve: { seconds: 4, cached: false } } }
    ],
    [
      'a step that neither finished nor was cached (it failed) has no time',
      [
        '#8 [runtime linux/amd64 compile 3/3] RUN ["/bin/sh"]',
        '#8 ERROR: process did not complete'
      ],
      { 'linux/amd64': { compile: { seconds: undefined, cached: false } } }
    ],
    [
      'a single build without a target prefix',
      ['#4 [linux/arm/v7 compile 3/3] RUN ["/bin/sh"]', '#4 DONE 7.25s'],
      { 'linux/arm/v7': { compile: { seconds: 7.25, cached: false } } }
    ],
    [
      'the target of a build-host stage may be named with its OS',
      ['#4 [wheels linux/amd64->linux/s390x resolve 2/2] RUN ["python3"]', '#4 DONE 1.0s'],
      { 'linux/s390x': { resolve: { seconds: 1, cached: false } } }
    ],
    [
      'step ids that are prefixes of others are not confused',
      ['#1 [runtime linux/amd64 resolve 2/2] RUN ["python3"]', '#12 DONE 99.0s', '#1 DONE 0.5s'],
      { 'linux/amd64': { resolve: { seconds: 0.5, cached: false } } }
    ],
    [
      'other stages, other instructions and output lines are ignored',
      [
        '#3 [runtime linux/amd64->arm/v7 collect 2/2] RUN ["python3"]',
        '#3 DONE 1.0s',
        '#4 [runtime linux/amd64 own 2/2] RUN ["python3"]',
        '#4 DONE 2.0s',
        '#5 [runtime linux/arm/v7 compile 2/3] WORKDIR /wheel-slim/out/wheels',
        '#5 DONE 0.0s',
        '#6 0.1 [runtime linux/arm/v7 compile 3/3] RUN echoed by a build step',
        '#1 [internal] load build definition from Dockerfile',
        '#1 DONE 0.0s'
      ],
      {}
    ],
    [
      // The old single-stage pip wheel step of earlier versions is no wheel step any more.
      'a log of an earlier Dockerfile',
      ['#9 [base 2/2] RUN ["python3", "-m", "pip", "wheel", "x==1"]', '#9 DONE 5.3s'],
      {}
    ]
  ])('%s', (_name, lines, expected) => {
    expect(asObject(parseWheelSteps(lines.join('\n')))).toEqual(expected)
  })

  test('an empty log has no steps', () => {
    expect(parseWheelSteps('').size).toBe(0)
  })
})
