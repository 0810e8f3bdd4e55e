// The repository's own workflows, checked with GitHub's parser (@actions/workflow-parser): the
// `action` job of ci.yml runs the action on GitHub's runners, which cannot happen here.
import { describe, expect, test } from '@jest/globals'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  convertWorkflowTemplate,
  isBasicExpression,
  isBoolean,
  isMapping,
  isNumber,
  isSequence,
  isString,
  NoOperationTraceWriter,
  parseWorkflow,
  TemplateParseResult,
  WorkflowTemplate
} from '@actions/workflow-parser'
import { parse } from 'yaml'
import { parseInputs } from '../src/inputs.js'
import { RawInputs, reader } from '../__fixtures__/inputs.js'

type Token = NonNullable<TemplateParseResult['value']>
type Plain = string | number | boolean | null | Plain[] | { [key: string]: Plain }
type Mapping = { [key: string]: Plain }

const WORKFLOWS = fileURLToPath(new URL('../.github/workflows/', import.meta.url))
const files = readdirSync(WORKFLOWS)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort()

const action = parse(readFileSync(new URL('../action.yml', import.meta.url), 'utf8')) as {
  inputs?: Record<string, unknown>
}
const declaredInputs = Object.keys(action.inputs ?? {})

interface Checked {
  /** Every error GitHub's parser reports: YAML, schema, then conversion (needs, step ids, ...). */
  errors: string[]
  template: WorkflowTemplate | undefined
  /** The parser's token tree as plain values; expressions as "${{ ... }}". */
  tree: Plain
}

/** Parses and converts a workflow file as GitHub does, collecting the error list. */
async function check(path: string): Promise<Checked> {
  const name = path.slice(path.lastIndexOf('/') + 1)
  const parsed = parseWorkflow(
    { name, content: readFileSync(path, 'utf8') },
    new NoOperationTraceWriter()
  )
  const template =
    parsed.value === undefined
      ? undefined
      : await convertWorkflowTemplate(parsed.context, parsed.value)
  return {
    errors: parsed.context.errors.getErrors().map((e) => e.message),
    template,
    tree: parsed.value === undefined ? null : plain(parsed.value)
  }
}

function plain(token: Token): Plain {
  if (isMapping(token)) {
    const out: Mapping = {}
    for (const { key, value } of token) out[key.toString()] = plain(value)
    return out
  }
  if (isSequence(token)) return [...token].map(plain)
  if (isString(token) || isNumber(token) || isBoolean(token)) return token.value
  if (isBasicExpression(token)) return `\${{ ${token.expression} }}`
  return null
}

const mapping = (value: Plain | undefined): Mapping =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {}
const list = (value: Plain | undefined): Plain[] => (Array.isArray(value) ? value : [])

/** Every `uses: ./` step of every job: [job id, step's `with`]. */
function localActionSteps(tree: Plain): [string, Mapping][] {
  return Object.entries(mapping(mapping(tree)['jobs'])).flatMap(([job, body]) =>
    list(mapping(body)['steps'])
      .map(mapping)
      .filter((step) => step['uses'] === './')
      .map((step): [string, Mapping] => [job, mapping(step['with'])])
  )
}

/** Every wheel-slim step (`uses: ./` or `uses: <owner>/wheel-slim-action@<ref>`): [job, `with`]. */
function wheelSlimSteps(tree: Plain): [string, Mapping][] {
  return Object.entries(mapping(mapping(tree)['jobs'])).flatMap(([job, body]) =>
    list(mapping(body)['steps'])
      .map(mapping)
      .filter((step) => step['uses'] === './' || /\/wheel-slim-action@/.test(String(step['uses'])))
      .map((step): [string, Mapping] => [job, mapping(step['with'])])
  )
}

/** `with` keys of wheel-slim steps that action.yml does not declare, as "job: key". */
const undeclaredInputs = (tree: Plain): string[] =>
  wheelSlimSteps(tree).flatMap(([job, w]) =>
    Object.keys(w)
      .filter((key) => !declaredInputs.includes(key))
      .map((key) => `${job}: ${key}`)
  )

describe('.github/workflows, parsed by @actions/workflow-parser', () => {
  test('there are workflows, ci.yml among them', () => {
    expect(files).toContain('ci.yml')
  })

  test.each(files)('%s: no errors', async (file) => {
    const { errors, template } = await check(join(WORKFLOWS, file))
    expect(errors).toEqual([])
    expect(template?.errors).toBeUndefined()
    expect(template?.jobs.length).toBeGreaterThan(0)
  })

  test.each(files)(
    '%s: every `with` key of a `uses: ./` step is an action.yml input',
    async (file) => {
      expect(undeclaredInputs((await check(join(WORKFLOWS, file))).tree)).toEqual([])
    }
  )
})

describe('ci.yml: the action job runs `uses: ./` against a local registry', () => {
  const ci = join(WORKFLOWS, 'ci.yml')

  test('needs check, runs on ubuntu-latest with a registry:2 service, contents: read', async () => {
    const { template, tree } = await check(ci)
    const converted = template?.jobs.find((j) => j.id.value === 'action')
    expect(converted?.needs?.map((n) => n.value)).toEqual(['check'])
    const job = mapping(mapping(mapping(tree)['jobs'])['action'])
    expect(job['runs-on']).toBe('ubuntu-latest')
    expect(mapping(job['permissions'])).toEqual({ contents: 'read' })
    const registry = mapping(mapping(job['services'])['registry'])
    expect(registry['image']).toBe('registry:2')
    expect(list(registry['ports'])).toContain('5000:5000')
  })

  test('a `uses: ./` step pushes to localhost:5000', async () => {
    const steps = localActionSteps((await check(ci)).tree).filter(([job]) => job === 'action')
    expect(steps).toHaveLength(1)
    const [, w] = steps[0] as [string, Mapping]
    expect(String(w['image'])).toMatch(/^localhost:5000\//)
    expect(String(w['push'])).toBe('true')
  })
})

describe('the checks can fail: a broken copy of ci.yml in a temporary directory', () => {
  const original = readFileSync(join(WORKFLOWS, 'ci.yml'), 'utf8')

  async function broken(edit: (yml: string) => string): Promise<Checked> {
    const dir = mkdtempSync(join(tmpdir(), 'wsa-workflow-'))
    try {
      const path = join(dir, 'ci.yml')
      const content = edit(original)
      expect(content).not.toBe(original)
      writeFileSync(path, content)
      return await check(path)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }

  test('an unknown job key is reported', async () => {
    const { errors } = await broken((y) =>
      y.replace('\n  action:\n', '\n  action:\n    runs-onn: ubuntu-latest\n')
    )
    expect(errors).toEqual([expect.stringContaining("Unexpected value 'runs-onn'")])
  })

  test('a YAML syntax error is reported', async () => {
    const { errors } = await broken((y) => y.replace('needs: check', 'needs: [check'))
    expect(errors).toEqual(expect.arrayContaining([expect.stringMatching(/^ci\.yml: .*line \d+/)]))
  })

  test('needs naming a job that does not exist is reported', async () => {
    const { errors } = await broken((y) => y.replace('needs: check', 'needs: chek'))
    expect(errors).toEqual(expect.arrayContaining([expect.stringContaining('chek')]))
  })

  test('a `with` key that action.yml does not declare is reported', async () => {
    const { errors, tree } = await broken((y) =>
      y.replace('          push: true\n', '          push: true\n          pushh: true\n')
    )
    expect(errors).toEqual([])
    expect(undeclaredInputs(tree)).toContain('action: pushh')
  })
})

// The README's matrix and release workflows, as users copy them.
describe('examples/workflows, parsed by @actions/workflow-parser', () => {
  const EXAMPLES = fileURLToPath(new URL('../examples/workflows/', import.meta.url))
  const examples = readdirSync(EXAMPLES)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
  /** A `with` as the action reads it: every value a string, `${{ matrix.x }}` filled in. */
  const inputsOf = (w: Mapping, matrix: Record<string, string> = {}): RawInputs =>
    Object.fromEntries(
      Object.entries(w).map(([k, v]) => [
        k,
        String(v).replace(/\$\{\{ matrix\.(\w+) \}\}/g, (_m, name: string) => matrix[name] ?? '')
      ])
    ) as RawInputs

  test('matrix.yml and release.yml are there', () => {
    expect(examples).toEqual(['matrix.yml', 'release.yml'])
  })

  test.each(examples)('%s: no errors', async (file) => {
    const { errors, template } = await check(join(EXAMPLES, file))
    expect(errors).toEqual([])
    expect(template?.errors).toBeUndefined()
    expect(template?.jobs.length).toBeGreaterThan(0)
  })

  test.each(examples)(
    '%s: every `with` key of a wheel-slim step is an action.yml input',
    async (file) => {
      const { tree } = await check(join(EXAMPLES, file))
      expect(wheelSlimSteps(tree).length).toBeGreaterThan(0)
      expect(undeclaredInputs(tree)).toEqual([])
    }
  )

  test('matrix.yml: a build job per platform (arch-tags), then a merge job of the same platforms', async () => {
    const { template, tree } = await check(join(EXAMPLES, 'matrix.yml'))
    const jobs = mapping(mapping(tree)['jobs'])
    const platforms = list(
      mapping(mapping(mapping(jobs['build'])['strategy'])['matrix'])['platform']
    )
    expect(platforms).toEqual(['linux/amd64', 'linux/arm/v7'])
    expect(template?.jobs.find((j) => j.id.value === 'merge')?.needs?.map((n) => n.value)).toEqual([
      'build'
    ])
    const steps = Object.fromEntries(wheelSlimSteps(tree))
    const build = steps['build'] as Mapping
    const merge = steps['merge'] as Mapping
    expect(build['platforms']).toBe('${{ matrix.platform }}')
    expect(String(build['arch-tags'])).toBe('true')
    expect(String(merge['merge'])).toBe('true')
    expect(merge['image']).toBe(build['image'])
    expect(String(merge['platforms']).split(',')).toEqual(platforms)
    // the inputs are valid as the action reads them, for every job of the matrix
    for (const platform of platforms) {
      const inputs = parseInputs(reader(inputsOf(build, { platform: String(platform) })))
      expect([inputs.archTags, inputs.merge, inputs.platforms]).toEqual([true, false, [platform]])
    }
    const merged = parseInputs(reader(inputsOf(merge)))
    expect([merged.merge, merged.archTags, merged.platforms]).toEqual([true, false, platforms])
  })

  test('release.yml: on v* tags, one job for both platforms; its inputs are valid', async () => {
    const { tree } = await check(join(EXAMPLES, 'release.yml'))
    const on = mapping(mapping(tree)['on'])
    expect(list(mapping(on['push'])['tags'])).toEqual(['v*'])
    const steps = wheelSlimSteps(tree)
    expect(steps).toHaveLength(1)
    const inputs = parseInputs(reader(inputsOf((steps[0] as [string, Mapping])[1])))
    expect([inputs.images, inputs.platforms, inputs.archTags, inputs.merge]).toEqual([
      ['ghcr.io/org/my-service'],
      ['linux/amd64', 'linux/arm/v7'],
      false,
      false
    ])
  })

  test('a misspelt input of an example is reported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsa-example-'))
    try {
      const original = readFileSync(join(EXAMPLES, 'matrix.yml'), 'utf8')
      const content = original.replace('arch-tags: true', 'arch-tag: true')
      expect(content).not.toBe(original)
      writeFileSync(join(dir, 'matrix.yml'), content)
      const { errors, tree } = await check(join(dir, 'matrix.yml'))
      expect(errors).toEqual([])
      expect(undeclaredInputs(tree)).toEqual(['build: arch-tag'])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
