/**
 * QEMU for non-native platforms: a binfmt_misc handler must be registered (with the F flag,
 * so it works inside containers). Registering uses the same image docker/setup-qemu-action does.
 */
import { existsSync, readFileSync } from 'node:fs'
import * as core from '@actions/core'
import { docker } from './docker.js'

const BINFMT = '/proc/sys/fs/binfmt_misc'

/** Docker's name for the host's platform family. */
export function nativeArch(nodeArch: string = process.arch): string {
  return (
    (
      {
        x64: 'amd64',
        arm64: 'arm64',
        arm: 'arm',
        ia32: '386',
        ppc64: 'ppc64le',
        s390x: 's390x'
      } as Record<string, string>
    )[nodeArch] ?? nodeArch
  )
}

/** Which handler runs a platform, and the name tonistiigi/binfmt --install takes for it. */
const HANDLERS: Record<string, { handler: string; install: string }> = {
  'linux/amd64': { handler: 'qemu-x86_64', install: 'amd64' },
  'linux/arm64': { handler: 'qemu-aarch64', install: 'arm64' },
  'linux/arm/v7': { handler: 'qemu-arm', install: 'arm' },
  'linux/arm/v6': { handler: 'qemu-arm', install: 'arm' },
  'linux/386': { handler: 'qemu-i386', install: '386' },
  'linux/ppc64le': { handler: 'qemu-ppc64le', install: 'ppc64le' },
  'linux/s390x': { handler: 'qemu-s390x', install: 's390x' },
  'linux/riscv64': { handler: 'qemu-riscv64', install: 'riscv64' }
}

/**
 * How the host can run a platform: natively (its own family, 32-bit x86 on amd64), perhaps
 * natively (32-bit ARM on an arm64 CPU, where the CPU has AArch32: only trying tells), or only
 * through QEMU.
 */
export function hostSupport(platform: string, arch: string): 'native' | 'try' | 'emulated' {
  const family = platform.split('/')[1]
  if (family === arch || (arch === 'amd64' && family === '386')) return 'native'
  if (arch === 'arm64' && family === 'arm') return 'try'
  return 'emulated'
}

export interface QemuNeed {
  platform: string
  handler: string
  install: string
}

export type Runs = 'native' | 'emulated'

/**
 * Pure: per platform, native or emulated, and the QEMU handlers still to register. A platform
 * that may run natively and has no handler yet is tried first (`runsNatively`): a registered
 * binfmt handler would take over even where the CPU could run the code itself.
 */
export function decideRuns(
  platforms: string[],
  arch: string,
  handlerEnabled: (handler: string) => boolean,
  runsNatively: (platform: string) => boolean
): { runs: Record<string, Runs>; missing: QemuNeed[] } {
  const runs: Record<string, Runs> = {}
  const missing: QemuNeed[] = []
  for (const platform of platforms) {
    const need = { platform, ...(HANDLERS[platform] as { handler: string; install: string }) }
    const support = hostSupport(platform, arch)
    if (support === 'native') runs[platform] = 'native'
    else if (handlerEnabled(need.handler)) runs[platform] = 'emulated'
    else if (support === 'try' && runsNatively(platform)) runs[platform] = 'native'
    else {
      runs[platform] = 'emulated'
      missing.push(need)
    }
  }
  return { runs, missing }
}

export function handlerEnabled(handler: string): boolean {
  const file = `${BINFMT}/${handler}`
  return existsSync(file) && readFileSync(file, 'utf8').startsWith('enabled')
}

/**
 * Per platform: native, or emulated through a QEMU handler, registered here when missing (with
 * the image docker/setup-qemu-action uses). `probeImage` (the runtime image) is run to try a
 * platform the CPU may run natively. Fails when a handler is still missing.
 */
export async function ensureQemu(
  platforms: string[],
  qemuImage: string,
  probeImage: string
): Promise<Record<string, Runs>> {
  const arch = nativeArch()
  const probes = new Map<string, boolean>()
  for (const p of platforms) {
    if (hostSupport(p, arch) !== 'try' || handlerEnabled(HANDLERS[p]?.handler ?? '')) continue
    const r = await docker(['run', '--rm', '--platform', p, '--entrypoint', 'true', probeImage], {
      allowFailure: true,
      silent: true
    })
    probes.set(p, r.exitCode === 0)
  }
  const first = decideRuns(platforms, arch, handlerEnabled, (p) => probes.get(p) === true)
  if (first.missing.length > 0) {
    const names = [...new Set(first.missing.map((n) => n.install))]
    core.info(`QEMU: registering ${names.join(', ')} with ${qemuImage}`)
    const result = await docker(
      ['run', '--privileged', '--rm', qemuImage, '--install', names.join(',')],
      { allowFailure: true }
    )
    const still = decideRuns(platforms, arch, handlerEnabled, () => false).missing.filter((n) =>
      first.missing.some((m) => m.platform === n.platform)
    )
    if (still.length > 0) {
      throw new Error(
        `QEMU: no binfmt handler for ${still.map((n) => `${n.platform} (${n.handler})`).join(', ')} ` +
          `and registering one with ${qemuImage} failed${result.exitCode !== 0 ? `: ${result.stderr.trim()}` : ''}. ` +
          'Run docker/setup-qemu-action before this step, install qemu-user-static and binfmt-support, ' +
          'or remove those platforms from "platforms".'
      )
    }
  }
  for (const p of platforms) core.info(`${p}: runs ${first.runs[p]} on this ${arch} host`)
  return first.runs
}
