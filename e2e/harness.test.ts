// Tests of the e2e support code itself, so a failing action test points at the action.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { docker, DockerError, dockerBin, runImage } from './support/docker.js'
import { BUILDER_IMAGE, buildFixtureDist, fixtureVersion } from './support/fixtures.js'
import {
  fetchBlob,
  getManifest,
  isIndex,
  layerBlobs,
  layerFiles,
  listTags,
  parseRef,
  platformsOf,
  REGISTRY
} from './support/registry.js'
import { parseFileCommand, REPO_ROOT, runAction } from './support/runner.js'

const scratch: string[] = []
async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `wsa-harness-${prefix}-`))
  scratch.push(dir)
  return dir
}
afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true })
})

async function writeAction(files: Record<string, string>): Promise<string> {
  const dir = await tempDir('action')
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text)
  return dir
}

describe('parseFileCommand', () => {
  test('reads name=value and heredoc entries as the runner does', () => {
    const text = 'a=1=2\r\nmulti<<EOF\nx\n\ny=z\nEOF\n\nempty<<D\nD\nheredoc<<EOF\nlast\nEOF'
    expect(parseFileCommand(text)).toEqual({
      a: '1=2',
      multi: 'x\n\ny=z',
      empty: '',
      heredoc: 'last'
    })
  })

  test('rejects a heredoc without its delimiter and a line without a name', () => {
    expect(() => parseFileCommand('v<<EOF\nvalue\n')).toThrow(/delimiter 'EOF' not found/)
    expect(() => parseFileCommand('=x\n')).toThrow(/name must not be empty/)
    expect(() => parseFileCommand('just text\n')).toThrow(/invalid line/)
  })
})

describe('runAction against a throwaway action', () => {
  const actionYml = (postIf: string) => `
name: throwaway
inputs:
  python-version: { default: '3.11' }
  who: { required: true }
  fail: { default: 'false' }
  with space: { default: 'spaced' }
  repo: { default: '\${{ github.repository }}' }
  nothing: { required: false }
runs:
  using: node24
  main: main.mjs
  post: post.mjs
  post-if: ${postIf}
`
  // Plain fs writes, in the heredoc format @actions/core uses, so nothing but the runner is tested.
  const plainMain = `
import fs from 'node:fs'
const add = (file, text) => fs.appendFileSync(process.env[file], text + '\\n')
const event = JSON.parse(fs.readFileSync(process.env.GITHUB_EVENT_PATH, 'utf8'))
const inputs = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('INPUT_')))
add('GITHUB_OUTPUT', 'plain=a=b')
add('GITHUB_OUTPUT', 'multi<<ghadelimiter_1\\nline one\\nline two\\nghadelimiter_1')
add('GITHUB_OUTPUT', 'seen=' + JSON.stringify({ inputs, cwd: process.cwd(), ref: event.ref,
  nodeOptions: process.env.NODE_OPTIONS ?? null, custom: process.env.CUSTOM,
  leaked: process.env.INPUT_LEAK ?? null, repo: process.env.GITHUB_REPOSITORY }))
add('GITHUB_STATE', 'saved<<S\\nfirst\\nsecond\\nS')
add('GITHUB_ENV', 'FROM_MAIN=hello')
add('GITHUB_PATH', '/opt/added')
add('GITHUB_STEP_SUMMARY', '# main summary')
console.log('::warning::careful%0Anow')
if (process.env.INPUT_FAIL === 'true') {
  console.log('::error file=main.mjs,line=1::it broke: 100%25')
  process.exitCode = 1
}
`
  const plainPost = `
import fs from 'node:fs'
console.log(JSON.stringify({ state: process.env.STATE_saved, env: process.env.FROM_MAIN,
  path0: process.env.PATH.split(':')[0], who: process.env.INPUT_WHO }))
fs.appendFileSync(process.env.GITHUB_STEP_SUMMARY, '# post summary\\n')
`
  let workspace: string
  beforeAll(async () => {
    workspace = await tempDir('workspace')
    process.env.INPUT_LEAK = 'from the test process' // must not reach the action
  })
  afterAll(() => {
    delete process.env.INPUT_LEAK
  })

  test('sets inputs and runner variables, parses outputs/state, runs post with STATE_*', async () => {
    const actionDir = await writeAction({
      'action.yml': actionYml('success()'),
      'main.mjs': plainMain,
      'post.mjs': plainPost
    })
    const run = await runAction({
      actionDir,
      workspace,
      inputs: { who: 'me', 'with space': 'given' },
      ref: 'refs/tags/v1.2.3',
      env: { CUSTOM: 'yes' }
    })

    expect(run.exitCode).toBe(0)
    expect(run.failed).toBe(false)
    expect(run.outputs.plain).toBe('a=b')
    expect(run.outputs.multi).toBe('line one\nline two')
    expect(JSON.parse(run.outputs.seen ?? '')).toEqual({
      inputs: {
        'INPUT_PYTHON-VERSION': '3.11',
        INPUT_WHO: 'me',
        INPUT_FAIL: 'false',
        INPUT_WITH_SPACE: 'given',
        INPUT_REPO: 'acme/app'
      },
      cwd: workspace,
      ref: 'refs/tags/v1.2.3',
      nodeOptions: null,
      custom: 'yes',
      leaked: null,
      repo: 'acme/app'
    })
    expect(run.state).toEqual({ saved: 'first\nsecond' })
    expect(run.exportedEnv).toEqual({ FROM_MAIN: 'hello' })
    expect(run.addedPath).toEqual(['/opt/added'])
    expect(run.warnings).toEqual(['careful\nnow'])
    expect(run.errors).toEqual([])
    expect(run.summary).toBe('# main summary\n# post summary\n')
    expect(run.post?.exitCode).toBe(0)
    expect(JSON.parse(run.post?.stdout ?? '')).toEqual({
      state: 'first\nsecond',
      env: 'hello',
      path0: '/opt/added',
      who: 'me'
    })
    expect(await readFile(run.logFile, 'utf8')).toContain('::warning::careful%0Anow')
  })

  test('post-if success() skips post after a failed main; errors are collected', async () => {
    const actionDir = await writeAction({
      'action.yml': actionYml('success()'),
      'main.mjs': plainMain,
      'post.mjs': plainPost
    })
    const run = await runAction({
      actionDir,
      workspace,
      inputs: { who: 'me', fail: 'true' }
    })
    expect(run.failed).toBe(true)
    expect(run.exitCode).toBe(1)
    expect(run.errors).toEqual(['it broke: 100%'])
    expect(run.post).toBeUndefined()
  })

  test('post-if always() runs post after a failed main; post: false skips it', async () => {
    const actionDir = await writeAction({
      'action.yml': actionYml('always()'),
      'main.mjs': plainMain,
      'post.mjs': plainPost
    })
    const inputs = { who: 'me', fail: 'true' }
    expect((await runAction({ actionDir, workspace, inputs })).post?.exitCode).toBe(0)
    expect((await runAction({ actionDir, workspace, inputs, post: false })).post).toBeUndefined()
  })

  test('an input action.yml does not declare fails the test', async () => {
    const actionDir = await writeAction({
      'action.yml': actionYml('always()'),
      'main.mjs': plainMain,
      'post.mjs': plainPost
    })
    await expect(
      runAction({
        actionDir,
        workspace,
        inputs: { who: 'me', pyhton: '3.12' }
      })
    ).rejects.toThrow(/pyhton not declared/)
  })

  test('round-trips what @actions/core 3 writes and reads', async () => {
    const core = pathToFileURL(path.join(REPO_ROOT, 'node_modules/@actions/core/lib/core.js'))
    const actionDir = await writeAction({
      'action.yml': `
inputs:
  python-version: { default: '3.11' }
runs: { using: node24, main: main.mjs, post: post.mjs }
`,
      'main.mjs': `
import * as core from '${core.href}'
core.setOutput('python', core.getInput('python-version', { required: true }))
core.setOutput('multi', 'a\\nb=c\\n')
core.setOutput('json', { tags: ['x:1', 'x:latest'] })
core.saveState('key', 'k=1\\nrest')
core.exportVariable('EXPORTED', 'yes')
core.warning('a warning')
await core.summary.addHeading('Built').write()
core.setFailed('boom: 50%')
`,
      'post.mjs': `
import * as core from '${core.href}'
core.info('post saw ' + JSON.stringify([core.getState('key'), process.env.EXPORTED]))
`
    })
    const run = await runAction({
      actionDir,
      workspace,
      inputs: { 'python-version': '3.12' }
    })
    expect(run.failed).toBe(true)
    expect(run.outputs).toEqual({
      python: '3.12',
      multi: 'a\nb=c\n',
      json: '{"tags":["x:1","x:latest"]}'
    })
    expect(run.state).toEqual({ key: 'k=1\nrest' })
    expect(run.exportedEnv).toEqual({ EXPORTED: 'yes' })
    expect(run.errors).toEqual(['boom: 50%'])
    expect(run.warnings).toEqual(['a warning'])
    expect(run.summary).toBe('<h1>Built</h1>\n')
    // post-if defaults to always(), so post runs after the failure.
    expect(run.post?.stdout).toContain('post saw ["k=1\\nrest","yes"]')
  })
})

describe('docker wrapper', () => {
  test('finds a client that reaches the engine and reports failures clearly', async () => {
    expect(dockerBin()).toMatch(/docker$/)
    const { stdout } = await docker(['version', '--format', '{{.Server.Version}}'])
    expect(stdout.trim()).toMatch(/^\d+\.\d+/)
    const failure = docker(['image', 'inspect', `${REGISTRY}/wsa-no-such-image:nope`])
    await expect(failure).rejects.toBeInstanceOf(DockerError)
    await expect(failure).rejects.toThrow(/docker image inspect .* failed \(exit 1\)/)
  })
})

describe('fixture packages', () => {
  const pip = 'python3 -m pip install -q --no-index --find-links /dist --no-build-isolation'
  const installAndRun = `${pip} --root-user-action=ignore --disable-pip-version-check wsa-derived \
&& python3 -m wsa_derived && python3 -m wsa_service`
  let dist: string
  let built: string[]

  beforeAll(async () => {
    dist = await tempDir('dist')
    built = [
      ...(await buildFixtureDist('service', dist)),
      ...(await buildFixtureDist('derived', dist))
    ]
  })

  test('buildFixtureDist returns the sdists it wrote, the same bytes each time', async () => {
    expect(await fixtureVersion('service')).toBe('1.0.0')
    expect(built.sort()).toEqual(['wsa-derived-1.0.0.tar.gz', 'wsa-service-1.0.0.tar.gz'])
    const again = await tempDir('again')
    await buildFixtureDist('service', again)
    const file = 'wsa-service-1.0.0.tar.gz'
    expect(await readFile(path.join(again, file))).toEqual(await readFile(path.join(dist, file)))
  })

  test('both install from the dist dir by name and run on linux/amd64', async () => {
    const { stdout } = await runImage(BUILDER_IMAGE, 'linux/amd64', ['sh', '-c', installAndRun], {
      runArgs: ['-v', `${dist}:/dist:ro`],
      pull: 'missing'
    })
    expect(stdout.trim().split('\n')).toEqual([
      'wsa-derived 1.0.0 ok 35 wsa-service 1.0.0 x86_64',
      'wsa-service 1.0.0 ok 5 x86_64'
    ])
  })

  test('a bumped service version is what gets installed', async () => {
    const bumped = await tempDir('bumped')
    await buildFixtureDist('derived', bumped)
    await buildFixtureDist('service', bumped)
    expect(await buildFixtureDist('service', bumped, { version: '1.1.0' })).toEqual([
      'wsa-service-1.1.0.tar.gz'
    ])
    await expect(buildFixtureDist('service', bumped, { version: "1'; x" })).rejects.toThrow(
      /not a PEP 440 version/
    )
    const { stdout } = await runImage(BUILDER_IMAGE, 'linux/amd64', ['sh', '-c', installAndRun], {
      runArgs: ['-v', `${bumped}:/dist:ro`],
      pull: 'missing'
    })
    expect(stdout).toContain('wsa-derived 1.0.0 ok 35 wsa-service 1.1.0 x86_64')
  })

  test('the C extensions compile and run on linux/arm/v7 (QEMU)', async () => {
    const t0 = Date.now()
    const { stdout } = await runImage(BUILDER_IMAGE, 'linux/arm/v7', ['sh', '-c', installAndRun], {
      runArgs: ['-v', `${dist}:/dist:ro`],
      pull: 'missing'
    })
    console.log(`arm/v7 pip install + run in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
    expect(stdout.trim().split('\n')).toEqual([
      'wsa-derived 1.0.0 ok 35 wsa-service 1.0.0 armv7l',
      'wsa-service 1.0.0 ok 5 armv7l'
    ])
  })
})

describe('registry helpers', () => {
  const repo = 'wsa-harness-test'
  const ref = `${REGISTRY}/${repo}:t1`

  beforeAll(async () => {
    const context = await tempDir('image')
    await mkdir(path.join(context, 'files'))
    await writeFile(path.join(context, 'files', 'hello.txt'), 'hello\n')
    await writeFile(
      path.join(context, 'Dockerfile'),
      `FROM ${REGISTRY}/python:3.11-slim\nLABEL wsa.test=harness\nCOPY files/ /opt/wsa/\n`
    )
    await docker([
      'buildx',
      'build',
      '--platform',
      'linux/amd64,linux/arm/v7',
      '--provenance=false',
      '--push',
      '-t',
      ref,
      context
    ])
  })

  test('parseRef splits registry references', () => {
    expect(parseRef(ref)).toEqual({ repo, reference: 't1' })
    expect(parseRef('a/b@sha256:00')).toEqual({
      repo: 'a/b',
      reference: 'sha256:00'
    })
    expect(parseRef('python')).toEqual({ repo: 'python', reference: 'latest' })
    expect(() => parseRef('ghcr.io/acme/app:1')).toThrow(/not on the e2e registry/)
  })

  test('tags, index, digest and platforms', async () => {
    expect(await listTags(repo)).toContain('t1')
    expect(await listTags('wsa-never-pushed')).toEqual([])
    const index = await getManifest(ref)
    expect(isIndex(index)).toBe(true)
    expect(index.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect((await getManifest(`${repo}@${index.digest}`)).digest).toBe(index.digest)
    expect((await platformsOf(ref)).sort()).toEqual(['linux/amd64', 'linux/arm/v7'])
    await expect(layerBlobs(ref, 'linux/s390x')).rejects.toThrow(/has no linux\/s390x image/)
  })

  test('layers and config of one platform', async () => {
    const layers = await layerBlobs(ref, 'linux/arm/v7')
    expect(layers.length).toBeGreaterThan(1)
    const top = layers[layers.length - 1]
    if (!top) throw new Error('no layers')
    expect(await layerFiles(repo, top)).toEqual(expect.arrayContaining(['opt/wsa/hello.txt']))
    const bottom = layers[0]
    if (!bottom) throw new Error('no layers')
    expect(await layerFiles(repo, bottom)).toContain('etc/debian_version')

    const arm = (await getManifest(ref)).manifest.manifests?.find(
      (d) => d.platform?.architecture === 'arm'
    )
    const manifest = await getManifest(`${repo}@${arm?.digest}`)
    const configDigest = manifest.manifest.config?.digest ?? ''
    const config = JSON.parse((await fetchBlob(repo, configDigest)).toString('utf8'))
    expect(config.config.Labels['wsa.test']).toBe('harness')
    expect(config.variant).toBe('v7')
  })

  test('the pushed arm/v7 image runs under QEMU', async () => {
    const { stdout } = await runImage(ref, 'linux/arm/v7', [
      'sh',
      '-c',
      'uname -m; cat /opt/wsa/hello.txt'
    ])
    expect(stdout).toBe('armv7l\nhello\n')
  })
})
