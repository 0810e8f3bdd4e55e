/**
 * The property behind "no input can inject an instruction or a shell command": whatever string
 * lands in whichever input, parseInputs + makePlan either refuse it with an InputError or
 * produce a plan whose Dockerfile has the baseline's shape and whose argv stay argv.
 */
import { describe, expect, test } from '@jest/globals'
import { Keyword } from 'dockerfile-ast'
import fc from 'fast-check'
import { buildArgv } from '../src/buildx.js'
import { INPUT_NAMES, InputName } from '../src/constants.js'
import { BuildPlan } from '../src/plan.js'
import { InputError } from '../src/validate.js'
import { execForm, parseDockerfile } from '../__fixtures__/dockerfile.js'
import { plan, RawInputs } from '../__fixtures__/inputs.js'

const NUM_RUNS = 400
const BASE: RawInputs = { image: 'ghcr.io/org/app' }
const baseline = plan(BASE)
const baselineDf = parseDockerfile(baseline.dockerfile)
const baselineKeywords = new Set(baselineDf.instructions.map((i) => i.keyword))
const ALL_KEYWORDS = new Set<string>(Object.values(Keyword))
const SECRET_MESSAGE =
  'Input "extra-index-url": "***" is not valid; expected an http(s) URL of a package index.'

const FRAGMENTS = [
  '\n',
  '\r',
  'RUN ',
  '$(',
  '`',
  ';',
  '&&',
  '"',
  "'",
  '\\',
  ']',
  '--mount',
  '# syntax=',
  '\u0000',
  ' ',
  ',',
  '=',
  '/',
  ':',
  '\u2028',
  '\\\n'
]
// Starts that pass some input's validation, so the hostile tail gets as far as it can.
const PREFIXES = [
  '',
  'x',
  'my_app',
  'my-app',
  '--pre ',
  '--pre',
  'A=',
  'org.label=',
  'https://u:tok@example.org/simple',
  'type=gha,',
  'ghcr.io/org/app',
  'ghcr.io/org/app:',
  'linux/amd64,',
  'libpq-dev ',
  '/wheeley',
  'dist/',
  'python:3.12',
  '3.1',
  'true',
  'base',
  '-base'
]

const hostile = fc
  .tuple(
    fc.constantFrom(...PREFIXES),
    fc.array(fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 4 })), {
      maxLength: 6
    })
  )
  .map(([prefix, parts]) => prefix + parts.join(''))

const anyString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  hostile,
  hostile
)

/** A line break or NUL: what would split a log line, a Dockerfile line or an exec argv. */
const breaks = (s: string): boolean => /[\n\r]/.test(s) || s.includes('\u0000')

/** The keyword sequence the baseline has, plus the apt RUN of each stage that installs some. */
function expectedKeywords(p: BuildPlan): string[] {
  return baselineDf.stages.flatMap((s) => {
    const keywords = s.instructions.map((i) => i.keyword)
    const apt =
      (s.name === 'base' && p.spec.buildPackages.length > 0) ||
      (s.name === 'runtime' && p.spec.runtimePackages.length > 0)
    return apt ? [keywords[0] as string, 'RUN', ...keywords.slice(1)] : keywords
  })
}

function allArgv(p: BuildPlan): string[][] {
  return [p.wheelsBuild, p.baseBuild, p.runtimeBuild, ...p.smokeBuilds.map((s) => s.request)].map(
    (r) => buildArgv(p.common, r)
  )
}

function expectInert(p: BuildPlan): void {
  const text = p.dockerfile
  const df = parseDockerfile(text)
  expect(df.instructions.map((i) => i.keyword)).toEqual(expectedKeywords(p))
  expect(df.stages.map((s) => s.name)).toEqual(['base', 'wheels', 'runtime'])
  expect(df.directives).toEqual([])
  expect(df.comments).toHaveLength(baselineDf.comments.length)

  const execs = df.instructions.filter((i) => i.keyword === 'RUN' || i.keyword === 'ENTRYPOINT')
  expect(execs.filter((i) => execForm(i).length === 0)).toEqual([])
  expect(execs.flatMap((i) => i.flags).filter((f) => f.name !== 'mount')).toEqual([])
  const froms = df.instructions.filter((i) => i.keyword === 'FROM')
  expect(froms.filter((i) => i.flags.length > 0 || i.args.split(' ').length !== 3)).toEqual([])
  expect(df.instructions.filter((i) => i.keyword === 'COPY').map((i) => [i.flags, i.args])).toEqual(
    [[[{ name: 'from', value: 'base' }], `${p.spec.wheelDir} /`]]
  )
  const entrypoint = df.instructions.at(-1)
  expect(entrypoint && execForm(entrypoint)).toEqual(['python3', '-m', p.spec.module])
  expect(df.instructions.filter((i) => i.keyword === 'USER').map((i) => i.args)).toEqual(
    baselineDf.instructions.filter((i) => i.keyword === 'USER').map((i) => i.args)
  )

  const lines = text.split('\n')
  const foreign = lines.filter((line) => {
    const word = /^\s*([A-Za-z]+)/.exec(line)?.[1]?.toUpperCase()
    return word !== undefined && ALL_KEYWORDS.has(word) && !baselineKeywords.has(word)
  })
  expect(foreign).toEqual([])
  expect(lines.filter((l) => /^[^\s#]/.test(l))).toHaveLength(df.instructions.length)
  expect(lines.filter((l) => /^\s*#/.test(l))).toHaveLength(baselineDf.comments.length)

  const elements = allArgv(p).flat()
  expect(elements.filter((a) => typeof a !== 'string' || breaks(a))).toEqual([])
}

/** Returns whether the value was accepted. */
function check(name: InputName, value: string): boolean {
  let p: BuildPlan
  try {
    p = plan({ ...BASE, [name]: value })
  } catch (e) {
    expect(e).toBeInstanceOf(InputError)
    expect((e as Error).name).toBe('InputError')
    expect(breaks((e as Error).message)).toBe(false)
    if (name === 'extra-index-url') expect((e as Error).message).toBe(SECRET_MESSAGE)
    return false
  }
  expectInert(p)
  const secret = value.trim()
  if (name === 'extra-index-url' && secret !== '') {
    expect(p.dockerfile).not.toContain(secret)
    expect(
      allArgv(p)
        .flat()
        .filter((a) => a.includes(secret))
    ).toEqual([])
  }
  return true
}

describe('hostile inputs', () => {
  test('the baseline is what the other properties compare with', () => {
    expect([...baselineKeywords].sort()).toEqual(['COPY', 'ENTRYPOINT', 'FROM', 'RUN', 'USER'])
    expectInert(baseline)
  })

  test('any string in any single input: InputError or an inert plan', () => {
    let accepted = 0
    fc.assert(
      fc.property(fc.constantFrom(...INPUT_NAMES), anyString, (name, value) => {
        if (check(name, value)) accepted++
      }),
      { numRuns: NUM_RUNS }
    )
    // the property must also see values that get through, or it proves little
    expect(accepted).toBeGreaterThan(NUM_RUNS / 20)
  })

  test('hostile fragments after a valid start, input by input', () => {
    let accepted = 0
    fc.assert(
      fc.property(fc.constantFrom(...INPUT_NAMES), hostile, (name, value) => {
        if (check(name, value)) accepted++
      }),
      { numRuns: NUM_RUNS }
    )
    // the property must also see values that get through, or it proves little
    expect(accepted).toBeGreaterThan(NUM_RUNS / 20)
  })

  test('several inputs at once: InputError or an inert plan', () => {
    const someInputs = fc.dictionary(fc.constantFrom(...INPUT_NAMES), anyString, { maxKeys: 4 })
    fc.assert(
      fc.property(someInputs, (values) => {
        let p: BuildPlan
        try {
          p = plan({ ...BASE, ...values })
        } catch (e) {
          expect(e).toBeInstanceOf(InputError)
          return
        }
        expectInert(p)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  test('an accepted extra-index-url appears in no Dockerfile and no argv', () => {
    const url = fc
      .tuple(
        fc.webUrl({ withQueryParameters: true, withFragments: true }),
        fc.constantFrom('', 'tok3n', '$(id)', '"]', '%0aRUN%20x', '\\')
      )
      .map(([u, tail]) => u.replace('://', '://user:s3cr3t@') + tail)
    let accepted = 0
    fc.assert(
      fc.property(url, (value) => {
        if (check('extra-index-url', value)) accepted++
      }),
      { numRuns: NUM_RUNS }
    )
    expect(accepted).toBeGreaterThan(NUM_RUNS / 2)
  })

  test.each<[string, (p: BuildPlan) => BuildPlan]>([
    [
      'an extra instruction',
      (p) => ({ ...p, dockerfile: p.dockerfile.replace('USER 10001', 'ENV X=1\nUSER 10001') })
    ],
    [
      'an instruction hidden in a continuation',
      (p) => ({
        ...p,
        dockerfile: p.dockerfile.replace('USER 10001:10001', 'USER 10001:10001 \\\nRUN x')
      })
    ],
    [
      'a shell-form RUN',
      (p) => ({ ...p, dockerfile: p.dockerfile.replace(/RUN \["useradd".*\]/, 'RUN useradd app') })
    ],
    [
      'a parser directive',
      (p) => ({ ...p, dockerfile: `# syntax=docker/dockerfile:1\n${p.dockerfile}` })
    ],
    [
      'a newline in an argv element',
      (p) => ({ ...p, common: { ...p.common, buildArgs: ['A=1\nB=2'] } })
    ],
    [
      'a shell-form ENTRYPOINT',
      (p) => ({
        ...p,
        dockerfile: p.dockerfile.replace(/ENTRYPOINT .*/, 'ENTRYPOINT python3 -m my_app')
      })
    ]
  ])('the inertness check catches %s', (_name, tamper) => {
    expect(() => expectInert(tamper(baseline))).toThrow()
  })

  test.each<[InputName, string]>([
    ['pip-args', '--pre ]"\\ `$(id)` ;rm -rf / # syntax=docker/dockerfile:1'],
    ['build-args', 'A=$(id)\u2028RUN x'],
    ['labels', 'a=b"],"RUN evil'],
    ['cache-from', 'type=local,src="]RUN'],
    ['smoke-test', 'python3 -c "import my_app"; echo `id`\nRUN evil'],
    ['tags', 'ghcr.io/org/app:ok'],
    ['base-suffix', '-b.a_se']
  ])('accepted hostile-looking %s %j stays inert', (name, value) => {
    const p = plan({ ...BASE, [name]: value })
    expectInert(p)
  })
})
