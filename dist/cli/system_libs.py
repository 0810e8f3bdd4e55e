"""System libraries: which Debian packages a compiled wheel needs at run time, what an image's
C library is, and which packages an image has. Used by the stage script (wheel_slim.py)."""
import glob
import os
import re
import subprocess
import tempfile
import zipfile

PACKAGE = re.compile(r'^[a-z0-9][a-z0-9+.-]+$')
# What the runtime stage's apt-get gets: a name, optionally pinned (the action's own rule).
APT_NAME = re.compile(r'^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?$')
EXTENSION = re.compile(r'\.so(\.\d+)*$')


def needed_packages(wheel):
    """Debian packages holding the libraries the wheel's extension modules link to.

    Runs where the wheel was compiled (the target, with the build packages installed), so each
    library resolves to the runtime package that ships it (libpq5), never to the -dev package.
    Libraries the wheel carries itself (auditwheel's .libs) need no package.
    """
    packages = set()
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as z:
        libs = [n for n in z.namelist() if EXTENSION.search(n)]
        z.extractall(tmp, libs)
        for lib in libs:
            out = subprocess.run(['ldd', os.path.join(tmp, lib)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
            for line in out.splitlines():
                m = re.match(r'\s*\S+ => (/\S+)', line)
                if m and not m.group(1).startswith(tmp):
                    packages |= set(owners(m.group(1)))
    return sorted(p for p in packages if PACKAGE.match(p))


def owners(path):
    """The packages dpkg says own a file, trying the names merged /usr gives it."""
    real = os.path.realpath(path)
    candidates = [path, real] + [p[4:] for p in (path, real) if p.startswith('/usr/')] + ['/usr' + p for p in (path, real) if not p.startswith('/usr/')]
    for candidate in candidates:
        r = subprocess.run(['dpkg-query', '--search', candidate], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        # "libpq5:armhf: /usr/lib/arm-linux-gnueabihf/libpq.so.5"; several owners are
        # comma-separated; "diversion by X from: ..." lines name no owner.
        lines = [l for l in r.stdout.splitlines() if l and not l.startswith('diversion by ')]
        if r.returncode == 0 and lines:
            return [o.strip().split(':')[0] for o in lines[0].split(': ')[0].split(',')]
    return []


def installed_packages(root):
    """Packages installed in the image whose file system is at `root` (dpkg's status file)."""
    return set(installed_versions(root))


def installed_versions(root):
    """Package -> version of what is installed in the image at `root` (dpkg's status file)."""
    status = os.path.join(root, 'var/lib/dpkg/status')
    if not os.path.exists(status):
        return {}
    installed = {}
    with open(status) as f:
        for block in f.read().split('\n\n'):
            fields = dict(l.split(': ', 1) for l in block.splitlines() if ': ' in l and not l.startswith(' '))
            if fields.get('Status', '').endswith(' installed') and 'Package' in fields:
                installed[fields['Package']] = fields.get('Version', '')
    return installed


def os_release(root):
    for path in ('etc/os-release', 'usr/lib/os-release'):
        p = os.path.join(root, path)
        if os.path.exists(p):
            with open(p) as f:
                return dict(l.split('=', 1) for l in f.read().splitlines() if '=' in l)
    return {}


def libc(root):
    """('musl', '') or ('glibc', 'X.Y') or ('unknown', '') of the image whose file system is at `root`.

    From its C library's files; else, where only a few files of the image are at hand (the
    runtime image's in the build), Alpine's release file (musl) or dpkg's record of libc6.
    """
    if glob.glob(os.path.join(root, 'lib/ld-musl-*.so.1')):
        return 'musl', ''
    places = ('lib', 'lib64', 'lib/*', 'usr/lib', 'usr/lib64', 'usr/lib/*')
    for lib in [f for p in places for f in glob.glob(os.path.join(root, p, 'libc.so.6'))]:
        with open(os.path.realpath(lib), 'rb') as f:
            m = re.search(rb'release version (\d+)\.(\d+)', f.read())
        if m:
            return 'glibc', '%s.%s' % (int(m.group(1)), int(m.group(2)))
    if os.path.exists(os.path.join(root, 'etc/alpine-release')):
        return 'musl', ''
    m = re.match(r'(?:\d+:)?(\d+)\.(\d+)', installed_versions(root).get('libc6', ''))
    if m:
        return 'glibc', '%s.%s' % (int(m.group(1)), int(m.group(2)))
    return 'unknown', ''


def describe(root):
    release = os_release(root).get('PRETTY_NAME', '').strip('"') or 'an unknown system'
    kind, version = libc(root)
    return '%s %s (%s)' % (kind, version, release) if version else '%s (%s)' % (kind, release)


def compatible(b, r):
    """Why wheels built on the builder would not load on the runtime, or None, from the libc()
    of each."""
    if 'unknown' in (b[0], r[0]):
        return None
    if b[0] != r[0]:
        return 'its C library is %s, the builder\'s %s: the wheels would install, then fail at import' % (r[0], b[0])
    if b[0] == 'glibc' and tuple(map(int, r[1].split('.'))) < tuple(map(int, b[1].split('.'))):
        return 'its glibc %s is older than the builder\'s %s: the wheels would fail to load' % (r[1], b[1])
    return None
