import { readFileSync } from 'node:fs'
import { describe, expect, test } from '@jest/globals'
import { parseWheelStep } from '../src/build-log.js'

// A real `docker buildx build --progress=plain` excerpt: the base stage's pip wheel step.
const AMD64 = readFileSync(new URL('./logs/wheel-step-amd64.txt', import.meta.url), 'utf8')

describe('parseWheelStep', () => {
  test('a real amd64 build: time of the step and the one wheel pip compiled', () => {
    expect(parseWheelStep(AMD64)).toEqual({
      seconds: 5.3,
      cached: false,
      built: ['wsa_service-1.0.0-cp311-cp311-linux_x86_64.whl']
    })
  })

  test('a cached step compiled nothing and took no time', () => {
    const log = [
      '#9 [base 2/2] RUN --mount=type=bind,source=dist,target=/wheel-slim/dist ["python3", "-m", "pip", "wheel", "x==1"]',
      '#9 CACHED'
    ].join('\n')
    expect(parseWheelStep(log)).toEqual({ seconds: 0, cached: true, built: [] })
  })

  test('multi-platform headers carry the platform; lines of other steps are ignored', () => {
    const log = [
      '#10 [linux/arm/v7 base 2/2] RUN ["python3", "-m", "pip", "wheel", "x==1"]',
      '#11 [runtime 2/3] RUN ["python3", "-m", "pip", "install", "x==1"]',
      '#11 1.0   Created wheel for decoy: filename=decoy-1-py3-none-any.whl size=1',
      '#10 12.5   Created wheel for a: filename=a-1.0-cp311-cp311-linux_armv7l.whl size=9',
      '#10 20.1   Created wheel for b: filename=b-2.0-cp311-cp311-linux_armv7l.whl size=9',
      '#10 DONE 20.4s'
    ].join('\n')
    expect(parseWheelStep(log)).toEqual({
      seconds: 20.4,
      cached: false,
      built: ['a-1.0-cp311-cp311-linux_armv7l.whl', 'b-2.0-cp311-cp311-linux_armv7l.whl']
    })
  })

  test('a log without the wheel step says so', () => {
    expect(parseWheelStep('#1 [internal] load build definition\n#1 DONE 0.0s')).toEqual({
      cached: false,
      built: []
    })
  })
})
