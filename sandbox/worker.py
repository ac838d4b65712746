"""Host side of one warm worker: the fork server process, its channel, its restart on failure."""

from __future__ import annotations

import base64
import contextlib
import os
import subprocess
import tempfile
import threading
import time
from typing import Any

from sandbox import fork_server, launch
from sandbox.config import SandboxConfig
from sandbox.interpreter import SandboxPython
from sandbox.seccomp_filter import compile_filter, filter_fd

START_TIMEOUT_S = 30.0
ANSWER_GRACE_S = 5.0
CLEAN_TIMEOUT_S = 30.0


class WorkerError(RuntimeError):
    """The worker died or stopped answering; the run's outcome is unknown."""


class WorkerStale(WorkerError):
    """The worker did not finish cleaning up after its previous run; the request was not sent."""


class Worker:
    """One fork server in its own sandbox. Not thread-safe: the pool hands it to one caller at a time."""

    def __init__(self, cfg: SandboxConfig, python: SandboxPython) -> None:
        self.cfg, self.python = cfg, python
        self.proc: subprocess.Popen[bytes] | None = None
        self.lease: launch.UidLease | None = None
        self.runs = 0
        self._dirty = False  # a run's cleanup acknowledgement is still to be read
        self._hostdir: str | None = None
        try:
            self.lease = launch.UidLease()
            self._start()
        except Exception as exc:
            self.close()
            if isinstance(exc, WorkerError):
                raise
            raise WorkerError(f"worker failed to start: {exc!r}") from exc

    def _init_frame(self) -> dict[str, Any]:
        cfg = self.cfg
        frame = {
            "op": "init",
            "uid": self.lease.uid,
            "gid": self.lease.uid,
            "nproc": cfg.nproc,
            "nofile": cfg.nofile,
            "fsize_mb": cfg.fsize_mb,
            "bash": "/bin/bash",
            "preload": list(cfg.preload),
        }
        if cfg.backend == "bwrap":
            as_root = os.geteuid() == 0
            return frame | {
                "workdir": launch.WORKDIR,
                "tmpdir": "/tmp",
                "wipe": [launch.WORKDIR, "/tmp", "/dev/shm"],
                "kill_mode": "namespace",
                # as root, every run gets new tmpfs mounts (else they are emptied)
                "fresh_mounts": as_root,
                "tmpfs_mb": cfg.tmpfs_mb,
                "tmpfs_inodes": cfg.tmpfs_inodes,
                "inner_seccomp": base64.b64encode(compile_filter(inner=True)).decode(),
            }
        self._hostdir = tempfile.mkdtemp(prefix="toolgym-sandbox-")
        os.chmod(self._hostdir, 0o755)
        if os.geteuid() == 0:
            return frame | {
                "workdir": self._hostdir,
                "tmpdir": self._hostdir,
                "wipe": [self._hostdir],
                "kill_mode": "uid",
            }
        # not root and no namespaces: RLIMIT_NPROC would count all of this user's processes
        return frame | {
            "workdir": self._hostdir,
            "tmpdir": self._hostdir,
            "wipe": [self._hostdir],
            "kill_mode": "group",
            "nproc": 0,
        }

    def _start(self) -> None:
        init = self._init_frame()
        if self.cfg.backend == "bwrap":
            seccomp_fd = filter_fd(inner=False)
            try:
                cmd = launch.bwrap_command(self.cfg, self.python, seccomp_fd)
                self.proc = launch.popen(
                    cmd,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    pass_fds=(seccomp_fd,),
                    start_new_session=True,
                )
            finally:
                os.close(seccomp_fd)
        else:
            self.proc = launch.popen(
                launch.rlimits_command(self.python),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                cwd=init["workdir"],
                env={"PATH": "/usr/bin:/bin"},
            )
        threading.Thread(target=self._drain_stderr, args=(self.proc,), daemon=True).start()
        try:
            fork_server.write_frame(self.proc.stdin.fileno(), init)
            ready = fork_server.read_frame(self.proc.stdout.fileno(), time.monotonic() + START_TIMEOUT_S)
        except (OSError, EOFError, TimeoutError, ValueError) as exc:
            raise WorkerError(f"worker failed to start: {exc}; {self.last_error()}") from exc
        if not ready.get("ready"):
            raise WorkerError(f"worker failed to start: {ready}")

    def _drain_stderr(self, proc: subprocess.Popen[bytes]) -> None:
        """Keep the worker's own stderr (bwrap or server failures) for error messages."""
        self._stderr_tail = b""
        try:
            while chunk := proc.stderr.read1(4096):
                self._stderr_tail = (self._stderr_tail + chunk)[-2048:]
        except (OSError, ValueError):
            pass

    def last_error(self) -> str:
        tail = getattr(self, "_stderr_tail", b"").decode(errors="replace").strip()
        return tail or "no message from the worker"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def call(self, frame: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Send one request and wait for its answer (WorkerError if none comes in time)."""
        if not self.alive:
            raise WorkerError(f"worker is not running: {self.last_error()}")
        if self._dirty:
            try:
                fork_server.read_frame(self.proc.stdout.fileno(), time.monotonic() + CLEAN_TIMEOUT_S)
            except (OSError, EOFError, TimeoutError, ValueError) as exc:
                self.close()
                raise WorkerStale(f"worker did not clean up after its last run: {exc}") from exc
            self._dirty = False
        deadline = time.monotonic() + timeout_s + ANSWER_GRACE_S
        try:
            fork_server.write_frame(self.proc.stdin.fileno(), frame)
            answer = fork_server.read_frame(self.proc.stdout.fileno(), deadline)
        except (OSError, EOFError, TimeoutError, ValueError) as exc:
            self.close()
            raise WorkerError(f"worker failed during the run: {exc}") from exc
        if "error" in answer:
            self.close()
            raise WorkerError(f"worker refused the request: {answer['error']}")
        self.runs += 1
        self._dirty = frame.get("op") == "run"
        return answer

    def rss_bytes(self) -> int:
        """Resident memory of the worker's whole process tree (bwrap and the fork server)."""
        if not self.alive:
            return 0
        total, todo = 0, [self.proc.pid]
        while todo:
            pid = todo.pop()
            try:
                with open(f"/proc/{pid}/statm") as f:
                    total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
                with open(f"/proc/{pid}/task/{pid}/children") as f:
                    todo += [int(c) for c in f.read().split()]
            except OSError:
                continue
        return total

    def close(self) -> None:
        """Kill the worker (its PID namespace goes with it) and free its uid."""
        proc, self.proc = self.proc, None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, 9)
            proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                with contextlib.suppress(OSError):
                    stream.close()
        if self._hostdir is not None:
            fork_server.remove_tree(self._hostdir)  # any depth a run left there
            with contextlib.suppress(OSError):
                os.rmdir(self._hostdir)
            self._hostdir = None
        if self.lease is not None:
            self.lease.release()
