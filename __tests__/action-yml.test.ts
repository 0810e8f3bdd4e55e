import { describe, expect, test } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { INPUT_DEFAULTS, INPUT_NAMES, OUTPUT_NAMES } from '../src/constants.js'

interface ActionYml {
  name?: unknown
  description?: unknown
  inputs?: Record<string, { description?: unknown; default?: unknown; required?: unknown }>
  outputs?: Record<string, { description?: unknown }>
  runs?: Record<string, unknown>
}

const action = parse(readFileSync(new URL('../action.yml', import.meta.url), 'utf8')) as ActionYml
const inputs = action.inputs ?? {}
const outputs = action.outputs ?? {}

describe('action.yml', () => {
  test('declares exactly INPUT_NAMES, in the same order', () => {
    expect(Object.keys(inputs)).toEqual(INPUT_NAMES)
  })

  test.each(INPUT_NAMES)('input %s: default equals INPUT_DEFAULTS, not required', (name) => {
    const input = inputs[name]
    expect(input?.default).toBe(INPUT_DEFAULTS[name])
    expect(typeof input?.default).toBe('string')
    expect(input?.required === undefined || input.required === false).toBe(true)
  })

  test('declares exactly OUTPUT_NAMES, in the same order', () => {
    expect(Object.keys(outputs)).toEqual([...OUTPUT_NAMES])
  })

  test.each([
    ...Object.entries(inputs).map(([n, v]) => [`input ${n}`, v.description] as const),
    ...Object.entries(outputs).map(([n, v]) => [`output ${n}`, v.description] as const)
  ])('%s has a non-empty description', (_name, description) => {
    expect(typeof description).toBe('string')
    expect(String(description).trim()).not.toBe('')
  })

  test('runs on node24 from dist/index.js, main and post', () => {
    expect(action.runs?.['using']).toBe('node24')
    expect(action.runs?.['main']).toBe('dist/index.js')
    expect(action.runs?.['post']).toBe('dist/index.js')
    expect(action.runs?.['post-if']).toBe('always()')
  })

  test('has a name and a description', () => {
    expect(typeof action.name).toBe('string')
    expect(String(action.description).trim()).not.toBe('')
  })
})
