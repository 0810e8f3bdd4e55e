#!/usr/bin/env bash
# The main job on the bundled example: the wsa-service package (a C extension; its sources are
# e2e/fixtures/service) built by the wheel-slim CLI for linux/amd64 and linux/arm/v7 on the
# local engine, smoke-tested on both, pushed to the local registry, then run on both platforms.
set -euo pipefail
cd "$(dirname "$0")/.."
bash e2e/provision.sh
registry=${E2E_REGISTRY:-localhost:5000}
work=e2e/.work/example
rm -rf "$work" && mkdir -p "$work/dist"

echo "example: building the sdist of e2e/fixtures/service with $registry/python:3.11"
docker run --rm -v "$PWD/e2e/fixtures/service:/src:ro" -v "$PWD/$work/dist:/out" \
  "$registry/python:3.11" sh -c \
  "cp -r /src /tmp/src && cd /tmp/src && python3 setup.py -q sdist -d /out && chown -R $(id -u):$(id -g) /out"

image="$registry/wheel-slim-example"
(cd "$work" && node ../../../dist/cli/index.js build \
  --image "$image" --tags latest \
  --python-version 3.11 \
  --builder-image "$registry/python:3.11" --runtime-image "$registry/python:3.11-slim" \
  --pip-args "--no-index --no-build-isolation" \
  --platforms linux/amd64,linux/arm/v7) | tee "$work/outputs.log"

for platform in linux/amd64 linux/arm/v7; do
  echo "example: docker run --platform $platform $image:latest"
  docker run --rm --pull always -q --platform "$platform" "$image:latest"
done
docker buildx imagetools inspect "$image:latest"
