# "full" Python image for the e2e tests, like the official python:3.11
# (compiler and headers present). Built by e2e/provision.sh on top of the
# debootstrapped localhost:5000/debian:bookworm. No "# syntax=" line on purpose:
# it would make BuildKit pull a frontend image from Docker Hub.
ARG BASE=localhost:5000/debian:bookworm
FROM ${BASE}
ENV LANG=C.UTF-8
RUN set -eux; \
    export DEBIAN_FRONTEND=noninteractive; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
        python3 python3-dev python3-pip python3-setuptools python3-wheel build-essential; \
    rm -f /usr/lib/python3*/EXTERNALLY-MANAGED; \
    [ -e /usr/bin/python ] || ln -s python3 /usr/bin/python; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb; \
    python3 --version; \
    python3 -m pip --version; \
    gcc --version >/dev/null
CMD ["python3"]
