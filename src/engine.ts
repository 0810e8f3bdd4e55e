/**
 * The engine side: QEMU for foreign platforms, then the builder and how its images are
 * delivered (loaded into the engine, or pushed by digest).
 */
import * as core from '@actions/core'
import { chooseBuilder, createBuilderArgv, Delivery, parseBuilderInfo } from './buildx.js'
import { Cleanup } from './cleanup.js'
import { docker } from './docker.js'
import { lastLines } from './output.js'
import { ensureQemu, Runs } from './qemu.js'

export interface Engine {
  /** undefined: the current builder. */
  builder?: string
  delivery: Delivery['kind']
  /** Per platform: native or emulated on this host. */
  runs: Record<string, Runs>
}

/** What this action uses of buildx (bake with named contexts, attestations, --metadata-file). */
export const MIN_BUILDX = [0, 11]

/** buildx's version from `docker buildx version` ("github.com/docker/buildx v0.13.1 …", "0.13.1+ds1"). */
export function buildxVersion(text: string): number[] | undefined {
  const m = /\bv?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text.replace(/^\S*buildx\S*\s+/, ''))
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined
}

/** Before anything else: a daemon that answers, and a buildx plugin new enough. */
async function checkDocker(): Promise<void> {
  const tail = (r: { stderr: string; stdout: string }): string =>
    lastLines(r.stderr || r.stdout, 2, ' ')
  const [server, bx] = await Promise.all([
    docker(['version', '--format', '{{.Server.Version}}'], { silent: true, allowFailure: true }),
    docker(['buildx', 'version'], { silent: true, allowFailure: true })
  ])
  if (server.exitCode !== 0) {
    throw new Error(
      `Docker: no daemon answers (${tail(server)}). GitHub's hosted runners run one; on your own runner start dockerd, or add docker/setup-docker-action before this step.`
    )
  }
  const version = bx.exitCode === 0 ? buildxVersion(bx.stdout) : undefined
  if (!version) {
    throw new Error(
      `Docker buildx is missing (${tail(bx)}). Add docker/setup-buildx-action before this step, or install the docker-buildx plugin.`
    )
  }
  const [major = 0, minor = 0] = version
  if (
    major < (MIN_BUILDX[0] as number) ||
    (major === MIN_BUILDX[0] && minor < (MIN_BUILDX[1] as number))
  ) {
    throw new Error(
      `Docker buildx ${version.join('.')} is older than ${MIN_BUILDX.join('.')}, which this action needs (bake with named contexts and attestations). Update it with docker/setup-buildx-action.`
    )
  }
}

export async function setUpEngine(
  platforms: string[],
  qemuImage: string,
  probeImage: string,
  network: 'default' | 'host' | 'none',
  runKey: string,
  cleanup: Cleanup
): Promise<Engine> {
  await checkDocker()
  const [runs, inspect, dockerInfo] = await Promise.all([
    ensureQemu(platforms, qemuImage, probeImage),
    docker(['buildx', 'inspect', '--bootstrap'], { silent: true }),
    docker(['info', '--format', '{{json .DriverStatus}}'], { silent: true, allowFailure: true })
  ])
  const info = parseBuilderInfo(inspect.stdout)
  const containerd = dockerInfo.stdout.includes('io.containerd.snapshotter')
  // ensureQemu has just checked that this host runs every platform.
  const choice = chooseBuilder(info, platforms, containerd, platforms)
  if (choice.use === 'current') {
    core.info(
      `buildx: builder "${info.name}" (driver ${info.driver}; ${info.platforms.join(', ')}); images are ${choice.delivery === 'load' ? 'loaded, tested, then pushed as tested' : 'pushed by digest, then tested by that digest'}`
    )
    return { delivery: choice.delivery, runs }
  }
  const name = `wheel-slim-${runKey}`
  core.info(`buildx: ${choice.reason}; creating a docker-container builder "${name}"`)
  cleanup.builder(name)
  await docker(createBuilderArgv(name, network))
  return { builder: name, delivery: 'digest', runs }
}
