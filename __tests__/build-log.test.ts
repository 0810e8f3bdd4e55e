import { readFileSync } from 'node:fs'
import { describe, expect, test } from '@jest/globals'
import { parseWheelSteps, WheelSteps } from '../src/build-log.js'

// A hand-written excerpt in the shape `docker buildx bake --progress=plain` prints for a
// two-platform build on an amd64 host: build-host stages are named "linux/amd64->arm/v7", bake
// prefixes each step with its target, and a step shared by several targets runs once (DONE)
// and shows as CACHED under the others.
const BAKE = readFileSync(new URL('./logs/bake-two-platforms.txt', import.meta.url), 'utf8')

const asObject = (m: Map<string, WheelSteps>): Record<string, WheelSteps> => Object.fromEntries(m)

/** The platforms of the bake fixture's build. */
const TWO = ['linux/amd64', 'linux/arm/v7']

describe('parseWheelSteps', () => {
  test('a two-platform bake log: resolve and compile times per target platform', () => {
    expect(asObject(parseWheelSteps(BAKE, TWO))).toEqual({
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

  // [name, log lines, the build's platforms, expected]
  test.each<[string, string[], string[], Record<string, WheelSteps>]>([
    [
      'a step that only shows as CACHED took no time',
      ['#9 [runtime linux/arm64 compile 3/3] RUN ["/bin/sh"]', '#9 CACHED'],
      ['linux/amd64', 'linux/arm64'],
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
      TWO,
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
      ['linux/amd64', 'linux/arm64'],
      { 'linux/arm64': { resolve: { seconds: 4, cached: false } } }
    ],
    [
      'a step that neither finished nor was cached (it failed) has no time',
      [
        '#8 [runtime linux/amd64 compile 3/3] RUN ["/bin/sh"]',
        '#8 ERROR: process did not complete'
      ],
      TWO,
      { 'linux/amd64': { compile: { seconds: undefined, cached: false } } }
    ],
    [
      'a single build without a target prefix',
      ['#4 [linux/arm/v7 compile 3/3] RUN ["/bin/sh"]', '#4 DONE 7.25s'],
      TWO,
      { 'linux/arm/v7': { compile: { seconds: 7.25, cached: false } } }
    ],
    [
      'the target of a build-host stage may be named with its OS',
      ['#4 [wheels linux/amd64->linux/s390x resolve 2/2] RUN ["python3"]', '#4 DONE 1.0s'],
      ['linux/amd64', 'linux/s390x'],
      { 'linux/s390x': { resolve: { seconds: 1, cached: false } } }
    ],
    [
      'step ids that are prefixes of others are not confused',
      ['#1 [runtime linux/amd64 resolve 2/2] RUN ["python3"]', '#12 DONE 99.0s', '#1 DONE 0.5s'],
      TWO,
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
      TWO,
      {}
    ],
    [
      // The old single-stage pip wheel step of earlier versions is no wheel step any more.
      'a log of an earlier Dockerfile',
      ['#9 [base 2/2] RUN ["python3", "-m", "pip", "wheel", "x==1"]', '#9 DONE 5.3s'],
      TWO,
      {}
    ]
  ])('%s', (_name, lines, platforms, expected) => {
    expect(asObject(parseWheelSteps(lines.join('\n'), platforms))).toEqual(expected)
  })

  test("one resolve step for both platforms (it names the build host): its time is each one's", () => {
    const log = [
      '#12 [wheels linux/amd64 resolve 2/2] RUN ["python3", "/wheel-slim/tools/wheel_slim.py"]',
      '#12 DONE 1.4s',
      '#13 [runtime linux/amd64 resolve 2/2] RUN ["python3", "/wheel-slim/tools/wheel_slim.py"]',
      '#13 CACHED',
      '#17 [runtime linux/arm/v7 compile 3/3] RUN ["/bin/sh"]',
      '#17 DONE 9.5s'
    ].join('\n')
    const resolve = { seconds: 1.4, cached: false }
    expect(asObject(parseWheelSteps(log, TWO, {}, TWO))).toEqual({
      'linux/amd64': { resolve },
      'linux/arm/v7': { resolve, compile: { seconds: 9.5, cached: false } }
    })
    // Read as a resolve per target, the step would be the build host's only.
    expect(parseWheelSteps(log, TWO).get('linux/arm/v7')?.resolve).toBeUndefined()
    // On an arm64 host building neither platform natively, the step names arm64.
    const arm64Host = log.replaceAll('linux/amd64 resolve', 'linux/arm64 resolve')
    expect(parseWheelSteps(arm64Host, TWO, {}, TWO).get('linux/amd64')?.resolve).toEqual(resolve)
  })

  test('an empty log has no steps', () => {
    expect(parseWheelSteps('', TWO).size).toBe(0)
    expect(parseWheelSteps('', ['linux/arm64']).size).toBe(0)
  })
})

// BuildKit names the platform in a step only when the build asked for several: a one-platform
// build prints `[compile 3/3]` (buildx build) or `[runtime compile 3/3]` (bake, several
// targets), its build-host stages included. Those steps are the one platform's.
describe('parseWheelSteps: one-platform builds name no platform', () => {
  test.each<[string, string[], string, WheelSteps]>([
    [
      'buildx build: stage only',
      [
        '#10 [resolve 2/2] RUN ["python3", "/wheel-slim/tools/wheel_slim.py", "resolve", "{}"]',
        '#10 DONE 3.1s',
        '#12 [compile 3/3] RUN ["/bin/sh", "-c", "exec python3 …"]',
        '#12 DONE 9.5s'
      ],
      'linux/arm/v7',
      { resolve: { seconds: 3.1, cached: false }, compile: { seconds: 9.5, cached: false } }
    ],
    [
      'bake: target and stage',
      [
        '#10 [runtime resolve 2/2] RUN ["python3"]',
        '#10 DONE 1.4s',
        '#12 [runtime compile 3/3] RUN ["/bin/sh"]',
        '#12 DONE 0.1s'
      ],
      'linux/amd64',
      { resolve: { seconds: 1.4, cached: false }, compile: { seconds: 0.1, cached: false } }
    ],
    [
      'bake: a step shared by three targets ran under one, CACHED under the others',
      [
        '#14 [base compile 3/3] RUN ["/bin/sh"]',
        '#14 CACHED',
        '#15 [wheels compile 3/3] RUN ["/bin/sh"]',
        '#15 DONE 42.0s',
        '#16 [runtime compile 3/3] RUN ["/bin/sh"]',
        '#16 CACHED'
      ],
      'linux/arm64',
      { compile: { seconds: 42, cached: false } }
    ],
    [
      'bake: every target CACHED',
      [
        '#9 [runtime resolve 2/2] RUN ["python3"]',
        '#9 CACHED',
        '#11 [wheels resolve 2/2] RUN ["python3"]',
        '#11 CACHED'
      ],
      'linux/s390x',
      { resolve: { seconds: 0, cached: true } }
    ],
    [
      'other stages and instructions are still ignored',
      [
        '#3 [runtime own 2/2] RUN ["python3"]',
        '#3 DONE 2.0s',
        '#4 [collect 2/2] RUN ["python3"]',
        '#4 DONE 1.0s',
        '#5 [runtime compile 2/3] WORKDIR /wheel-slim/out/wheels',
        '#5 DONE 0.0s',
        '#6 0.3 [compile 3/3] RUN echoed by a build step'
      ],
      'linux/amd64',
      {}
    ]
  ])('%s', (_name, lines, platform, expected) => {
    const steps = asObject(parseWheelSteps(lines.join('\n'), [platform]))
    expect(steps).toEqual(Object.keys(expected).length > 0 ? { [platform]: expected } : {})
  })
})

// Bake with two platforms: one step, the same for several targets, runs once (DONE) and shows
// as CACHED under the other targets, before or after the run.
describe('parseWheelSteps: a two-platform bake, one step under several targets', () => {
  const header = (id: number, target: string, platform: string, stage: string): string =>
    `#${id} [${target} ${platform} ${stage}] RUN ["python3", "/wheel-slim/tools/wheel_slim.py"]`

  test.each<[string, string[], Record<string, WheelSteps>]>([
    [
      'resolve on the build host DONE under wheels, CACHED under runtime and base',
      [
        header(12, 'wheels', 'linux/amd64->arm/v7', 'resolve 2/2'),
        '#12 DONE 3.1s',
        header(13, 'runtime', 'linux/amd64->arm/v7', 'resolve 2/2'),
        '#13 CACHED',
        header(15, 'base', 'linux/amd64->arm/v7', 'resolve 2/2'),
        '#15 CACHED'
      ],
      { 'linux/arm/v7': { resolve: { seconds: 3.1, cached: false } } }
    ],
    [
      'CACHED under two targets first, then DONE under the third',
      [
        header(17, 'runtime', 'linux/arm/v7', 'compile 3/3'),
        '#17 CACHED',
        header(18, 'wheels', 'linux/arm/v7', 'compile 3/3'),
        '#18 CACHED',
        header(19, 'base', 'linux/arm/v7', 'compile 3/3'),
        '#19 DONE 9.5s'
      ],
      { 'linux/arm/v7': { compile: { seconds: 9.5, cached: false } } }
    ],
    [
      'each platform keeps its own step: amd64 ran, arm/v7 came from the cache',
      [
        header(20, 'runtime', 'linux/amd64', 'compile 3/3'),
        '#20 DONE 0.4s',
        header(21, 'wheels', 'linux/amd64', 'compile 3/3'),
        '#21 CACHED',
        header(22, 'runtime', 'linux/arm/v7', 'compile 3/3'),
        '#22 CACHED',
        header(23, 'wheels', 'linux/arm/v7', 'compile 3/3'),
        '#23 CACHED'
      ],
      {
        'linux/amd64': { compile: { seconds: 0.4, cached: false } },
        'linux/arm/v7': { compile: { seconds: 0, cached: true } }
      }
    ],
    [
      'a build-host stage for amd64 itself names no arrow',
      [
        header(14, 'runtime', 'linux/amd64', 'resolve 2/2'),
        '#14 CACHED',
        header(16, 'wheels', 'linux/amd64', 'resolve 2/2'),
        '#16 DONE 1.4s'
      ],
      { 'linux/amd64': { resolve: { seconds: 1.4, cached: false } } }
    ]
  ])('%s', (_name, lines, expected) => {
    expect(asObject(parseWheelSteps(lines.join('\n'), TWO))).toEqual(expected)
  })
})
