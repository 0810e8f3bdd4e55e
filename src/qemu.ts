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

/** Platforms the host runs natively: its own, and 32-bit x86 on amd64 (arm64 CPUs may lack AArch32). */
function runsNatively(platform: string, arch: string): boolean {
  const family = platform.split('/')[1]
  return family === arch || (arch === 'amd64' && family === '386')
}

export interface QemuNeed {
  platform: string
  handler: string
  install: string
}

/** The platforms that need an emulator, and whether it is there: pure, given a handler reader. */
export function emulationNeeds(
  platforms: string[],
  arch: string,
  handlerEnabled: (handler: string) => boolean
): { missing: QemuNeed[]; present: QemuNeed[] } {
  const needs = platforms
    .filter((p) => !runsNatively(p, arch))
    .map((p) => ({ platform: p, ...(HANDLERS[p] as { handler: string; install: string }) }))
  return {
    missing: needs.filter((n) => !handlerEnabled(n.handler)),
    present: needs.filter((n) => handlerEnabled(n.handler))
  }
}

export function handlerEnabled(handler: string): boolean {
  const file = `${BINFMT}/${handler}`
  return existsSync(file) && readFileSync(file, 'utf8').startsWith('enabled')
}

/** Check every non-native platform's handler; register the missing ones; fail if still missing. */
export async function ensureQemu(platforms: string[], qemuImage: string): Promise<void> {
  const arch = nativeArch()
  const first = emulationNeeds(platforms, arch, handlerEnabled)
  for (const n of first.present) core.info(`QEMU: ${n.platform} runs through ${n.handler}`)
  if (first.missing.length === 0) return
  const names = [...new Set(first.missing.map((n) => n.install))]
  core.info(`QEMU: registering ${names.join(', ')} with ${qemuImage}`)
  const result = await docker(
    ['run', '--privileged', '--rm', qemuImage, '--install', names.join(',')],
    {
      allowFailure: true
    }
  )
  const still = emulationNeeds(platforms, arch, handlerEnabled).missing
  if (still.length > 0) {
    throw new Error(
      `QEMU: no binfmt handler for ${still.map((n) => `${n.platform} (${n.handler})`).join(', ')} ` +
        `and registering one with ${qemuImage} failed${result.exitCode !== 0 ? `: ${result.stderr.trim()}` : ''}. ` +
        'Run docker/setup-qemu-action before this step, install qemu-user-static and binfmt-support, ' +
        'or remove those platforms from "platforms".'
    )
  }
}
