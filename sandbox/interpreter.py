"""The interpreter runs use: which one, and what of the host it needs inside the jail.

Any interpreter works: the system's, one under ``/opt``, a venv anywhere (its ``bin/python`` links to
a base interpreter elsewhere), a uv or pyenv build under a private home. ``resolve`` asks the
interpreter itself where it lives (``sys.prefix``, ``sys.base_prefix``, ...), follows the symlinks
from the given path to the binary, and finds the shared libraries it loads from outside the system
directories; the jail then binds exactly those trees read-only. A tree under a path the jail mounts
its own file system on (``/work``, ``/tmp``, ``/dev``, ``/proc``) is bound under ``RELOCATED``
instead, and the interpreter is run from there.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from functools import lru_cache

from sandbox.launch import SandboxUnavailable

ENV_VAR = "TOOLGYM_SANDBOX_PYTHON"
SYSTEM_DIRS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
JAIL_DIRS = ("/work", "/tmp", "/dev", "/proc")  # the jail mounts file systems of its own here
RELOCATED = "/.toolgym-python"
MIN_VERSION = (3, 9)
PROBE_TIMEOUT_S = 60.0
PROBE = (
    "import json, sys, sysconfig; p = sysconfig.get_paths(); print(json.dumps({"
    "'prefix': sys.prefix, 'base_prefix': sys.base_prefix, 'exec_prefix': sys.exec_prefix,"
    "'base_exec_prefix': sys.base_exec_prefix, 'executable': sys.executable,"
    "'version': list(sys.version_info[:3]), 'path': [x for x in sys.path if x],"
    "'stdlib': p['stdlib'], 'platstdlib': p['platstdlib']}))"
)
CLEAN_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


class InterpreterError(SandboxUnavailable):
    """The interpreter named for runs cannot be used; the message is one line naming where it came from."""


def inside(path: str, root: str) -> bool:
    """Whether ``path`` is ``root`` or below it (both absolute and normalized)."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def jail_path(path: str) -> str:
    """Where a host path is found inside the jail: where it is, or under RELOCATED when the jail
    mounts a file system of its own over it."""
    return RELOCATED + path if any(inside(path, d) for d in JAIL_DIRS) else path


@dataclass(frozen=True)
class SandboxPython:
    """An interpreter for runs: the path it is run by inside the jail and what to bind for it."""

    host_path: str  # absolute, symlinks kept (a venv is known by the path it is run by)
    executable: str  # the same, as seen inside the jail
    version: tuple[int, ...]
    prefix: str
    base_prefix: str
    binds: tuple[tuple[str, str], ...] = ()  # (host source, jail destination), bound read-only
    links: tuple[tuple[str, str], ...] = ()  # (link target, jail path): symlinks made in the jail
    roots: tuple[str, ...] = field(default=(), compare=False)  # host trees the interpreter reads

    def bwrap_args(self) -> list[str]:
        """bwrap arguments that make this interpreter runnable inside a jail whose /usr, /etc and
        /lib* are the host's."""
        args: list[str] = []
        made: set[str] = set()
        for dest in [d for _, d in self.binds] + [d for _, d in self.links]:
            # the directories above: open to all (bwrap would copy the host's modes, /root's 0700)
            parents = []
            parent = os.path.dirname(dest)
            while parent != "/" and parent not in made and not any(inside(parent, d) for d in SYSTEM_DIRS):
                parents.append(parent)
                parent = os.path.dirname(parent)
            for parent in reversed(parents):
                args += ["--perms", "0755", "--dir", parent]
                made.add(parent)
        for source, dest in self.binds:
            args += ["--ro-bind", source, dest]
        for target, dest in self.links:
            args += ["--symlink", target, dest]
        return args


def _norm(path: str) -> str:
    return os.path.normpath(os.path.abspath(path))


def _symlink_hops(path: str) -> list[tuple[str, str]]:
    """(link, absolute target) for every symlink followed from ``path`` to the file it names."""
    hops, seen = [], set()
    current = path
    while os.path.islink(current) and current not in seen:
        seen.add(current)
        target = os.readlink(current)
        absolute = _norm(os.path.join(os.path.realpath(os.path.dirname(current)), target))
        hops.append((current, absolute))
        current = absolute
    return hops


def _shared_libraries(files: list[str]) -> set[str]:
    """Absolute paths of the shared libraries ``files`` load, as ``ldd`` resolves them (none when
    ldd is missing: the interpreter was then checked to start without anything but its trees)."""
    ldd = shutil.which("ldd", path="/usr/bin:/bin")
    if not ldd or not files:
        return set()
    try:
        out = subprocess.run(
            [ldd, *files], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, env=CLEAN_ENV
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return set()
    libs = set()
    for line in out.splitlines():
        words = line.split()
        if "=>" in words and len(words) > words.index("=>") + 1:
            candidate = words[words.index("=>") + 1]
        elif words and words[0].startswith("/") and not line.rstrip().endswith(":"):
            candidate = words[0]
        else:
            continue
        if candidate.startswith("/") and os.path.exists(candidate):
            libs.add(_norm(candidate))
    return libs


def _probe(path: str, fail) -> dict:
    try:
        proc = subprocess.run(
            [path, "-I", "-c", PROBE],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            env=CLEAN_ENV,
            cwd="/",
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        fail(f"cannot be run ({exc})")
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        fail(f"is not a working Python interpreter ({lines[-1] if lines else f'exit {proc.returncode}'})")
    try:
        info = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        fail("is not a Python interpreter (it did not answer the probe)")
    if tuple(info["version"][:2]) < MIN_VERSION:
        found = ".".join(map(str, info["version"]))
        fail(f"is Python {found}; runs need {'.'.join(map(str, MIN_VERSION))} or newer")
    return info


def _unreadable(path: str, root: str, binary: bool = False) -> str | None:
    """The first of ``path`` and the directories above it up to ``root`` that other users cannot use
    (enter a directory, read a file or a listed directory, run the binary), or None."""
    current = path
    while True:
        try:
            mode = os.stat(current).st_mode
        except OSError:
            return None  # absent: nothing to read there
        if current != path:
            need = stat.S_IXOTH
        elif stat.S_ISDIR(mode):
            need = stat.S_IROTH | stat.S_IXOTH
        else:
            need = stat.S_IXOTH if binary else stat.S_IROTH
        if mode & need != need:
            return current
        if current in (root, "/"):
            return None
        current = os.path.dirname(current)


@lru_cache(maxsize=16)
def resolve(path: str, source: str, whole_host_path: bool = False) -> SandboxPython:
    """The interpreter at ``path`` (named by ``source``, e.g. the environment variable, in errors)
    with everything it needs bound. ``whole_host_path``: runs see the host's file system as it is
    (no jail), so every directory from ``/`` down must be open to other users."""

    def fail(problem: str):
        raise InterpreterError(f"{source}={path}: {problem}")

    given = path
    if "/" not in given:
        found = shutil.which(given)
        if not found:
            fail("no such command on PATH")
        given = found
    given = _norm(given)
    if not os.path.exists(given):
        fail("no such file")
    if not os.path.isfile(given) or not os.access(given, os.X_OK):
        fail("not an executable file")
    info = _probe(given, fail)
    real_binary = os.path.realpath(given)

    roots: list[str] = []
    for key in ("prefix", "base_prefix", "exec_prefix", "base_exec_prefix"):
        for candidate in (_norm(info[key]), os.path.realpath(info[key])):
            roots.append(candidate)
    roots.append(os.path.dirname(os.path.dirname(real_binary)))
    roots = [r for r in roots if r != "/" and not any(inside(r, d) for d in SYSTEM_DIRS)]
    kept: list[str] = []
    for root in sorted(set(roots), key=len):  # a tree inside another bound one comes with it
        if not any(inside(root, k) for k in kept):
            kept.append(root)

    def bound(p: str) -> bool:
        return any(inside(p, d) for d in SYSTEM_DIRS) or any(inside(p, k) for k in kept)

    links = []
    for link, target in _symlink_hops(given):
        if any(inside(link, d) for d in SYSTEM_DIRS):
            continue  # the host's own, bound as it is
        if bound(link):  # inside a bound tree: the link is there as it is on the host
            if os.path.isabs(os.readlink(link)) and jail_path(target) != target:
                fail(f"links to {target}, which the sandbox mounts its own file system over")
            continue
        links.append((jail_path(target), jail_path(link)))
    if info["prefix"] != info["base_prefix"] and jail_path(info["base_prefix"]) != info["base_prefix"]:
        fail(
            f"is a venv of {info['base_prefix']}, under a directory the sandbox mounts its own file "
            "system over: make the venv from an interpreter elsewhere"
        )

    dynload = os.path.join(info["platstdlib"], "lib-dynload")
    modules = []
    if os.path.isdir(dynload):
        modules = [os.path.join(dynload, n) for n in sorted(os.listdir(dynload)) if n.endswith(".so")]
    binds = [(root, jail_path(root)) for root in kept]
    # what the system's own directories hold links against them: only the interpreter's trees are asked
    outside = [f for f in (real_binary, *modules) if not any(inside(f, d) for d in SYSTEM_DIRS)]
    for lib in sorted(_shared_libraries(outside)):
        if not bound(lib) and not bound(os.path.realpath(lib)):
            binds.append((lib, jail_path(lib)))

    if os.geteuid() == 0:  # runs drop to an unprivileged uid: what they read must be open to others
        checks = [real_binary, info["stdlib"], *(p for p in info["path"] if os.path.isabs(p))]
        for item in map(_norm, checks):
            top = "/" if whole_host_path else next((k for k in kept if inside(item, k)), None)
            if top is None:
                continue  # a system directory, bound as it is
            bad = _unreadable(item, top, binary=item == real_binary)
            if bad:
                fail(
                    f"{bad} is not open to other users, and runs execute as an unprivileged uid "
                    f"(chmod -R o+rX {bad})"
                )
    return SandboxPython(
        host_path=given,
        executable=jail_path(given),
        version=tuple(info["version"]),
        prefix=info["prefix"],
        base_prefix=info["base_prefix"],
        binds=tuple(binds),
        links=tuple(links),
        roots=tuple(kept),
    )


DEFAULTS = ("/usr/bin/python3", "/usr/local/bin/python3")


def find(preferred: str | None = None, *, whole_host_path: bool = False) -> SandboxPython:
    """The interpreter for runs: ``preferred`` (the ``python`` setting), else ``$TOOLGYM_SANDBOX_PYTHON``,
    else the first of the system's python3 and this process's own that can serve. A named one that
    cannot serve is an ``InterpreterError`` saying why, never a silent fallback."""
    if preferred:
        return resolve(preferred, "python", whole_host_path)
    from_env = os.environ.get(ENV_VAR, "").strip()
    if from_env:
        return resolve(from_env, ENV_VAR, whole_host_path)
    problems = []
    for candidate in (*DEFAULTS, sys.executable):
        if candidate and os.path.exists(candidate):
            try:
                return resolve(candidate, "python3", whole_host_path)
            except InterpreterError as exc:
                problems.append(str(exc))
    raise InterpreterError(
        "no usable python3 for sandboxed runs: install one (e.g. `apt-get install python3`) or set "
        f"{ENV_VAR}" + (f" ({'; '.join(problems)})" if problems else "")
    )
