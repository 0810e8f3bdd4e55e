# "slim" Python image for the e2e tests, like the official python:3.11-slim
# (no compiler, no headers). Built by e2e/provision.sh on top of the
# debootstrapped localhost:5000/debian:bookworm. No "# syntax=" line on purpose:
# it would make BuildKit pull a frontend image from Docker Hub.
ARG BASE=localhost:5000/debian:bookworm
FROM ${BASE}
ENV LANG=C.UTF-8
RUN set -eux; \
    export DEBIAN_FRONTEND=noninteractive; \
    apt-get update; \
    apt-get install -y --no-install-recommends python3 python3-pip; \
    rm -f /usr/lib/python3*/EXTERNALLY-MANAGED; \
    [ -e /usr/bin/python ] || ln -s python3 /usr/bin/python; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb; \
    python3 --version; \
    python3 -m pip --version; \
    for c in gcc cc c++ g++; do \
        if command -v "$c"; then echo "slim image must not have a compiler: $c" >&2; exit 1; fi; \
    done
CMD ["python3"]
