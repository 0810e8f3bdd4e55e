/** main.ts's glue: inputs in, outputs/secrets/failures out, through a faked @actions/core. */
import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import * as core from '../__fixtures__/core.js'
import { execForm, mounts, parseDockerfile, pipRun, stage } from '../__fixtures__/dockerfile.js'
import { RawInputs } from '../__fixtures__/inputs.js'
import { OUTPUT_NAMES, State } from '../src/constants.js'

jest.unstable_mockModule('@actions/core', () => core)
delete process.env['GITHUB_EVENT_PATH']
const { run } = await import('../src/main.js')

const ENV_KEYS = [
  'GITHUB_WORKSPACE',
  'RUNNER_TEMP',
  'GITHUB_EVENT_NAME',
  'GITHUB_REF',
  'GITHUB_SHA',
  'GITHUB_REPOSITORY'
] as const
const savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]))

let workspace: string
let runnerTemp: string

function useInputs(values: RawInputs): void {
  core.getInput.mockImplementation((name) => values[name as keyof RawInputs] ?? '')
}

const failures = (): string[] => core.setFailed.mock.calls.map(([m]) => String(m))
const outputs = (): Record<string, string> =>
  Object.fromEntries(core.setOutput.mock.calls.map(([n, v]) => [n, String(v)]))

beforeEach(() => {
  jest.resetAllMocks()
  core.installDefaults()
  workspace = mkdtempSync(join(tmpdir(), 'wsa-main-ws-'))
  runnerTemp = mkdtempSync(join(tmpdir(), 'wsa-main-tmp-'))
  mkdirSync(join(workspace, 'dist'))
  writeFileSync(join(workspace, 'dist', 'my_app-1.0.0.tar.gz'), 'not really a tarball')
  Object.assign(process.env, {
    GITHUB_WORKSPACE: workspace,
    RUNNER_TEMP: runnerTemp,
    GITHUB_EVENT_NAME: 'push',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_REPOSITORY: 'org/app'
  })
})

afterEach(() => {
  rmSync(workspace, { recursive: true, force: true })
  rmSync(runnerTemp, { recursive: true, force: true })
  for (const k of ENV_KEYS) {
    if (savedEnv[k] === undefined) delete process.env[k]
    else process.env[k] = savedEnv[k]
  }
})

describe('run: dockerfile-only', () => {
  test('writes the Dockerfile and sets every output', async () => {
    useInputs({ 'dockerfile-only': 'true' })
    await run()

    expect(failures()).toEqual([])
    expect(core.setOutput.mock.calls.map(([name]) => name)).toEqual([...OUTPUT_NAMES])
    const out = outputs()
    expect(out['platforms']).toBe('linux/amd64,linux/arm/v7')
    expect(out['tags']).toBe('')
    expect(out['digest']).toBe('')
    expect(JSON.parse(out['metadata'] ?? '')).toMatchObject({
      package: { name: 'my-app', version: '1.0.0', module: 'my_app' },
      pushed: false
    })

    const path = out['dockerfile'] ?? ''
    expect(dirname(dirname(path))).toBe(runnerTemp)
    expect(existsSync(path)).toBe(true)
    expect(existsSync(`${path}.dockerignore`)).toBe(true)
    const text = readFileSync(path, 'utf8')
    const df = parseDockerfile(text)
    expect(df.stages.map((s) => s.name)).toEqual(['base', 'wheels', 'runtime'])
    const install = pipRun(stage(df, 'runtime'), 'install')
    expect(install.argv).toContain('--no-index')
    expect(mounts(install.instruction)).toContain(
      'type=bind,from=base,source=/wheeley,target=/wheeley'
    )
    const last = df.instructions.at(-1)
    expect(last?.keyword).toBe('ENTRYPOINT')
    expect(last && execForm(last)).toEqual(['python3', '-m', 'my_app'])
    // dockerfile-only builds nothing: no wheel cache mount
    expect(mounts(pipRun(stage(df, 'base'), 'wheel').instruction).join()).not.toContain(
      'wheelcache'
    )

    expect(core.summary.addCodeBlock).toHaveBeenCalledWith(text, 'dockerfile')
    expect(core.summary.write).toHaveBeenCalledTimes(1)
    expect(core.saveState).toHaveBeenCalledWith(State.IsPost, 'true')
    expect(core.saveState).not.toHaveBeenCalledWith(State.Cleanup, expect.anything())
  })

  test('with an image and a tag, the outputs carry the references', async () => {
    useInputs({ 'dockerfile-only': 'true', image: 'ghcr.io/org/app', tags: '1.0,latest' })
    await run()
    expect(failures()).toEqual([])
    expect(outputs()['tags']).toBe('ghcr.io/org/app:1.0\nghcr.io/org/app:latest')
    expect(outputs()['base-tags']).toBe('ghcr.io/org/app:1.0-base\nghcr.io/org/app:latest-base')
  })
})

describe('run: failures', () => {
  test.each(['x;rm -rf /', 'a\nRUN evil', '$(id)', '"quoted"', '../etc', '--mount=type=bind'])(
    'a hostile package %j fails before anything is written',
    async (value) => {
      useInputs({ 'dockerfile-only': 'true', package: value })
      await run()
      expect(core.setFailed).toHaveBeenCalledTimes(1)
      const [message] = failures()
      expect(message).toContain('Input "package"')
      expect(message).toContain(JSON.stringify(value))
      expect(message).not.toMatch(/[\r\n]/)
      expect(readdirSync(runnerTemp)).toEqual([])
      expect(core.setOutput).not.toHaveBeenCalled()
      expect(core.summary.write).not.toHaveBeenCalled()
    }
  )

  test('a missing dist directory names "dist"', async () => {
    rmSync(join(workspace, 'dist'), { recursive: true })
    useInputs({ 'dockerfile-only': 'true' })
    await run()
    expect(core.setFailed).toHaveBeenCalledTimes(1)
    expect(failures()[0]).toMatch(/^Input "dist": "dist" is not valid; expected a directory/)
    expect(readdirSync(runnerTemp)).toEqual([])
    expect(core.setOutput).not.toHaveBeenCalled()
  })

  test('a dist that is a file names "dist"', async () => {
    writeFileSync(join(workspace, 'out'), '')
    useInputs({ 'dockerfile-only': 'true', dist: 'out' })
    await run()
    expect(failures()).toEqual([expect.stringMatching(/^Input "dist": "out" is not valid/)])
  })

  test('an empty dist directory names "dist"', async () => {
    rmSync(join(workspace, 'dist', 'my_app-1.0.0.tar.gz'))
    useInputs({ 'dockerfile-only': 'true' })
    await run()
    expect(failures()).toEqual([expect.stringMatching(/^Input "dist": "dist" is not valid/)])
  })

  test('a missing requirements file names "requirements"', async () => {
    useInputs({ 'dockerfile-only': 'true', requirements: 'requirements.txt' })
    await run()
    expect(failures()).toEqual([
      expect.stringMatching(/^Input "requirements": "requirements.txt" is not valid/)
    ])
  })

  test('no image when building names "image"', async () => {
    useInputs({})
    await run()
    expect(failures()).toEqual([expect.stringMatching(/^Input "image": "" is not valid/)])
  })
})

describe('run: extra-index-url', () => {
  const URL_WITH_TOKEN = 'https://user:s3cr3t-t0ken@pkgs.example.org/simple'

  test('is masked before anything else and only reaches the pip.conf secret', async () => {
    useInputs({ 'dockerfile-only': 'true', 'extra-index-url': URL_WITH_TOKEN })
    await run()
    expect(failures()).toEqual([])
    expect(core.setSecret).toHaveBeenCalledWith(URL_WITH_TOKEN)
    const masked = core.setSecret.mock.invocationCallOrder[0] ?? Infinity
    const otherReads = core.getInput.mock.calls
      .map(([name], i) => [name, core.getInput.mock.invocationCallOrder[i] ?? 0] as const)
      .filter(([name]) => name !== 'extra-index-url')
      .map(([, order]) => order)
    const later = [
      ...otherReads,
      ...core.info.mock.invocationCallOrder,
      ...core.warning.mock.invocationCallOrder,
      ...core.setOutput.mock.invocationCallOrder,
      ...core.setFailed.mock.invocationCallOrder,
      ...core.summary.addHeading.mock.invocationCallOrder
    ]
    expect(later.length).toBeGreaterThan(0)
    expect(later.filter((order) => order < masked)).toEqual([])

    const pipConf = core.saveState.mock.calls.find(([name]) => name === State.SecretFile)?.[1]
    expect(typeof pipConf).toBe('string')
    expect(readFileSync(String(pipConf), 'utf8')).toBe(
      `[global]\nextra-index-url = ${URL_WITH_TOKEN}\n`
    )
    expect(statSync(String(pipConf)).mode & 0o777).toBe(0o600)

    const dockerfile = readFileSync(outputs()['dockerfile'] ?? '', 'utf8')
    expect(dockerfile).not.toContain('s3cr3t')
    expect(dockerfile).toContain('type=secret')
    const said = JSON.stringify([
      core.info.mock.calls,
      core.setOutput.mock.calls,
      core.summary.addRaw.mock.calls,
      core.summary.addCodeBlock.mock.calls
    ])
    expect(said).not.toContain('s3cr3t')
  })

  test('a bad one is masked too and never echoed', async () => {
    const bad = 'ftp://user:s3cr3t-t0ken@pkgs.example.org/simple'
    useInputs({ 'dockerfile-only': 'true', 'extra-index-url': bad })
    await run()
    expect(core.setSecret).toHaveBeenCalledWith(bad)
    expect(failures()).toEqual([
      'Input "extra-index-url": "***" is not valid; expected an http(s) URL of a package index.'
    ])
  })

  test('no extra-index-url: nothing is masked, no secret file', async () => {
    useInputs({ 'dockerfile-only': 'true' })
    await run()
    expect(core.setSecret).not.toHaveBeenCalled()
    expect(core.saveState).not.toHaveBeenCalledWith(State.SecretFile, expect.anything())
  })
})

describe('run: post', () => {
  test('removes the secret file and reads no input', async () => {
    const secret = join(runnerTemp, 'pip.conf')
    writeFileSync(secret, 'x')
    const state: Record<string, string> = {
      [State.IsPost]: 'true',
      [State.Cleanup]: JSON.stringify({ localImages: [] }),
      [State.SecretFile]: secret
    }
    core.getState.mockImplementation((name) => state[name] ?? '')
    await run()
    expect(failures()).toEqual([])
    expect(existsSync(secret)).toBe(false)
    expect(core.getInput).not.toHaveBeenCalled()
    expect(core.setOutput).not.toHaveBeenCalled()
    expect(core.saveState).not.toHaveBeenCalled()
  })
})
