// CPU seconds of emulated processes, sampled from /proc: every INTERVAL_MS, each process whose
// executable is a QEMU user interpreter (binfmt_misc runs a foreign binary as
// `qemu-arm-static <binary> ...`, so /proc/<pid>/exe names the interpreter) has its
// utime + stime read from /proc/<pid>/stat; the last value seen per process counts. Its cgroup
// tells a build step (BuildKit puts RUN containers under `.../buildkit/<id>`) from a container
// that `docker run` started (the action's smoke test and checks).
//
// What it misses: a process that lives less than one interval (e.g. a `sh -c` test) is never
// seen, and the CPU a process spends after its last sample is lost. It counts every emulated
// process on the host, another user's too; reading other users' /proc/<pid>/exe needs root.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import path from 'node:path'

const INTERVAL_MS = 50

/** Clock ticks per second, the unit of /proc/<pid>/stat times. */
const CLK_TCK = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** QEMU's name for a CPU → the Docker platform it runs. */
const PLATFORMS: Record<string, string> = {
  arm: 'linux/arm/v7',
  aarch64: 'linux/arm64',
  x86_64: 'linux/amd64',
  i386: 'linux/386',
  riscv64: 'linux/riscv64',
  ppc64le: 'linux/ppc64le',
  s390x: 'linux/s390x'
}

/**
 * The platform an interpreter emulates, or undefined when `exe` is no QEMU user interpreter:
 * `/usr/bin/qemu-arm-static`, `/usr/bin/qemu-aarch64`, `/usr/libexec/qemu-binfmt/arm-binfmt-P`.
 */
export function emulatedPlatform(exe: string): string | undefined {
  const name = path.basename(exe.replace(/ \(deleted\)$/, ''))
  if (name.startsWith('qemu-system-')) return undefined // a whole machine, not a process
  const m = /^qemu-(.+?)(?:-static)?$/.exec(name) ?? /^(.+?)-binfmt/.exec(name)
  if (!m && !name.includes('binfmt')) return undefined
  const cpu = m?.[1] ?? 'unknown'
  return PLATFORMS[cpu] ?? `qemu-${cpu}`
}

/** utime + stime (fields 14 and 15) and starttime (22) of a `/proc/<pid>/stat` line, in ticks. */
export function parseStat(stat: string): { ticks: number; start: string } | undefined {
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(rest[11])
  const stime = Number(rest[12])
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined
  return { ticks: utime + stime, start: rest[19] ?? '' }
}

export interface EmulatedProcess {
  pid: number
  platform: string
  /** The emulated program's command line, as the host sees it (interpreter first). */
  cmdline: string
  /** Run by a BuildKit RUN step (else: a container `docker run` started). */
  inBuild: boolean
  seconds: number
}

export interface Emulation {
  /** CPU seconds per platform, every process summed; and only those of build steps. */
  byPlatform: Record<string, number>
  inBuildByPlatform: Record<string, number>
  processes: EmulatedProcess[]
  samples: number
}

const round = (n: number): number => Math.round(n * 100) / 100

/** Sums a list of processes per platform, optionally only those `keep` accepts. */
export function sumByPlatform(
  processes: EmulatedProcess[],
  keep: (p: EmulatedProcess) => boolean = () => true
): Record<string, number> {
  const out: Record<string, number> = {}
  for (const p of processes.filter(keep))
    out[p.platform] = round((out[p.platform] ?? 0) + p.seconds)
  return out
}

const readOr = (read: () => string): string | undefined => {
  try {
    return read()
  } catch {
    return undefined // the process exited, or is not ours to read
  }
}

/** Starts sampling; `stop()` ends it and returns what was seen. */
export function startEmulationSampler(): { stop: () => Emulation } {
  const seen = new Map<string, Omit<EmulatedProcess, 'seconds'> & { base: number; ticks: number }>()
  let samples = 0
  const sample = (): void => {
    // A process already running at the start counts only the CPU it uses from then on.
    const first = samples === 0
    samples += 1
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue
      const exe = readOr(() => readlinkSync(`/proc/${entry}/exe`))
      const platform = exe && emulatedPlatform(exe)
      if (!platform) continue
      const stat = readOr(() => readFileSync(`/proc/${entry}/stat`, 'utf8'))
      const parsed = stat ? parseStat(stat) : undefined
      if (!parsed) continue
      const key = `${entry}@${parsed.start}`
      const known = seen.get(key)
      if (known) known.ticks = Math.max(known.ticks, parsed.ticks)
      else {
        const cmdline = readOr(() => readFileSync(`/proc/${entry}/cmdline`, 'utf8')) ?? ''
        const cgroup = readOr(() => readFileSync(`/proc/${entry}/cgroup`, 'utf8')) ?? ''
        seen.set(key, {
          pid: Number(entry),
          platform,
          cmdline: cmdline.replace(/\0+$/, '').replace(/\0/g, ' '),
          inBuild: /\/buildkit\//.test(cgroup),
          base: first ? parsed.ticks : 0,
          ticks: parsed.ticks
        })
      }
    }
  }
  sample()
  const timer = setInterval(sample, INTERVAL_MS)
  return {
    stop: () => {
      clearInterval(timer)
      sample()
      const processes = [...seen.values()].map(({ base, ticks, ...p }) => ({
        ...p,
        seconds: (ticks - base) / CLK_TCK
      }))
      return {
        byPlatform: sumByPlatform(processes),
        inBuildByPlatform: sumByPlatform(processes, (p) => p.inBuild),
        processes: processes.filter((p) => p.seconds > 0),
        samples
      }
    }
  }
}

/** Runs `work` with the sampler around it. */
export async function sampled<T>(
  work: () => Promise<T>
): Promise<{ value: T; emulation: Emulation }> {
  const sampler = startEmulationSampler()
  try {
    const value = await work()
    return { value, emulation: sampler.stop() }
  } catch (error) {
    sampler.stop()
    throw error
  }
}
