import { describe, expect, test } from '@jest/globals'
import {
  DIST_MOUNT,
  PIP_CONF_SECRET,
  REQUIREMENTS_MOUNT,
  WHEEL_CACHE_CONTEXT,
  WHEEL_CACHE_MOUNT
} from '../src/constants.js'
import { DockerfileSpec, renderDockerfile, STAGES } from '../src/dockerfile.js'
import { execForm, mounts, parseDockerfile, pipRun, stage } from '../__fixtures__/dockerfile.js'

const plain: DockerfileSpec = {
  baseFrom: 'python:3.12',
  fromParent: false,
  runtimeFrom: 'python:3.12-slim',
  wheelDir: '/wheeley',
  distPath: 'dist',
  requirement: 'my-app==1.0.0',
  module: 'my_app',
  buildPackages: [],
  runtimePackages: [],
  pipArgs: [],
  extraIndex: false,
  wheelCache: false
}

const SPECS: [string, DockerfileSpec][] = [
  ['plain', plain],
  ['with parent', { ...plain, baseFrom: 'ghcr.io/org/service:1.0-base', fromParent: true }],
  ['with requirements', { ...plain, requirementsPath: 'requirements/pinned.txt' }],
  ['with wheelCache', { ...plain, wheelCache: true }],
  ['with extraIndex', { ...plain, extraIndex: true }],
  [
    'with build/runtime packages',
    { ...plain, buildPackages: ['libpq-dev', 'gcc=4:12.2.0-3'], runtimePackages: ['libpq5'] }
  ],
  ['custom wheel dir', { ...plain, wheelDir: '/opt/wheels', distPath: 'build/dist' }],
  ['pip args', { ...plain, pipArgs: ['--pre', '--only-binary', ':all:', '--x="]\\'] }],
  [
    'everything',
    {
      ...plain,
      baseFrom: 'registry.local:5000/base@sha256:' + 'a'.repeat(64),
      fromParent: true,
      runtimeFrom: 'debian:bookworm-slim',
      wheelDir: '/w',
      requirementsPath: 'req.txt',
      module: 'my_app.cli',
      buildPackages: ['build-essential'],
      runtimePackages: ['libxml2', 'libxslt1.1'],
      pipArgs: ['--prefer-binary'],
      extraIndex: true,
      wheelCache: true
    }
  ]
]

const APT_SCRIPT =
  'apt-get update && apt-get install -y --no-install-recommends "$@" && rm -rf /var/lib/apt/lists/*'

describe.each(SPECS)('renderDockerfile: %s', (_name, spec) => {
  const text = renderDockerfile(spec)
  const df = parseDockerfile(text)
  const base = stage(df, STAGES.base)
  const wheels = stage(df, STAGES.wheels)
  const runtime = stage(df, STAGES.runtime)

  test('three stages base, wheels, runtime in that order, runtime last', () => {
    expect(df.stages.map((s) => s.name)).toEqual(['base', 'wheels', 'runtime'])
    expect(df.instructions[0]?.keyword).toBe('FROM')
    expect(df.stages.flatMap((s) => s.instructions)).toEqual(df.instructions)
  })

  test('base is FROM the builder or the parent; runtime FROM the slim image', () => {
    expect(base.from).toBe(spec.baseFrom)
    expect(runtime.from).toBe(spec.runtimeFrom)
    expect(wheels.from).toBe('scratch')
  })

  test('pip wheel: wheel dir, find-links, pip args in order, the pin last', () => {
    const { instruction, argv } = pipRun(base, 'wheel')
    const expectedLinks = [
      DIST_MOUNT,
      spec.wheelDir,
      ...(spec.wheelCache ? [WHEEL_CACHE_MOUNT] : [])
    ]
    const links = argv.flatMap((a, i) => (a === '--find-links' ? [argv[i + 1]] : []))
    expect(links).toEqual(expectedLinks)
    expect(argv[argv.indexOf('--wheel-dir') + 1]).toBe(spec.wheelDir)
    expect(argv.at(-1)).toBe(spec.requirement)
    // pip args come as separate elements, after the find-links and before the requirements
    const lastLink = argv.lastIndexOf('--find-links') + 1
    expect(argv.slice(lastLink + 1, lastLink + 1 + spec.pipArgs.length)).toEqual(spec.pipArgs)
    const reqs = spec.requirementsPath ? ['--requirement', REQUIREMENTS_MOUNT] : []
    expect(argv.slice(lastLink + 1 + spec.pipArgs.length)).toEqual([...reqs, spec.requirement])
    const m = mounts(instruction)
    expect(m[0]).toBe(`type=bind,source=${spec.distPath},target=${DIST_MOUNT}`)
    expect(m.includes(`type=bind,from=${WHEEL_CACHE_CONTEXT},target=${WHEEL_CACHE_MOUNT}`)).toBe(
      spec.wheelCache
    )
    expect(
      m.includes(`type=bind,source=${spec.requirementsPath},target=${REQUIREMENTS_MOUNT}`)
    ).toBe(spec.requirementsPath !== undefined)
    expect(instruction.flags.every((f) => f.name === 'mount')).toBe(true)
  })

  test('runtime installs with --no-index through a bind mount of the base stage, no COPY', () => {
    const { instruction, argv } = pipRun(runtime, 'install')
    expect(argv).toContain('--no-index')
    expect(argv[argv.indexOf('--find-links') + 1]).toBe(spec.wheelDir)
    expect(argv.at(-1)).toBe(spec.requirement)
    expect(mounts(instruction)).toContain(
      `type=bind,from=base,source=${spec.wheelDir},target=${spec.wheelDir}`
    )
    expect(runtime.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')).toEqual(
      []
    )
    if (spec.requirementsPath) {
      expect(argv.slice(-3)).toEqual(['--requirement', REQUIREMENTS_MOUNT, spec.requirement])
    }
  })

  test('wheels stage is FROM scratch with only COPY --from=base <wheelDir> /', () => {
    expect(wheels.instructions.map((i) => i.keyword)).toEqual(['FROM', 'COPY'])
    const copy = wheels.instructions[1]
    expect(copy?.flags).toEqual([{ name: 'from', value: 'base' }])
    expect(copy?.args).toBe(`${spec.wheelDir} /`)
  })

  test('no "# syntax=" line and no parser directive', () => {
    expect(df.directives).toEqual([])
    expect(text).not.toMatch(/^\s*#\s*(syntax|escape|check)\s*=/im)
  })

  test('ENTRYPOINT ["python3", "-m", module] in exec form, last', () => {
    const last = df.instructions.at(-1)
    expect(last?.keyword).toBe('ENTRYPOINT')
    expect(last && execForm(last)).toEqual(['python3', '-m', spec.module])
    expect(df.instructions.filter((i) => i.keyword === 'ENTRYPOINT')).toHaveLength(1)
    expect(df.instructions.filter((i) => i.keyword === 'CMD')).toEqual([])
  })

  test('a non-root USER after the install', () => {
    const keywords = runtime.instructions.map((i) => i.keyword)
    const install = runtime.instructions.indexOf(pipRun(runtime, 'install').instruction)
    const userAt = keywords.lastIndexOf('USER')
    expect(userAt).toBeGreaterThan(install)
    const [user, group] = (runtime.instructions[userAt]?.args ?? '').split(':')
    expect(user).toMatch(/^\S+$/)
    expect(['root', '0']).not.toContain(user)
    expect(['root', '0']).not.toContain(group)
  })

  test('every RUN and ENTRYPOINT is exec form; only RUN has flags, and only mounts', () => {
    for (const i of df.instructions.filter((x) => ['RUN', 'ENTRYPOINT'].includes(x.keyword))) {
      expect(() => execForm(i)).not.toThrow()
      expect(i.flags.every((f) => f.name === 'mount')).toBe(true)
    }
  })

  test('apt packages are separate elements after the fixed script', () => {
    for (const [s, packages] of [
      [base, spec.buildPackages],
      [runtime, spec.runtimePackages]
    ] as const) {
      const apt = s.instructions
        .filter((i) => i.keyword === 'RUN')
        .map(execForm)
        .filter((argv) => argv[0] === '/bin/sh')
      if (packages.length === 0) {
        expect(apt).toEqual([])
        continue
      }
      expect(apt).toEqual([['/bin/sh', '-c', APT_SCRIPT, 'apt-install', ...packages]])
      // the apt RUN comes right after FROM, before pip
      expect(s.instructions[1]?.keyword).toBe('RUN')
      expect(execForm(s.instructions[1] as (typeof s.instructions)[number])[0]).toBe('/bin/sh')
    }
  })

  test('the secret mount only with extraIndex, and no URL anywhere', () => {
    const secrets = df.instructions.flatMap(mounts).filter((m) => m.startsWith('type=secret'))
    expect(secrets).toEqual(
      spec.extraIndex ? [`type=secret,id=${PIP_CONF_SECRET},target=/etc/pip.conf`] : []
    )
    expect(mounts(pipRun(base, 'wheel').instruction)).toEqual(expect.arrayContaining(secrets))
    expect(text).not.toMatch(/:\/\//)
    expect(text).not.toMatch(/https?:/i)
  })

  test('only FROM, RUN, COPY, USER, ENTRYPOINT; no ARG, ENV or shell form', () => {
    const allowed = new Set(['FROM', 'RUN', 'COPY', 'USER', 'ENTRYPOINT'])
    expect(df.instructions.every((i) => allowed.has(i.keyword))).toBe(true)
  })
})

describe('renderDockerfile', () => {
  test('the apt script is the same whatever the packages', () => {
    const scripts = (spec: DockerfileSpec): string[] =>
      parseDockerfile(renderDockerfile(spec))
        .instructions.filter((i) => i.keyword === 'RUN')
        .map(execForm)
        .filter((a) => a[0] === '/bin/sh')
        .map((a) => a[2] ?? '')
    const a = scripts({ ...plain, buildPackages: ['gcc'], runtimePackages: ['libpq5'] })
    const b = scripts({
      ...plain,
      buildPackages: ['libxml2-dev', 'x11-common'],
      runtimePackages: ['zlib1g']
    })
    expect(a).toEqual([APT_SCRIPT, APT_SCRIPT])
    expect(b).toEqual(a)
  })

  test('a parent changes only the base FROM and its comment', () => {
    const own = renderDockerfile(plain).split('\n')
    const child = renderDockerfile({
      ...plain,
      baseFrom: 'ghcr.io/o/p:1-base',
      fromParent: true
    }).split('\n')
    const diff = own.flatMap((line, i) => (line !== child[i] ? [i] : []))
    expect(diff).toHaveLength(2)
    expect(child[diff[1] ?? -1]).toBe('FROM ghcr.io/o/p:1-base AS base')
    expect(child[diff[0] ?? -1]).toMatch(/^# .*parent/)
  })

  test('instructions start at column 0; continuation lines hold only flags and the argv', () => {
    const text = renderDockerfile(SPECS[SPECS.length - 1]?.[1] ?? plain)
    const lines = text.split('\n')
    const starts = lines.filter((l) => /^[A-Z]/.test(l))
    expect(starts).toHaveLength(parseDockerfile(text).instructions.length)
    for (const l of lines.filter((x) => /^\s/.test(x))) expect(l).toMatch(/^ {4}(--mount=|\[)/)
    expect(text.endsWith('\n')).toBe(true)
  })
})
