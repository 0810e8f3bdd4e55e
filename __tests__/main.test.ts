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
import { execForm, mounts, parseDockerfile, stage, toolRun } from '../__fixtures__/dockerfile.js'
import { RawInputs } from '../__fixtures__/inputs.js'
import type { CleanupState } from '../src/cleanup.js'
import { OUTPUT_NAMES, State, TOOLS_CONTEXT } from '../src/constants.js'
import { STAGE_NAMES } from '../src/dockerfile.js'

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

/** Every cleanup state main saved, parsed, in order. */
const cleanupStates = (): CleanupState[] =>
  core.saveState.mock.calls
    .filter(([name]) => name === State.Cleanup)
    .map(([, value]) => JSON.parse(String(value)) as CleanupState)

describe('run: dockerfile-only', () => {
  test('writes the Dockerfile, the stage script and every output', async () => {
    useInputs({ 'dockerfile-only': 'true' })
    await run()

    expect(failures()).toEqual([])
    expect(core.setOutput.mock.calls.map(([name]) => name)).toEqual([...OUTPUT_NAMES])
    const out = outputs()
    expect(out['platforms']).toBe('linux/amd64,linux/arm/v7')
    expect(out['tags']).toBe('')
    expect(out['digest']).toBe('')
    expect(out['wheels-built']).toBe('')
    expect(out['cache-hit']).toBe('false')
    expect(JSON.parse(out['metadata'] ?? '')).toMatchObject({
      package: { name: 'my-app', version: '1.0.0', module: 'my_app' },
      pushed: false
    })

    const path = out['dockerfile'] ?? ''
    const tempDir = dirname(path)
    expect(dirname(tempDir)).toBe(runnerTemp)
    expect(existsSync(path)).toBe(true)
    expect(readFileSync(`${path}.dockerignore`, 'utf8').split('\n')).toContain('.wheel-slim-cache')
    // the build contexts a docker/build-push-action step needs next to the Dockerfile
    expect(out['build-contexts']).toBe(`${TOOLS_CONTEXT}=${join(tempDir, 'tools')}`)
    const script = readFileSync(join(tempDir, 'tools', 'wheel_slim.py'), 'utf8')
    expect(script).toBe(
      readFileSync(new URL('../src/tools/wheel_slim.py', import.meta.url), 'utf8')
    )

    const text = readFileSync(path, 'utf8')
    const df = parseDockerfile(text)
    expect(df.stages.map((s) => s.name)).toEqual(STAGE_NAMES)
    expect(toolRun(stage(df, 'resolve')).config['own']).toEqual(['my_app-1.0.0.tar.gz'])
    const last = df.instructions.at(-1)
    expect(last?.keyword).toBe('ENTRYPOINT')
    expect(last && execForm(last)).toEqual(['python3', '-m', 'my_app'])
    // dockerfile-only builds nothing: no wheel cache context
    expect(df.instructions.flatMap(mounts).filter((m) => m.includes('wheelcache'))).toEqual([])

    expect(core.summary.addCodeBlock).toHaveBeenCalledWith(text, 'dockerfile')
    expect(core.summary.write).toHaveBeenCalledTimes(1)
    expect(core.saveState).toHaveBeenCalledWith(State.IsPost, 'true')
  })

  test('the temp directory is recorded for post the moment it exists, before any output', async () => {
    useInputs({ 'dockerfile-only': 'true' })
    await run()
    expect(failures()).toEqual([])
    const tempDir = dirname(outputs()['dockerfile'] ?? '')
    expect(cleanupStates()).toEqual([{ localImages: [], dirs: [tempDir] }])
    const saved = core.saveState.mock.calls.findIndex(([name]) => name === State.Cleanup)
    const savedAt = core.saveState.mock.invocationCallOrder[saved] ?? Infinity
    expect(savedAt).toBeLessThan(Math.min(...core.setOutput.mock.invocationCallOrder))
    expect(savedAt).toBeLessThan(Math.min(...core.summary.addHeading.mock.invocationCallOrder))
  })

  test('a failure after the temp directory exists still leaves post what to remove', async () => {
    // an empty dist is found out by the plan, after the temp directory was made
    rmSync(join(workspace, 'dist', 'my_app-1.0.0.tar.gz'))
    useInputs({ 'dockerfile-only': 'true' })
    await run()
    expect(failures()).toEqual([expect.stringMatching(/^Input "dist": "dist" is not valid/)])
    const made = readdirSync(runnerTemp).map((d) => join(runnerTemp, d))
    expect(cleanupStates().at(-1)?.dirs ?? []).toEqual(made)
  })

  test('with an image and a tag, the outputs carry the references', async () => {
    useInputs({ 'dockerfile-only': 'true', image: 'ghcr.io/org/app', tags: '1.0,latest' })
    await run()
    expect(failures()).toEqual([])
    expect(outputs()['tags']).toBe('ghcr.io/org/app:1.0\nghcr.io/org/app:latest')
    expect(outputs()['base-tags']).toBe('ghcr.io/org/app:1.0-base\nghcr.io/org/app:latest-base')
  })

  test('the requirements file pinning hashes reaches the plan', async () => {
    writeFileSync(
      join(workspace, 'requirements.txt'),
      'six==1.16.0 \\\n    --hash=sha256:' + 'a'.repeat(64) + '\n'
    )
    useInputs({ 'dockerfile-only': 'true', requirements: 'requirements.txt' })
    await run()
    expect(failures()).toEqual([])
    const df = parseDockerfile(readFileSync(outputs()['dockerfile'] ?? '', 'utf8'))
    expect(toolRun(stage(df, 'resolve')).config['hashes']).toBe(true)
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

  test('is masked, with its password alone, before anything else; only pip.conf has it', async () => {
    useInputs({ 'dockerfile-only': 'true', 'extra-index-url': URL_WITH_TOKEN })
    await run()
    expect(failures()).toEqual([])
    expect(core.setSecret.mock.calls).toEqual([[URL_WITH_TOKEN], ['s3cr3t-t0ken']])
    const masked = Math.max(...core.setSecret.mock.invocationCallOrder)
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

    const tempDir = dirname(outputs()['dockerfile'] ?? '')
    const pipConf = join(tempDir, 'pip.conf')
    expect(readFileSync(pipConf, 'utf8')).toBe(`[global]\nextra-index-url = ${URL_WITH_TOKEN}\n`)
    expect(statSync(pipConf).mode & 0o777).toBe(0o600)
    // pip.conf lives in the recorded temp directory: post removes it
    expect(cleanupStates().at(-1)?.dirs).toEqual([tempDir])

    const dockerfile = readFileSync(outputs()['dockerfile'] ?? '', 'utf8')
    expect(dockerfile).not.toContain('s3cr3t')
    expect(dockerfile).toContain('type=secret')
    const said = JSON.stringify([
      core.info.mock.calls,
      core.setOutput.mock.calls,
      core.saveState.mock.calls,
      core.summary.addRaw.mock.calls,
      core.summary.addCodeBlock.mock.calls
    ])
    expect(said).not.toContain('s3cr3t')
  })

  test.each<[string, string, string[]]>([
    ['no password', 'https://pkgs.example.org/simple', []],
    ['a user name only', 'https://tok3n@pkgs.example.org/simple', []],
    ['a percent-encoded password', 'https://u:p%40ss%2Fw0rd@pkgs.example.org/simple', ['p@ss/w0rd']]
  ])('%s: the URL, and a password when there is one', async (_name, url, passwords) => {
    useInputs({ 'dockerfile-only': 'true', 'extra-index-url': url })
    await run()
    expect(failures()).toEqual([])
    expect(core.setSecret.mock.calls).toEqual([[url], ...passwords.map((p) => [p])])
  })

  test('a bad one is masked too, password included, and never echoed', async () => {
    const bad = 'ftp://user:s3cr3t-t0ken@pkgs.example.org/simple'
    useInputs({ 'dockerfile-only': 'true', 'extra-index-url': bad })
    await run()
    expect(core.setSecret.mock.calls).toEqual([[bad], ['s3cr3t-t0ken']])
    expect(failures()).toEqual([
      'Input "extra-index-url": "***" is not valid; expected an http(s) URL of a package index.'
    ])
  })

  test('no extra-index-url: nothing is masked, no pip.conf', async () => {
    useInputs({ 'dockerfile-only': 'true' })
    await run()
    expect(failures()).toEqual([])
    expect(core.setSecret).not.toHaveBeenCalled()
    expect(existsSync(join(dirname(outputs()['dockerfile'] ?? ''), 'pip.conf'))).toBe(false)
  })
})

describe('run: post', () => {
  test('removes the directories main recorded and reads no input', async () => {
    useInputs({ 'dockerfile-only': 'true', 'extra-index-url': 'https://u:p@x.example/simple' })
    await run()
    expect(failures()).toEqual([])
    const state = core.saveState.mock.calls.filter(([name]) => name === State.Cleanup).at(-1)?.[1]
    const tempDir = dirname(outputs()['dockerfile'] ?? '')
    expect(existsSync(join(tempDir, 'pip.conf'))).toBe(true)

    jest.resetAllMocks()
    core.installDefaults()
    const saved: Record<string, string> = { [State.IsPost]: 'true', [State.Cleanup]: String(state) }
    core.getState.mockImplementation((name) => saved[name] ?? '')
    await run()
    expect(failures()).toEqual([])
    expect(existsSync(tempDir)).toBe(false)
    expect(readdirSync(runnerTemp)).toEqual([])
    expect(core.getInput).not.toHaveBeenCalled()
    expect(core.setOutput).not.toHaveBeenCalled()
    expect(core.saveState).not.toHaveBeenCalled()
  })

  test('every recorded directory goes, and one that is gone already is no error', async () => {
    const dirs = ['a', 'b'].map((n) => join(runnerTemp, n))
    for (const d of dirs) mkdirSync(join(d, 'sub'), { recursive: true })
    const saved: Record<string, string> = {
      [State.IsPost]: 'true',
      [State.Cleanup]: JSON.stringify({
        localImages: [],
        dirs: [...dirs, join(runnerTemp, 'never-made')]
      })
    }
    core.getState.mockImplementation((name) => saved[name] ?? '')
    await run()
    expect(failures()).toEqual([])
    expect(readdirSync(runnerTemp)).toEqual([])
  })

  test('no state at all (main failed before recording anything): nothing to do', async () => {
    core.getState.mockImplementation((name) => (name === State.IsPost ? 'true' : ''))
    await run()
    expect(failures()).toEqual([])
    expect(core.getInput).not.toHaveBeenCalled()
  })
})
