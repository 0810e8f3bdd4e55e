"""Run in the built runtime image, on each platform, before anything is pushed: every compiled
extension module and library installed in site-packages must find the shared libraries it links
to. Prints one JSON list of {module, file, missing}; the action fails the run when it is not
empty. Uses the image's own dynamic loader the way ldd does (LD_TRACE_LOADED_OBJECTS), else ctypes."""
import ctypes
import glob
import json
import os
import re
import subprocess
import sysconfig

LOADERS = ['/lib*/ld-linux*.so*', '/lib/*/ld-linux*.so*', '/lib/ld-musl-*.so.1', '/usr/lib/*/ld-linux*.so*']


def missing_libraries(path, loader):
    if loader:
        env = dict(os.environ, LD_TRACE_LOADED_OBJECTS='1')
        out = subprocess.run([loader, path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env).stdout
        found = re.findall(r'^\s*(\S+) => not found', out, re.M)
        found += re.findall(r'error while loading shared libraries: (\S+?):', out)
        # musl's loader ignores LD_TRACE_LOADED_OBJECTS and says so when it loads the file.
        found += re.findall(r'Error loading shared library (\S+?): No such file', out)
        return sorted(set(found))
    try:
        ctypes.CDLL(path)
        return []
    except OSError as e:
        m = re.search(r'(\S+\.so[.\d]*): cannot open shared object file', str(e))
        return [m.group(1)] if m else [str(e)]


def main():
    loader = next((l for pattern in LOADERS for l in sorted(glob.glob(pattern))), None)
    found = []
    for root in sorted({sysconfig.get_path('purelib'), sysconfig.get_path('platlib')}):
        for d, _, files in os.walk(root):
            for f in sorted(files):
                if not re.search(r'\.so(\.\d+)*$', f):
                    continue
                path = os.path.join(d, f)
                missing = missing_libraries(path, loader)
                if missing:
                    rel = os.path.relpath(path, root)
                    module = re.sub(r'(\.cpython-[^.]*|\.abi3)?\.so(\.\d+)*$', '', rel).replace('/', '.')
                    found.append({'module': module, 'file': rel, 'missing': missing})
    print(json.dumps(found))


main()
