/**
 * The engine side: QEMU for foreign platforms, then the builder and how its images are
 * delivered (loaded into the engine, or pushed by digest).
 */
import * as core from '@actions/core'
import { chooseBuilder, createBuilderArgv, Delivery, parseBuilderInfo } from './buildx.js'
import { Cleanup } from './cleanup.js'
import { docker } from './docker.js'
import { ensureQemu, Runs } from './qemu.js'

export interface Engine {
  /** undefined: the current builder. */
  builder?: string
  delivery: Delivery['kind']
  /** Per platform: native or emulated on this host. */
  runs: Record<string, Runs>
}

export async function setUpEngine(
  platforms: string[],
  qemuImage: string,
  probeImage: string,
  network: 'default' | 'host' | 'none',
  runKey: string,
  cleanup: Cleanup
): Promise<Engine> {
  const runs = await ensureQemu(platforms, qemuImage, probeImage)
  const inspect = await docker(['buildx', 'inspect', '--bootstrap'], { silent: true })
  const info = parseBuilderInfo(inspect.stdout)
  const dockerInfo = await docker(['info', '--format', '{{json .DriverStatus}}'], {
    silent: true,
    allowFailure: true
  })
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
