// The Dockerfiles the action is measured against, as their authors would write them (only the
// image names and the package source differ: no PyPI here, so the dependency sdists come in as
// the named build context DEPS_CONTEXT, `--build-context deps=<dir>`, and every pip call that
// resolves dependencies reads that directory alone: `--no-index --find-links /deps`).

const json = (argv: string[]): string => `[${argv.map((a) => JSON.stringify(a)).join(', ')}]`

/** The named build context holding the dependency sdists (PyPI's stand-in), and its mount. */
export const DEPS_CONTEXT = 'deps'
const DEPS_MOUNT = '/deps'
const depsMount = `--mount=type=bind,from=${DEPS_CONTEXT},target=${DEPS_MOUNT}`

export interface Images {
  builder: string
  slim: string
}

/**
 * (e) The seed's Dockerfile ("Generating Clean Python Docker Images"), verbatim but for two
 * things: `pip3 install wheel` is gone (the builder image has wheel, and there is no PyPI to
 * fetch it from), and `pip3 wheel` reads the dependencies from the `deps` context instead of
 * PyPI (a bind mount, so no layer keeps them, plus `--no-index --no-build-isolation
 * --find-links`). Its COPY of /wheeley leaves every wheel in a layer of the slim image that the
 * later `rm -rf` cannot remove.
 */
export function seedDockerfile(images: Images, module: string, project: string): string {
  return `FROM ${images.builder} AS base

COPY ./dist /build/dist

RUN ${depsMount} \\
    pip3 wheel --no-index --no-build-isolation --find-links=${DEPS_MOUNT} /build/dist/* --wheel-dir=/wheeley

# Image switch
FROM ${images.slim}

COPY --from=base /wheeley /wheeley

RUN pip3 install --no-index --find-links=/wheeley ${project} \\
    && rm -rf /wheeley

ENTRYPOINT ${json(['python3', '-m', module])}
`
}

/**
 * (f) The idiomatic peer setup (docker/build-push-action + cache-from/to type=gha): a builder
 * stage wheels the pinned requirements in their own layer, then the app; the runtime stage
 * copies the wheels in and installs them. The layer cache skips the requirements layer until
 * requirements.txt (or the `deps` directory, PyPI's stand-in, which only grows along with it)
 * changes, and then compiles every dependency again. The app's own step takes its wheel from
 * dist/, which holds what `python -m build` writes (sdist and wheel: `dist/*` would name wsb-app
 * twice, which pip refuses, hence `dist/*.whl`); it needs no index (`--no-deps`).
 */
export function peerDockerfile(images: Images, module: string): string {
  return `FROM ${images.builder} AS builder
WORKDIR /build
# Dependencies first, in their own layer: reused from the layer cache until requirements.txt changes.
COPY requirements.txt .
RUN ${depsMount} \\
    pip wheel --no-cache-dir --no-index --no-build-isolation --find-links ${DEPS_MOUNT} --wheel-dir /wheels -r requirements.txt
# Then the app itself.
COPY dist/ dist/
RUN pip wheel --no-cache-dir --no-index --no-build-isolation --no-deps --wheel-dir /wheels dist/*.whl

FROM ${images.slim}
COPY --from=builder /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels /wheels/* && rm -rf /wheels
ENTRYPOINT ${json(['python3', '-m', module])}
`
}

/**
 * The lower bound of a slim image: the slim image's own layers plus ONE layer holding exactly
 * the files `pip install` puts there. The install runs in a throwaway stage with `--root
 * /install` (same pip, same options as the action's runtime stage, so the same files: packages,
 * .dist-info, bytecode, under the same /usr/local/... paths), from the wheels of the scenario's
 * pushed base image; the final stage copies that tree onto the slim image as its only extra
 * layer. No user, no apt, no wheels, no pip bookkeeping outside the install tree.
 */
export function referenceDockerfile(
  images: Images,
  baseImage: string,
  wheelDir: string,
  requirement: string,
  requirementsFile?: string
): string {
  const mounts = [`--mount=type=bind,from=wheels,source=${wheelDir},target=/wheels`]
  const reqs: string[] = []
  if (requirementsFile) {
    mounts.push(`--mount=type=bind,source=${requirementsFile},target=/requirements.txt`)
    reqs.push('--requirement', '/requirements.txt')
  }
  const pip = json([
    'python3',
    '-m',
    'pip',
    'install',
    '--no-cache-dir',
    '--disable-pip-version-check',
    '--no-index',
    '--find-links',
    '/wheels',
    '--root',
    '/install',
    ...reqs,
    requirement
  ])
  return `FROM ${baseImage} AS wheels

FROM ${images.slim} AS install
RUN ${[...mounts, pip].join(' \\\n    ')}

FROM ${images.slim}
COPY --from=install /install/ /
`
}
