"""The build steps of the Dockerfile wheel-slim-action generates: one sub-command per stage.

  own      build host       the package's own wheel when dist/ has only an sdist; the versions
                            a normal resolution picks
  resolve  build host       every wheel each target needs, found without compiling for it
                            (every target in one step when the Dockerfile lists them)
  compile  target (QEMU)    only when resolve came back incomplete: checks builder and runtime
                            image agree (from a few of its files), then builds the build host's
                            pins side by side (or pip wheel resolves there); which Debian
                            packages each compiled wheel needs at run time
  collect  build host, in the runtime image: the same check; the target's wheel set, what is
                            new in it, the runtime packages to install, and the one layer of
                            installed files at the runtime image's own paths

Each takes one JSON argument that the action writes from validated inputs. Only the standard
library and the pip of the image each runs in are used. Everything a stage hands on lives in
/wheel-slim/out; file times are SOURCE_DATE_EPOCH, so a rebuild gives the same layers.
"""
import csv
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import traceback
import zipfile
from base64 import urlsafe_b64encode
from configparser import ConfigParser

import system_libs

OUT = '/wheel-slim/out'
PIP_QUIET = ['--no-cache-dir', '--disable-pip-version-check']
# A Docker platform -> its machine name in wheel platform tags.
MACHINES = {
    'linux/amd64': 'x86_64',
    'linux/arm64': 'aarch64',
    'linux/arm/v7': 'armv7l',
    'linux/arm/v6': 'armv6l',
    'linux/386': 'i686',
    'linux/ppc64le': 'ppc64le',
    'linux/s390x': 's390x',
    'linux/riscv64': 'riscv64',
}


def say(*parts):
    print('wheel-slim:', *parts, flush=True)


def fail(message):
    """A refusal the action shows as is: one line, marked so it can be found in the build log."""
    print('wheel-slim: ERROR: ' + message, flush=True)
    raise SystemExit(1)


def pip(args):
    """Runs pip: (exit code, output), the output echoed. Forked from pip imported once (see
    pips_at_once), so a stage's second pip skips the start-up; else a pip of its own."""
    ran = pips_at_once([args], 1)
    if ran is not None:
        return ran[0]
    r = subprocess.run([sys.executable, '-m', 'pip', *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sys.stdout.write(r.stdout)
    return r.returncode, r.stdout


def created_wheels(output):
    """The wheels pip compiled, from its own "Created wheel for" lines."""
    return sorted({l.split('filename=')[1].split()[0] for l in output.splitlines() if 'Created wheel for' in l and 'filename=' in l})


def write_json(path, value):
    with open(path, 'w') as f:
        json.dump(value, f, indent=1, sort_keys=True)


def read_json(path, default=None):
    if not os.path.exists(path):
        return default
    with open(path) as f:
        return json.load(f)


def target_tags(target):
    """The tags the target platform accepts: this interpreter's, with the machine swapped.

    The stage runs the build host's variant of the same multi-platform image as the target, so
    the Python version, ABI and C library are the target's; only the machine differs.
    """
    from pip._vendor.packaging import tags

    native = platform.machine()
    machine = MACHINES[target]
    platforms = []
    for tag in tags.sys_tags():
        p = tag.platform
        if p.endswith('_' + native):
            p = p[: -len(native)] + machine
        if p != 'any' and p not in platforms:
            platforms.append(p)
    first = next(iter(tags.sys_tags()))
    return {
        'platforms': platforms,
        'python_version': '%d.%d' % sys.version_info[:2],
        'implementation': first.interpreter[:2],
        'abi': first.abi,
    }


def accepted_tags(t):
    from pip._vendor.packaging import tags

    version = tuple(int(x) for x in t['python_version'].split('.'))
    interpreter = t['implementation'] + t['python_version'].replace('.', '')
    found = set(tags.cpython_tags(version, [t['abi']], t['platforms']))
    return found | set(tags.compatible_tags(version, interpreter, t['platforms']))


def fits(wheel, accepted):
    from pip._vendor.packaging.utils import parse_wheel_filename

    return bool(parse_wheel_filename(os.path.basename(wheel))[3] & accepted)


def pick_own(cfg, accepted, extra=()):
    """The package's own file for this target: a wheel from dist/ that fits, else the sdist.

    Asked for by path, so pip never looks for the package on an index.
    """
    wheels = [os.path.join(cfg['dist'], f) for f in cfg['own'] if f.endswith('.whl')] + list(extra)
    for w in wheels:
        if fits(w, accepted):
            return w
    sdists = [os.path.join(cfg['dist'], f) for f in cfg['own'] if not f.endswith('.whl')]
    return sdists[0] if sdists else None


def sha256(file):
    h = hashlib.sha256()
    with open(file, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def own_requirement(cfg, file):
    """pip's requirement for the own file; hashed when the requirements file pins hashes."""
    if not cfg['hashes']:
        return [file]
    digest = sha256(file)
    req = '/tmp/wheel-slim-own-%s.txt' % digest  # one per file: targets may pick different ones
    with open(req, 'w') as f:
        f.write('%s --hash=sha256:%s\n' % (file, digest))
    return ['--requirement', req]


def sources(cfg, requirements=True):
    args = []
    for d in cfg['find_links']:
        if os.path.isdir(d):
            args += ['--find-links', d]
    if requirements and cfg['requirements']:
        args += ['--requirement', cfg['requirements']]
    return args + cfg['pip_args']


def tag_args(t):
    args = ['--only-binary=:all:', '--python-version', t['python_version']]
    args += ['--implementation', t['implementation'], '--abi', t['abi']]
    for p in t['platforms']:
        args += ['--platform', p]
    return args


def pure_wheels(cfg):
    """The package's pure-Python wheels in dist/ (what `python -m build` writes): they fit every
    target, so nothing of the package is built."""
    return [os.path.join(cfg['dist'], f) for f in cfg['own'] if f.endswith('-none-any.whl')]


def own(cfg):
    """Build host, once for every target: the own wheel when dist/ has only an sdist, and the
    versions a normal resolution picks (sdists allowed), so that gathering wheels for a target
    never settles for an older wheel from the cache when a newer release exists."""
    os.makedirs(OUT)
    files = [os.path.join(cfg['dist'], f) for f in cfg['own']]
    pure = pure_wheels(cfg)
    sdists = [f for f in files if not f.endswith('.whl')]
    own_file = pure[0] if pure else None
    # A package that needs build packages has compiled code: only its target can build it.
    if not own_file and sdists and not cfg['build_packages']:
        code, output = pip(['wheel', *PIP_QUIET, '--no-deps', '--wheel-dir', OUT, *sources(cfg, False), sdists[0]])
        write_json(OUT + '/built.json', created_wheels(output) if code == 0 else [])
        built = [os.path.join(OUT, f) for f in os.listdir(OUT) if f.endswith('.whl')]
        own_file = built[0] if code == 0 and built else sdists[0]
    own_file = own_file or files[0]
    if not cfg['hashes']:  # with hashes, every requirement is pinned already
        pin(cfg, own_file, OUT)


def pin(cfg, own_file, out):
    """The versions a normal resolution picks (sdists allowed) into out/pins.txt, or why none
    into out/unresolved.json."""
    report = '/tmp/wheel-slim-report.json'
    code, output = pip(['install', *PIP_QUIET, '--dry-run', '--ignore-installed', '--report', report, *sources(cfg), *own_requirement(cfg, own_file)])
    if code != 0:
        write_json(out + '/unresolved.json', last_error(output))
        return
    own_name = canonical(cfg['name'])
    items = read_json(report)['install']
    pins = sorted('%s==%s' % (i['metadata']['name'], i['metadata']['version']) for i in items if canonical(i['metadata']['name']) != own_name)
    with open(out + '/pins.txt', 'w') as f:
        f.write(''.join(p + '\n' for p in pins))
    jobs = target_builds(cfg, items)
    if jobs is not None:
        write_json(out + '/target-builds.json', jobs)


# Markers that can differ between the build host and a target: the same image, another machine.
MACHINE_MARKERS = ('platform_machine', 'platform_platform')


def target_builds(cfg, items):
    """What a target that compiles gets, pin by pin, without resolving again (pip's install
    report items in): the pins whose file on the build host is an sdist, and those that are wheels.

    None when the build host's resolution may not be the target's (a marker on the machine), or
    a pin may not name the file that was resolved (a direct URL or a directory; a requirements
    file with options, which may name another index).
    """
    if cfg['requirements']:
        with open(cfg['requirements']) as f:
            lines = [l.strip() for l in f]
        if any(l.startswith('-') or any(m in l for m in MACHINE_MARKERS) for l in lines):
            return None
    own_name = canonical(cfg['name'])
    jobs = {'sdists': [], 'wheels': []}
    for i in items:
        meta = i['metadata']
        if any(m in r for r in meta.get('requires_dist') or [] for m in MACHINE_MARKERS):
            return None
        if canonical(meta['name']) == own_name:
            continue
        if i.get('is_direct') or 'archive_info' not in i.get('download_info', {}):
            return None
        wheel = i['download_info']['url'].split('#')[0].endswith('.whl')
        jobs['wheels' if wheel else 'sdists'].append('%s==%s' % (meta['name'], meta['version']))
    return jobs


def builder_facts(root='/'):
    """What the fit check needs of a builder: resolve writes its own for collect, which runs in
    the runtime image."""
    return {'libc': list(system_libs.libc(root)), 'describe': system_libs.describe(root), 'codename': system_libs.os_release(root).get('VERSION_CODENAME', '')}


def check_images(cfg, builder=None):
    """Wheels from the builder (this image, or builder_facts of it) must load on the runtime
    image (its few files that tell)."""
    runtime = '/wheel-slim/runtime-image'
    why = system_libs.compatible(tuple(builder['libc']) if builder else system_libs.libc('/'), system_libs.libc(runtime))
    if why:
        builder = builder or builder_facts()
        fail('runtime-image %s (%s) does not fit builder-image %s (%s): %s. Use a runtime image of the builder\'s release, e.g. %s.' % (
            cfg['runtime_image'], system_libs.describe(runtime), cfg['builder_image'], builder['describe'], why, fitting_runtime(cfg, builder['codename'])))
    if cfg['runtime_packages'] and not os.path.exists(runtime + '/usr/bin/apt-get'):
        fail('runtime-image %s has no apt-get, so runtime-packages (%s) cannot be installed on it.' % (cfg['runtime_image'], ' '.join(cfg['runtime_packages'])))


def fitting_runtime(cfg, codename):
    name = cfg['runtime_image'].split('@')[0]
    if codename and name.split('/')[-1].startswith('python:'):
        return '%s-%s' % (name.rsplit(':', 1)[0] + ':' + name.rsplit(':', 1)[1].split('-')[0] + '-slim', codename)
    return 'the slim variant of ' + cfg['builder_image']


def canonical(name):
    return name.lower().replace('_', '-').replace('.', '-')


def last_error(output):
    errors = [l for l in output.splitlines() if l.startswith('ERROR')] or output.splitlines()[-1:]
    return ' '.join(errors)[:300] or 'pip failed'


def resolve(cfg):
    """Build host: every wheel the targets need, without compiling anything for them. Every target
    in one step when the Dockerfile lists them (`platforms`: the pins and pip's start-up once),
    else the one this step builds for; each target's findings go to OUT/<platform>."""
    platforms = cfg.get('platforms') or [os.environ['TARGETPLATFORM']]
    own_out = '/wheel-slim/own'
    if not os.path.isdir(own_out):
        # No own stage: dist/ holds the package's pure wheel (nothing to build), so the versions
        # are pinned here, as own would have.
        own_out = '/tmp/wheel-slim-own'
        os.makedirs(own_out)
        if not cfg['hashes']:
            pin(cfg, pure_wheels(cfg)[0], own_out)
    facts = builder_facts()
    downloads = {}
    for target in platforms:
        os.makedirs(os.path.join(OUT, target, 'wheels'))
        write_json(os.path.join(OUT, target, 'builder.json'), facts)
        try:
            own_file, download = gather(cfg, target, own_out)
        except LookupError as e:
            resolved(target, own_out, reason=str(e))
            continue
        if download:
            downloads[target] = (own_file, download)
        else:
            resolved(target, own_out, own_file)
    # The targets that download, side by side: mostly waiting on the index.
    arg_lists = [download for _, download in downloads.values()]
    ran = pips_at_once(arg_lists, len(arg_lists))
    if ran is None:  # this pip cannot run in process: a pip process each
        ran = [pip(args) for args in arg_lists]
    for (target, (own_file, _)), (code, output) in zip(downloads.items(), ran):
        resolved(target, own_out, own_file, None if code == 0 else last_error(output))


def gather(cfg, target, own_out):
    """The target's own file, and pip download's arguments for its wheels; none when each pin's
    wheel is at hand (then copied). LookupError when the target must compile."""
    t = target_tags(target)
    accepted = accepted_tags(t)
    built_here = [os.path.join(own_out, f) for f in sorted(os.listdir(own_out)) if f.endswith('.whl')]
    own_file = pick_own(cfg, accepted, built_here)
    if own_file is None or not own_file.endswith('.whl'):
        raise LookupError('the package has compiled code' if built_here else 'the package has no wheel for it')
    pins = []
    if not cfg['hashes']:
        if not os.path.exists(own_out + '/pins.txt'):
            raise LookupError('the build host could not resolve the requirements: %s' % read_json(own_out + '/unresolved.json', ''))
        pins = ['--constraint', own_out + '/pins.txt']
    wheels = os.path.join(OUT, target, 'wheels')
    # Without the build host's pins per file, whether each is at hand cannot be told.
    jobs = read_json(own_out + '/target-builds.json')
    found = local_wheels(cfg, accepted) if jobs else {}
    at_hand = [local_wheel(found, p) for p in jobs['sdists'] + jobs['wheels']] if jobs else None
    if at_hand is not None and all(at_hand):
        # Each pin's wheel for the target is in the wheel cache, the parent or dist/: no pip.
        for f in at_hand + [own_file]:
            shutil.copy(f, wheels)
        say('resolve', target, 'every pin at hand, no download')
        return own_file, None
    return own_file, ['download', *PIP_QUIET, '--dest', wheels, *tag_args(t), *sources(cfg), *pins, *own_requirement(cfg, own_file)]


def resolved(target, own_out, own_file=None, reason=None):
    """What resolve found for the target: complete, or why it compiles there."""
    out = os.path.join(OUT, target)
    result = {'platform': target, 'complete': reason is None}
    if reason is None:
        result['built'] = [f for f in read_json(own_out + '/built.json', []) if f == os.path.basename(own_file)]
        open(out + '/complete', 'w').close()
    else:
        result['reason'] = reason
        if os.path.exists(own_out + '/target-builds.json'):
            shutil.copy(own_out + '/target-builds.json', out)
    write_json(out + '/result.json', result)
    say('resolve', target, 'every wheel found' if reason is None else 'compiles on the target: ' + reason)


def compile_wheels(cfg):
    """Target (emulated): build packages, then the wheels of the package and its dependencies:
    the build host's pins side by side when they are the target's, else one pip wheel."""
    from pip._vendor.packaging import tags

    check_images(cfg)
    if cfg['build_packages']:
        subprocess.run(['apt-get', 'update'], check=True)
        subprocess.run(['apt-get', 'install', '-y', '--no-install-recommends', *cfg['build_packages']], check=True)
    accepted = set(tags.sys_tags())
    own_file = pick_own(cfg, accepted)
    if own_file is None:
        raise SystemExit('wheel-slim: no file in dist/ fits this platform: %s' % cfg['own'])
    jobs = read_json('/wheel-slim/resolved/target-builds.json')
    done, built = build_side_by_side(cfg, own_file, jobs, accepted) if jobs is not None else (False, [])
    if done:
        say("compile: the build host's pins, side by side")
    else:
        # pip resolves on the target, taking what the builds side by side made.
        links = ['--find-links', PREBUILT] if jobs is not None else []
        code, output = pip(['wheel', *PIP_QUIET, '--wheel-dir', OUT + '/wheels', *links, *sources(cfg), *own_requirement(cfg, own_file)])
        if code != 0:
            raise SystemExit(code)
        wheels = set(os.listdir(OUT + '/wheels'))
        built = sorted(set(created_wheels(output)) | {w for w in built if w in wheels})
    write_json(OUT + '/built.json', built)
    # Here, with the build packages installed, each library resolves to the package that ships it.
    write_json(OUT + '/needs.json', {w: system_libs.needed_packages(os.path.join(OUT, 'wheels', w)) for w in built})


PREBUILT = '/tmp/wheel-slim-prebuilt'


def local_wheels(cfg, accepted):
    """(name, version) -> the first wheel in a local find-links directory (dist/, the wheel cache,
    the parent's wheels) that fits the target: read once, looked up per pin."""
    from pip._vendor.packaging.utils import parse_wheel_filename

    found = {}
    for d in cfg['find_links']:
        for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            if f.endswith('.whl'):
                n, v, _, t = parse_wheel_filename(f)
                if t & accepted:
                    found.setdefault((n, v), os.path.join(d, f))
    return found


def local_wheel(found, pin):
    """The wheel of a `name==version` pin in local_wheels' map, compared as pip compares, or None."""
    from pip._vendor.packaging.utils import canonicalize_name
    from pip._vendor.packaging.version import Version

    name, version = pin.split('==')
    return found.get((canonicalize_name(name), Version(version)))


def build_side_by_side(cfg, own_file, jobs, accepted):
    """The target's wheels from the build host's pins. pip builds one sdist after another, so each
    pin the build host had as an sdist gets its own pip, all at once; a pin with a fitting wheel
    in a local directory is copied; the other wheels share one pip. Whether every pip succeeded
    (then the wheels are in the wheel directory), and the wheels compiled.
    """
    os.makedirs(PREBUILT)
    runs, shared = [], []
    found = local_wheels(cfg, accepted)
    for pin in jobs['sdists'] + jobs['wheels']:
        wheel = local_wheel(found, pin)
        if wheel:
            shutil.copy(wheel, PREBUILT)
        elif pin in jobs['sdists']:
            runs.append([pin])
        else:
            shared.append(pin)
    runs += [shared] if shared else []
    if not own_file.endswith('.whl'):
        runs.append([own_file])

    # Twice the CPUs: one long build must not leave a CPU idle while the others wait.
    width = 2 * len(os.sched_getaffinity(0))
    results = pips_at_once([['wheel', *PIP_QUIET, '--no-deps', '--wheel-dir', PREBUILT, *sources(cfg, False), *reqs] for reqs in runs], width)
    if results is None:
        say('compile: this pip cannot run in process; pip resolves on the target')
        return False, []
    built = sorted({w for _, output in results for w in created_wheels(output)})
    if any(code != 0 for code, _ in results):
        say('compile: a build side by side failed; pip resolves on the target')
        return False, built
    for f in os.listdir(PREBUILT):
        shutil.move(os.path.join(PREBUILT, f), OUT + '/wheels')
    if own_file.endswith('.whl'):
        shutil.copy(own_file, OUT + '/wheels')
    return True, built


def pips_at_once(arg_lists, width):
    """pip once per argument list, `width` at a time: (exit code, output) each, the output echoed
    as each ends. Each is a child forked after pip is imported once: under QEMU, a pip start-up
    costs about two CPU seconds. None when this pip cannot be run in process."""
    if not arg_lists:
        return []
    try:
        from pip._internal.cli.main import main
        from pip._internal.commands import commands_dict, create_command

        for name in {args[0] for args in arg_lists} & set(commands_dict):
            create_command(name)  # imports the command's modules, once for every child
    except Exception:
        return None
    results, running = [None] * len(arg_lists), {}

    def reap():
        pid, status = os.wait()
        i, log = running.pop(pid)
        log.seek(0)
        output = log.read().decode(errors='replace')
        sys.stdout.write(output)
        results[i] = (os.waitstatus_to_exitcode(status), output)

    for i, args in enumerate(arg_lists):
        while len(running) >= width:
            reap()
        log = tempfile.TemporaryFile()
        sys.stdout.flush()  # else the child writes the parent's buffered output again
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.dup2(log.fileno(), 1)
                os.dup2(log.fileno(), 2)
                code = main(args)
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else int(e.code is not None)
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        running[pid] = (i, log)
    while running:
        reap()
    return results


def fix_times(root, t):
    for d, dirs, files in os.walk(root, topdown=False):
        for name in files + dirs:
            os.utime(os.path.join(d, name), (t, t), follow_symlinks=False)
    os.utime(root, (t, t))


# The one layer of installed files the runtime stage copies: apart from OUT, which holds the
# wheel set and the packages to install.
LAYER = '/wheel-slim/layer'


def collect(cfg):
    """Build host, in the runtime image: the target's wheel set, the part its parent lacks, and
    the one layer of installed files."""
    check_images(cfg, read_json('/wheel-slim/resolved/builder.json'))
    result = read_json('/wheel-slim/resolved/result.json')
    src = '/wheel-slim/resolved/wheels' if result['complete'] else '/wheel-slim/compiled/wheels'
    names = sorted(f for f in os.listdir(src) if f.endswith('.whl'))
    parent = set(os.listdir('/wheel-slim/parent')) if os.path.isdir('/wheel-slim/parent') else set()
    cached = set(os.listdir('/wheel-slim/cache')) if os.path.isdir('/wheel-slim/cache') else set()
    for d in ('set', 'new'):
        os.makedirs(os.path.join(OUT, d))
    for n in names:
        shutil.copy(os.path.join(src, n), os.path.join(OUT, 'set', n))
        if n not in parent:
            shutil.copy(os.path.join(src, n), os.path.join(OUT, 'new', n))
    tree = '/tmp/wheel-slim-tree'
    for n in names:
        install_wheel(os.path.join(OUT, 'set', n), tree)
    built = result.get('built', []) if result['complete'] else read_json('/wheel-slim/compiled/built.json', [])
    packages, why = runtime_packages(cfg, result['platform'], names)
    report = {
        'platform': result['platform'],
        'path': 'build host' if result['complete'] else 'target',
        'reason': result.get('reason', ''),
        'wheels': names,
        'built': sorted(n for n in built if n in names),
        'reused': sorted(n for n in names if n in parent or n in cached),
        'runtime_packages': packages,
        'runtime_packages_why': why,
    }
    write_json(OUT + '/set/wheel-slim.json', report)
    epoch = int(os.environ.get('SOURCE_DATE_EPOCH') or 0)
    for d in ('set', 'new'):
        fix_times(os.path.join(OUT, d), epoch)
    lay_out(cfg, tree, add_user_here=not packages)
    say('collect', json.dumps(report, sort_keys=True))


# pip's console script (distlib's template), so the scripts are what pip install writes.
SCRIPT = """#!%s
# -*- coding: utf-8 -*-
import re
import sys
from %s import %s
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(%s())
"""


def record_row(path, data):
    digest = urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
    return [path, 'sha256=' + digest, str(len(data))]


def install_wheel(wheel, target):
    """What `pip install --no-deps --no-compile --target` makes of one wheel, without pip's
    start-up: its files, .data/ sorted as pip sorts it for --target (scripts in bin/, headers in
    include/python/<name>/, data at the top), console scripts in bin/ (lay_out points them at the
    runtime image's python), and RECORD naming where each file went.
    """
    files = {}
    with zipfile.ZipFile(wheel) as z:
        infos = [i for i in z.infolist() if not i.is_dir()]
        info_dir = next(i.filename.split('/')[0] for i in infos if i.filename.endswith('.dist-info/WHEEL'))
        data_dir = info_dir[: -len('dist-info')] + 'data'
        metadata = z.read(info_dir + '/METADATA').decode('utf-8', 'replace')
        project = next(l[5:].strip() for l in metadata.splitlines() if l.startswith('Name:'))
        for i in infos:
            top, _, rest = i.filename.partition('/')
            dest = i.filename
            if top == data_dir:
                kind, _, rest = rest.partition('/')
                dest = {'purelib': rest, 'platlib': rest, 'scripts': 'bin/' + rest, 'data': rest}.get(kind, 'include/python/%s/%s' % (project, rest))
            data = z.read(i)
            if dest.startswith('bin/') and data.startswith(b'#!python'):
                data = b'#!' + sys.executable.encode() + b'\n' + data.partition(b'\n')[2]
            executable = (i.external_attr >> 16) & 0o111
            files[dest] = (data, executable, i.filename)
    entry_points = ConfigParser(delimiters=('=',), interpolation=None)
    entry_points.optionxform = str
    entry_points.read_string(files.get(info_dir + '/entry_points.txt', (b'',))[0].decode())
    for section in ('console_scripts', 'gui_scripts'):
        for name, ref in entry_points.items(section) if entry_points.has_section(section) else []:
            module, _, attr = ref.split('[')[0].strip().partition(':')
            files['bin/' + name] = ((SCRIPT % (sys.executable, module, attr.split('.')[0], attr)).encode(), True, None)
    record = info_dir + '/RECORD'
    moved = {origin: dest for dest, (_, _, origin) in files.items() if origin and origin != dest}
    rows = []
    for row in csv.reader(io.StringIO(files.pop(record)[0].decode())):
        if row and row[0] in moved:
            row = record_row(moved[row[0]], files[moved[row[0]]][0])
        if row and row[0] != record:
            rows.append(row)
    files[info_dir + '/INSTALLER'] = (b'wheel-slim-action\n', False, None)
    rows += [record_row(dest, data) for dest, (data, _, origin) in files.items() if origin is None]
    outside = [d for d in files if os.path.isabs(d) or os.path.normpath(d).split(os.sep)[0] == '..']
    if outside:
        fail('%s has a file outside its install directory: %s' % (os.path.basename(wheel), ' '.join(outside)))
    for dest, (data, executable, _) in files.items():
        path = os.path.join(target, dest)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(data)
        os.chmod(path, 0o755 if executable else 0o644)
    out = io.StringIO()
    csv.writer(out, lineterminator='\n').writerows(sorted(rows) + [[record, '', '']])
    with open(os.path.join(target, record), 'w') as f:
        f.write(out.getvalue())


NEEDS = 'wheel-slim-needs.json'


def runtime_packages(cfg, platform, names):
    """The Debian packages the runtime stage installs, and why each: the user's and the parent's
    runtime packages, plus (automatic) those the compiled wheels link to, minus what the runtime
    image has. Recorded with the wheels, so a later run and a child image know them too."""
    parent = read_json('/wheel-slim/parent/' + NEEDS, {'wheels': {}, 'runtime_packages': []})
    cached = read_json('/wheel-slim/cache/wheel-slim-needs-%s.json' % platform.replace('/', '-'), {'wheels': {}})
    compiled = read_json('/wheel-slim/compiled/needs.json', {})
    needs = {**parent['wheels'], **cached['wheels'], **compiled}
    record = {'wheels': {w: needs[w] for w in names if w in needs}, 'runtime_packages': sorted(set(cfg['runtime_packages']) | set(parent['runtime_packages']))}
    record['wheels'].update({w: p for w, p in parent['wheels'].items() if w not in record['wheels']})
    for d in ('set', 'new'):
        write_json(os.path.join(OUT, d, NEEDS), record)
    why = {p: ['runtime-packages'] for p in cfg['runtime_packages']}
    for p in parent['runtime_packages']:
        why.setdefault(p, []).append('the parent\'s runtime-packages')
    if cfg['auto_runtime_packages']:
        for wheel in names:
            for p in needs.get(wheel, []):
                why.setdefault(p, []).append(wheel)
    installed = system_libs.installed_packages('/wheel-slim/runtime-image')
    packages = sorted(p for p in why if p.split('=')[0] not in installed)
    bad = [p for p in packages if not system_libs.APT_NAME.match(p)]
    if bad:
        fail('not Debian package names, refused: %s (from %s)' % (', '.join(bad), ', '.join(why[bad[0]])))
    os.makedirs(OUT + '/apt')
    with open(OUT + '/apt/packages', 'w') as f:
        f.write(' '.join(packages))
    if packages and not os.path.exists('/wheel-slim/runtime-image/usr/bin/apt-get'):
        fail('runtime-image %s has no apt-get, so the runtime packages %s cannot be installed on it.' % (cfg['runtime_image'], ', '.join(packages)))
    return packages, {p: why[p] for p in packages}


def lay_out(cfg, tree, add_user_here):
    """The install tree at this (runtime) image's site-packages and scripts paths, with bytecode;
    and the user, when runtime-base installs no package (else it adds the user itself, after the
    packages)."""
    import sysconfig

    purelib = sysconfig.get_path('purelib')
    scripts = sysconfig.get_path('scripts')
    lib = LAYER + purelib
    os.makedirs(lib)
    moved = {}
    for name in sorted(os.listdir(tree)):
        src = os.path.join(tree, name)
        if name == 'bin':
            moved = install_scripts(src, LAYER + scripts, os.path.relpath(scripts, purelib))
        elif os.path.isdir(src):
            shutil.copytree(src, os.path.join(lib, name), symlinks=True)
        else:
            shutil.copy2(src, lib)
    if moved:
        fix_records(lib, moved)
    epoch = int(os.environ.get('SOURCE_DATE_EPOCH') or 0)
    fix_times(LAYER, epoch)
    # Bytecode records the source's (fixed) time, so it is valid and the same on every rebuild.
    # In this process, one file after another: a worker pool costs more than it saves here, where
    # the other platform's collect and runtime-base run at the same time.
    import compileall
    import py_compile
    if not compileall.compile_dir(lib, quiet=1, stripdir=LAYER, prependdir='/', invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP):
        fail('could not compile the bytecode of the installed files (see the errors above)')
    if add_user_here:
        add_user(cfg['uid'], cfg['user'])
    fix_times(LAYER, epoch)
    say('collect', 'packages in', purelib, '- scripts in', scripts, '- python', sys.executable)


def install_scripts(src, dest, rel):
    """Console scripts, their shebang pointing at the runtime image's own python."""
    os.makedirs(dest)
    moved = {}
    for name in sorted(os.listdir(src)):
        with open(os.path.join(src, name), 'rb') as f:
            first, _, rest = f.read().partition(b'\n')
        if first.startswith(b'#!') and b'python' in first:
            first = b'#!' + sys.executable.encode()
        with open(os.path.join(dest, name), 'wb') as f:
            f.write(first + b'\n' + rest)
        os.chmod(os.path.join(dest, name), 0o755)
        moved['bin/' + name] = os.path.join(rel, name)
    return moved


def fix_records(lib, moved):
    """RECORD names scripts where they now are, as a normal pip install would."""
    for name in os.listdir(lib):
        record = os.path.join(lib, name, 'RECORD')
        if not (name.endswith('.dist-info') and os.path.isfile(record)):
            continue
        with open(record, newline='') as f:
            rows = list(csv.reader(f))
        out = io.StringIO()
        writer = csv.writer(out, lineterminator='\n')
        for row in rows:
            writer.writerow([moved[row[0]], '', ''] if row and row[0] in moved else row)
        with open(record, 'w', newline='') as f:
            f.write(out.getvalue())


def add_user(uid, user):
    """The runtime image's /etc/passwd and /etc/group plus the app's user (no date, unlike useradd)."""
    os.makedirs(LAYER + '/etc', exist_ok=True)
    lines = {'passwd': '%s:x:%d:%d::/nonexistent:/usr/sbin/nologin\n' % (user, uid, uid), 'group': '%s:x:%d:\n' % (user, uid)}
    for file, line in lines.items():
        path = '/wheel-slim/runtime-image/etc/' + file
        text = open(path).read() if os.path.exists(path) else ''
        if not any(l.split(':')[2:3] == [str(uid)] for l in text.splitlines()):
            text += ('' if text.endswith('\n') or not text else '\n') + line
        with open(LAYER + '/etc/' + file, 'w') as f:
            f.write(text)
        os.chmod(LAYER + '/etc/' + file, 0o644)


COMMANDS = {'own': own, 'resolve': resolve, 'compile': compile_wheels, 'collect': collect}

if __name__ == '__main__':
    COMMANDS[sys.argv[1]](json.loads(sys.argv[2]))
