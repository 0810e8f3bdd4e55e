// The package indexes of the e2e suite, on pip's default path (an index, build isolation):
//  - "open": setuptools and wheel (what build isolation installs) and the fixture dependency
//    sdists, reached by the builds as PIP_INDEX_URL through `build-args` and `network: host`;
//  - "private": behind basic auth, the action's `extra-index-url`; it serves impostor wheels of
//    the fixtures' own names and versions, which must never be what an image runs.
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { buildFixtureDist, FIXTURES, type FixtureName, fixtureVersion } from './fixtures.js'
import {
  buildToolWheels,
  type IndexServer,
  makeImpostorWheel,
  startIndexServer
} from './index-server.js'
import { WORK_DIR } from './runner.js'

export const IMPOSTOR = 'IMPOSTOR: this came from the index, not from dist/'
export const INDEX_PASSWORD = 'e2e-index-Pa55word'

export interface Indexes {
  open: IndexServer
  private: IndexServer & { urlWithAuth: string }
  /** The inputs that put a build on these indexes. */
  inputs: Record<string, string>
  stop(): Promise<void>
}

/** `dependencies` are served as sdists by the open index; `impostors` by the private one. */
export async function startIndexes(
  dependencies: FixtureName[],
  impostors: FixtureName[]
): Promise<Indexes> {
  const dir = path.join(WORK_DIR, 'index-files')
  await mkdir(dir, { recursive: true })
  const sdists = []
  for (const name of dependencies) {
    const out = path.join(dir, name)
    for (const file of await buildFixtureDist(name, out)) {
      sdists.push({ project: FIXTURES[name].project, file, path: path.join(out, file) })
    }
  }
  const open = await startIndexServer({ files: [...buildToolWheels(), ...sdists] })
  const fakes = []
  for (const name of impostors) {
    const { project, module } = FIXTURES[name]
    fakes.push(
      await makeImpostorWheel({
        project,
        version: await fixtureVersion(name),
        module,
        outDir: path.join(dir, 'impostors'),
        message: IMPOSTOR
      })
    )
  }
  const priv = await startIndexServer({
    files: fakes,
    auth: { user: 'e2e', password: INDEX_PASSWORD }
  })
  if (!priv.urlWithAuth) throw new Error('the private index has no credentials URL')
  return {
    open,
    private: priv as Indexes['private'],
    inputs: {
      network: 'host',
      'build-args': `PIP_INDEX_URL=${open.url}`,
      'extra-index-url': priv.urlWithAuth
    },
    stop: async () => {
      await open.stop()
      await priv.stop()
    }
  }
}
