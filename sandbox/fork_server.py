"""The warm worker that runs inside the sandbox: a fork server speaking length-prefixed JSON frames.

This module is stdlib-only and self-contained: the host passes its source to the sandbox's own
interpreter (``python3 -I -c SOURCE``), so it must not import anything from this project. The host
imports it too, for the frame helpers, so both ends share one protocol implementation.

Protocol (stdin/stdout of the server process, one frame per message):
  host -> server: ``{"op": "init", ...settings}`` once, answered by ``{"ready": true}``;
  ``{"op": "run", ...request}`` answered by the result fields, then ``{"clean": true}``;
  ``{"op": "session_open", ...}`` then any number of ``{"op": "session_run", ...}`` (session mode).

Two processes, so that no process that runs user code ever held another run's data:

* the *server* talks to the host. It holds requests and results, but it never forks a run.
* the *zygote* is forked from the server once, right after start-up, before any request exists. It
  only ever receives file descriptors (a request's memfd, its stdin memfd, the output pipes) and
  forks one child per run, which reads its own request from its own memfd. Every run therefore
  starts from the same clean image: the preloaded modules and nothing of any other run.

Each child installs the inner seccomp filter, sets rlimits, drops to the run's unprivileged uid and
runs the code. The server captures the output with caps, enforces the wall clock and the memory of
the run as a whole, then kills every process the run left behind and (as root) has the zygote mount
new, size- and inode-limited tmpfs on /work, /tmp and /dev/shm, so the next run starts from empty
directories that no earlier run ever touched.
"""

from __future__ import annotations

import ast
import base64
import builtins
import contextlib
import fcntl
import json
import os
import resource
import select
import selectors
import signal
import socket
import struct
import sys
import time
import traceback
import types

HEADER = struct.Struct(">I")
MAX_FRAME = 256 * 1024 * 1024
# One thread for the numeric libraries: a run is bounded in CPU time, processes and address space,
# and a BLAS thread pool per core would spend all three (and the server preloads numpy before forking).
THREADS_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}
ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONIOENCODING": "utf-8",
    **THREADS_ENV,
}
CPU_GRACE_S = 1
SESSION_CPU_S = 3600
KILL_WAIT_S = 2.0
ZYGOTE_WAIT_S = 10.0
MEMORY_SAMPLE_S = 0.01
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
MS_NOSUID, MS_NODEV, MNT_DETACH = 0x2, 0x4, 0x2
MEMORY_MARKERS = ("MemoryError", "Cannot allocate memory", "cannot allocate memory", "std::bad_alloc")
CELL = struct.Struct(">QB")  # a session's answer after each cell: the cell's number and ok (0 or 1)
# A child's status channel: SETUP_DONE once its jail is set up, just before the code starts, then
# EXITING + the exit status byte as the interpreter ends (so the server need not wait for the process
# to be torn down). A bash run's channel closes with its exec. Only the run's main process (pid
# ``_main_pid``) writes to it: a process the code forks inherits the descriptor, and its end is not
# the run's.
SETUP_DONE = b"1"
EXITING = b"E"
_status_fd = -1
_main_pid = -1


# ---------------------------------------------------------------- framing (shared with the host)
def write_frame(fd: int, obj: dict) -> None:
    """Write one JSON frame to a file descriptor."""
    data = json.dumps(obj).encode()
    view = memoryview(HEADER.pack(len(data)) + data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def read_exact(fd: int, n: int, deadline: float | None = None) -> bytes:
    """Read exactly ``n`` bytes (EOFError on end of stream, TimeoutError past ``deadline``)."""
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError("no answer from the sandbox worker in time")
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("sandbox worker closed its channel")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, deadline: float | None = None) -> dict:
    """Read one JSON frame from a file descriptor."""
    (size,) = HEADER.unpack(read_exact(fd, HEADER.size, deadline))
    if size > MAX_FRAME:
        raise ValueError(f"frame of {size} bytes exceeds {MAX_FRAME}")
    return json.loads(read_exact(fd, size, deadline))


# ---------------------------------------------------------------- system calls through libc
_libc_handle = None


def _libc_call(name: str, *args) -> int:
    """Call a libc function; OSError on failure."""
    import ctypes

    if getattr(_libc(), name)(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}: {os.strerror(err)}")
    return 0


def _libc():
    """libc through ctypes, loaded once (in the zygote, before any fork, so no child pays for it)."""
    global _libc_handle
    if _libc_handle is None:
        import ctypes

        _libc_handle = ctypes.CDLL(None, use_errno=True)
        for name in ("prctl", "mount", "umount2"):
            getattr(_libc_handle, name)  # resolved and cached on the handle
    return _libc_handle


def _prctl(option: int, value: int) -> None:
    with contextlib.suppress(Exception):  # best effort hardening
        _libc_call("prctl", option, value, 0, 0, 0)


class _Filter:
    """The inner seccomp filter as a ``struct sock_fprog``, built once in the zygote."""

    def __init__(self, bpf: bytes) -> None:
        import ctypes

        class Fprog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

        self._buf = ctypes.create_string_buffer(bpf, len(bpf))
        self.prog = Fprog(len(bpf) // 8, ctypes.addressof(self._buf))
        self._ref = ctypes.byref(self.prog)

    def install(self) -> None:
        _libc_call("prctl", PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        _libc_call("prctl", PR_SET_SECCOMP, SECCOMP_MODE_FILTER, self._ref, 0, 0)


# ---------------------------------------------------------------- inside the child
def _limit(kind: int, value: int) -> None:
    resource.setrlimit(kind, (value, value))


def _fingerprint(path: str) -> tuple:
    """Everything a run could have changed about a mount: its root directory's inode (mode, owner,
    times, links, size), its extended attributes and the blocks and inodes in use."""
    st, vfs = os.stat(path), os.statvfs(path)
    return (
        st.st_ino,
        st.st_mode,
        st.st_uid,
        st.st_gid,
        st.st_nlink,
        st.st_size,
        st.st_atime_ns,
        st.st_mtime_ns,
        st.st_ctime_ns,
        tuple(os.listxattr(path)),
        vfs.f_blocks - vfs.f_bfree,
        vfs.f_files - vfs.f_ffree,
    )


def _fresh_mounts(cfg: dict, made: dict[str, tuple]) -> None:
    """New, empty tmpfs mounts (size and inode bounded) for /work, /tmp and /dev/shm, the old ones
    detached: nothing a run wrote, and no mode, time or attribute it set, reaches the next run. A
    mount whose fingerprint is still the one it had when it was made (the run never touched it) is
    kept: the next run could not tell it from a new one. ``made``: path -> fingerprint, updated."""
    size = int(cfg["tmpfs_mb"]) * 1024 * 1024
    inodes = int(cfg["tmpfs_inodes"])
    uid = cfg["uid"]
    for path, mode, owner in (
        (cfg["workdir"], "0755", uid),
        ("/tmp", "1777", 0),
        ("/dev/shm", "1777", 0),
    ):
        if path in made and _fingerprint(path) == made[path]:
            continue
        target = path.encode()
        _libc_call("umount2", target, MNT_DETACH)
        opts = f"size={size},nr_inodes={inodes},mode={mode},uid={owner},gid={owner}".encode()
        _libc_call("mount", b"tmpfs", target, b"tmpfs", MS_NOSUID | MS_NODEV, opts)
        made[path] = _fingerprint(path)


def _drop(cfg: dict) -> None:
    """Set the limits that do not depend on a request, then drop to the run's unprivileged uid
    (when started as root)."""
    _limit(resource.RLIMIT_FSIZE, int(cfg["fsize_mb"]) * 1024 * 1024)
    _limit(resource.RLIMIT_NOFILE, int(cfg["nofile"]))
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_MEMLOCK, 0)
    _limit(resource.RLIMIT_MSGQUEUE, 0)
    if int(cfg["nproc"]) > 0:
        _limit(resource.RLIMIT_NPROC, int(cfg["nproc"]))
    if os.getuid() == 0:
        os.setgroups([])
        os.setresgid(cfg["gid"], cfg["gid"], cfg["gid"])
        os.setresuid(cfg["uid"], cfg["uid"], cfg["uid"])
    os.umask(0o022)
    os.environ.clear()
    os.environ.update(ENV, HOME=cfg["workdir"], TMPDIR=cfg["tmpdir"])


def _request_limits(req: dict, preloaded: int = 0) -> None:
    """The request's own limits (only ever lowered: the uid is dropped already). The address space
    the server's preloaded modules map (``preloaded`` bytes) comes on top of ``memory_mb``, so a run
    has the same room whatever is preloaded."""
    memory = int(req["memory_mb"]) * 1024 * 1024 + preloaded
    _limit(resource.RLIMIT_AS, memory)
    _limit(resource.RLIMIT_DATA, memory)
    cpu = int(req.get("cpu_s") or int(float(req["timeout_s"])) + CPU_GRACE_S)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU first, SIGKILL a second later


def _reseed_after_fork() -> None:
    """Give every forked process its own seed for preloaded generators seeded at import (the
    standard ``random`` module does this itself): numpy.random's global RandomState."""
    np_random = sys.modules.get("numpy.random")
    if np_random is not None and hasattr(np_random, "seed"):
        os.register_at_fork(after_in_child=np_random.seed)


def _address_space() -> int:
    """This process's mapped address space in bytes (what RLIMIT_AS counts)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _write_files(workdir: str, files: dict) -> None:
    """Write the request's files (as the run's uid, into its own work dir)."""
    for name, b64 in files.items():
        path = os.path.normpath(os.path.join(workdir, name))
        if not path.startswith(workdir + "/") or "\0" in name:
            raise ValueError(f"file name {name!r} escapes the work directory")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(b64))


def _python_stdio() -> None:
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)  # noqa: SIM115


def _fresh_main() -> dict:
    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = main
    sys.argv[:] = ["-c"]
    sys.path.insert(0, "")
    return main.__dict__


def _user_tb(exc: BaseException):
    """The traceback of ``exc`` without this module's frames."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == "<toolgym-sandbox>":
        tb = tb.tb_next
    return tb


def _exit_code(exc: SystemExit) -> int:
    """The exit status the interpreter gives an uncaught SystemExit (printing a non-int code)."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    with contextlib.suppress(Exception):
        print(code, file=sys.stderr)
    return 1


def _finish(code: int) -> None:
    """End the child like interpreter shutdown does (atexit, non-daemon threads, flushed stdio) but
    without tearing down every module, which costs more than the run itself."""
    import atexit
    import threading

    try:
        threading._shutdown()  # type: ignore[attr-defined]
        atexit._run_exitfuncs()
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException as exc:  # noqa: BLE001
        traceback.print_exception(type(exc), exc, _user_tb(exc))
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - like the interpreter: a failed flush makes the exit status 120
            code = code or 120
    if _status_fd >= 0 and os.getpid() == _main_pid:  # a forked process's end is not the run's
        with contextlib.suppress(OSError):
            os.write(_status_fd, EXITING + bytes([code & 0xFF]))
    os._exit(code)


def _run_python(code: str) -> None:
    """Run ``code`` as ``__main__`` and exit the way ``python -c`` would."""
    _python_stdio()
    namespace = _fresh_main()
    status = 0
    try:
        exec(compile(code, "<string>", "exec"), namespace)
    except SystemExit as exc:
        status = _exit_code(exc)
    except BaseException as exc:  # noqa: BLE001 - report like the interpreter does
        try:
            traceback.print_exception(type(exc), exc, _user_tb(exc))
        except BaseException:  # noqa: BLE001 - e.g. MemoryError while formatting
            os.write(2, f"{type(exc).__name__}\n".encode())
        status = 1
    _finish(status)


def _session_loop(ctl_r: int, ctl_w: int) -> None:
    """Persistent interpreter: run each received cell in one namespace, answer after each with the
    cell's number and whether it raised (a fixed-size answer the server checks strictly). A process
    a cell forks ends where the cell ends, as a forked ``python -c`` ends with its code: it never
    answers for the cell nor reads the next one."""
    _python_stdio()
    namespace = _fresh_main()
    session_pid = os.getpid()
    while True:
        try:
            msg = read_frame(ctl_r)
        except (EOFError, OSError, ValueError):  # only the code itself can break this channel
            os.write(2, b"the session's input channel was closed or written to; the session ends\n")
            os._exit(1)
        ok = True
        try:
            tree = ast.parse(msg["code"], "<cell>", "exec")
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body.pop().value)
            exec(compile(tree, "<cell>", "exec"), namespace)
            if last is not None:
                value = eval(compile(last, "<cell>", "eval"), namespace)
                if value is not None:
                    namespace["_"] = value
                    print(repr(value))
        except SystemExit as exc:
            _finish(_exit_code(exc))
        except BaseException as exc:  # noqa: BLE001 - a failing cell does not end the session
            ok = False
            traceback.print_exception(type(exc), exc, _user_tb(exc))
        if os.getpid() != session_pid:
            _finish(0 if ok else 1)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os.write(ctl_w, CELL.pack(msg["seq"], int(ok)))


def _child(cfg: dict, sock: socket.socket, inner: _Filter | None) -> None:
    """A run's process, forked from the zygote ahead of its request: it enters the jail, then waits
    for its descriptors, reads its own request and runs it. Never returns."""
    try:
        os.closerange(3, sock.fileno())
        os.closerange(sock.fileno() + 1, 65536)
        os.setsid()
        os.chdir(cfg["workdir"])
        if inner is not None:
            inner.install()
        _drop(cfg)
        try:
            msg, fds, _, _ = socket.recv_fds(sock, 16, 8)
        except OSError:
            os._exit(0)
        if not msg:
            os._exit(0)  # the zygote is gone: nothing to run
        sock.close()
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 16) for fd in fds]  # out of the way of 0..6
        for fd in fds:
            os.close(fd)
        req_high, setup_high = high[:2]
        targets = high[2:]  # stdin, stdout, stderr, then a session's channel in and out
        for target, fd in enumerate(targets):
            os.dup2(fd, target)
        req_fd, setup_w = len(targets), len(targets) + 1
        os.dup2(req_high, req_fd)
        os.dup2(setup_high, setup_w, inheritable=False)
        os.closerange(setup_w + 1, 65536)
        req = json.loads(os.pread(req_fd, os.fstat(req_fd).st_size, 0))
        os.close(req_fd)
        _request_limits(req, int(cfg.get("preloaded_vm", 0)))
        _write_files(cfg["workdir"], req.get("files") or {})
        code, language = req["code"], req["language"]
        del req
        if os.getuid() != 0:  # until now no process of this uid could look into this one
            _prctl(PR_SET_DUMPABLE, 1)
        os.write(setup_w, SETUP_DONE)
        global _status_fd, _main_pid
        _status_fd, _main_pid = setup_w, os.getpid()
    except BaseException:  # noqa: BLE001 - the jail could not be set up: the server reports it
        with contextlib.suppress(BaseException):
            os.write(2, traceback.format_exc().encode())
        os._exit(125)
    if msg == b"S":
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        _session_loop(3, 4)
    elif language == "bash":
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.execve(cfg["bash"], [cfg["bash"], "-c", code], dict(os.environ))
    else:
        _run_python(code)
    os._exit(0)


# ---------------------------------------------------------------- the zygote
def _zygote(sock: socket.socket, cfg: dict, mounts: dict[str, tuple]) -> None:
    """Keep one child forked and jailed ahead of the next request; hand it each request's
    descriptors and report its pid (with a pidfd) and exit status.

    It receives descriptors only, never request data. Messages from the server: ``R`` (a run) or
    ``S`` (a session) with descriptors; ``C`` (clean: new tmpfs mounts and a new spare child, once
    the last run's processes are gone). To the server: ``P`` + pid with the child's pidfd, ``X`` +
    pid + exit status once it has reaped a child, ``C`` + ``1`` or ``0`` when the mounts are (or
    could not be) made anew. Exits when the server goes away."""
    import gc

    inner = _Filter(base64.b64decode(cfg["inner_seccomp"])) if cfg.get("inner_seccomp") else None
    _libc()
    gc.freeze()  # children do not copy pages just to walk these objects
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    children: dict[int, int] = {}  # pidfd -> pid
    spare: tuple[int, int, socket.socket] | None = None  # pid, pidfd, its channel

    def fork_spare() -> tuple[int, int, socket.socket]:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            sel.close()
            mine.close()
            _child(cfg, theirs, inner)
        theirs.close()
        pidfd = os.pidfd_open(pid)
        children[pidfd] = pid
        sel.register(pidfd, selectors.EVENT_READ)
        return pid, pidfd, mine

    def hand_over(kind: bytes, fds: list[int]) -> tuple[int, int]:
        nonlocal spare
        for _ in range(2):
            if spare is None or spare[1] not in children:
                spare = fork_spare()
            pid, pidfd, channel = spare
            spare = None
            try:
                socket.send_fds(channel, [kind], fds)
                return pid, pidfd
            except OSError:
                continue  # that spare died before its request: fork another
            finally:
                channel.close()
        raise OSError("no child could take the request")

    spare = fork_spare()
    while True:
        for key, _ in sel.select():
            if key.fileobj is sock:
                try:
                    msg, fds, _, _ = socket.recv_fds(sock, 16, 8)
                except OSError:
                    os._exit(0)
                if not msg:
                    os._exit(0)
                if msg == b"C":
                    try:
                        if cfg.get("fresh_mounts"):
                            _fresh_mounts(cfg, mounts)
                        if spare is None:
                            spare = fork_spare()
                        sock.send(b"C1")
                    except OSError as exc:
                        sock.send(b"C0" + str(exc).encode()[:200])
                    continue
                try:
                    pid, pidfd = hand_over(msg, fds)
                finally:
                    for fd in fds:
                        os.close(fd)
                socket.send_fds(sock, [b"P" + struct.pack(">i", pid)], [pidfd])
            else:
                pidfd = key.fd
                pid = children.pop(pidfd)
                sel.unregister(pidfd)
                _, status = os.waitpid(pid, 0)
                if spare is not None and spare[0] == pid:
                    spare[2].close()
                    spare = None
                os.close(pidfd)
                sock.send(b"X" + struct.pack(">ii", pid, os.waitstatus_to_exitcode(status)))


# ---------------------------------------------------------------- inside the server
def _memory_of(pid: str, fields: tuple[bytes, ...], name: str) -> int:
    """The sum of ``fields`` (kB lines) of /proc/PID/``name``, read through a live thread when the
    thread group's first thread has exited (its own entry then shows no memory)."""
    for path in (f"/proc/{pid}", *(f"/proc/{pid}/task/{t}" for t in _tasks(pid))):
        total, seen = 0, False
        try:
            with open(f"{path}/{name}", "rb") as f:
                for line in f:
                    if line.startswith(fields):
                        total += int(line.split()[1]) * 1024
                        seen = True
        except (OSError, ValueError, IndexError):
            continue
        if seen:
            return total
    return 0


def _tasks(pid: str) -> list[str]:
    try:
        return os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []


def _run_pids(keep: set[int]) -> list[str]:
    return [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in keep]


def _run_memory(keep: set[int]) -> int:
    """Memory the run's processes hold, anonymous and shared (MAP_SHARED, /dev/shm mappings) alike:
    a fast sum that counts pages shared after a fork once per process, then, only when that sum is
    over a limit, the exact one that splits them (``_run_pss``)."""
    return sum(_memory_of(p, (b"RssAnon:", b"RssShmem:"), "status") for p in _run_pids(keep))


def _run_pss(keep: set[int]) -> int:
    return sum(_memory_of(p, (b"Pss_Anon:", b"Pss_Shmem:"), "smaps_rollup") for p in _run_pids(keep))


def _capture(
    pidfd: int,
    out_r: int,
    err_r: int,
    deadline: float,
    limit: int,
    done_r: int | None = None,
    memory: tuple[int, set[int]] | None = None,
    status_r: int | None = None,
):
    """Collect stdout/stderr until the child exits or says it is exiting (on ``status_r``), a
    session answers, the deadline, the output cap or, with ``memory`` (bytes, pids to leave out),
    the run's memory as a whole passes its limit. Returns (reason, stdout, stderr, the session's
    answer, what the status channel said)."""
    sel = selectors.DefaultSelector()
    bufs = {out_r: bytearray(), err_r: bytearray()}
    for fd in bufs:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    sel.register(pidfd, selectors.EVENT_READ)
    if done_r is not None:
        sel.register(done_r, selectors.EVENT_READ)
    status = bytearray()
    if status_r is not None:
        os.set_blocking(status_r, False)
        sel.register(status_r, selectors.EVENT_READ)
    reason, answer = None, None
    next_sample = time.monotonic() + MEMORY_SAMPLE_S

    def drain(fd: int) -> bool:
        """Read what is there; False at end of stream."""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                return True
            if not chunk:
                return False
            bufs[fd] += chunk
            if len(bufs[fd]) > limit:
                return True

    try:
        while reason is None:
            now = time.monotonic()
            left = deadline - now
            if left <= 0:
                reason = "timeout"
                break
            if memory is not None and now >= next_sample:
                next_sample = now + MEMORY_SAMPLE_S
                if _run_memory(memory[1]) > memory[0] and _run_pss(memory[1]) > memory[0]:
                    reason = "oom"
                    break
            wait = left if memory is None else min(left, max(0.0, next_sample - now))
            for key, _ in sel.select(wait):
                fd = key.fd
                if fd in bufs:
                    if not drain(fd):
                        sel.unregister(fd)
                    if len(bufs[fd]) > limit:
                        reason = "output_limit"
                elif fd == pidfd:
                    reason = "exited"
                elif fd == done_r:
                    answer = _read_cell_answer(done_r)
                    reason = "done" if answer is not None else "broken"
                elif fd == status_r:
                    chunk = b""
                    with contextlib.suppress(BlockingIOError):
                        chunk = os.read(status_r, 16)
                    status += chunk
                    if status[:2] == SETUP_DONE + EXITING and len(status) >= 3:
                        reason = "exiting"
                    elif (
                        not chunk or len(status) >= 3 or status[:2] not in (SETUP_DONE, SETUP_DONE + EXITING)
                    ):
                        # closed, or the code wrote something else into it: wait for the process
                        sel.unregister(status_r)
            if reason in ("exited", "done", "exiting"):
                for fd in bufs:
                    drain(fd)
                if any(len(b) > limit for b in bufs.values()):
                    reason = "output_limit"
        if status_r is not None and not status:
            with contextlib.suppress(OSError):
                status += os.read(status_r, 16)
    finally:
        sel.close()
    return reason, bytes(bufs[out_r][:limit]), bytes(bufs[err_r][:limit]), answer, bytes(status)


def _read_cell_answer(fd: int) -> tuple[int, int] | None:
    """A session's fixed-size answer, or None if what is there is not one (the code wrote into the
    channel or closed it)."""
    try:
        data = os.read(fd, CELL.size)
    except OSError:
        return None
    if len(data) != CELL.size:
        return None
    seq, ok = CELL.unpack(data)
    return (seq, ok) if ok in (0, 1) else None


def _kill_uid(uid: int) -> None:
    """Kill every process of ``uid`` (a helper drops to that uid and signals -1)."""
    helper = os.fork()
    if helper == 0:
        try:
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            end = time.monotonic() + KILL_WAIT_S
            while time.monotonic() < end:
                try:
                    os.kill(-1, signal.SIGKILL)
                except ProcessLookupError:
                    break
                time.sleep(0.0005)
        finally:
            os._exit(0)
    os.waitpid(helper, 0)


def _gone(pid: str) -> bool:
    """Whether a process has ended for good: a zombie whose every thread has exited (a thread group
    whose first thread exited while others run shows as a zombie too), or no process at all."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state in (b"Z", b"X") and len(os.listdir(f"/proc/{pid}/task")) <= 1
    except (OSError, IndexError):
        return True


def _kill_namespace(keep: set[int]) -> None:
    """SIGKILL every process of this PID namespace but ``keep`` (a signal to a zombie leader reaches
    its live threads) and wait, on pidfds rather than by polling, until every one has ended; then
    look again for any forked meanwhile. RuntimeError if one outlasts ``KILL_WAIT_S``."""
    end = time.monotonic() + KILL_WAIT_S
    while True:
        pidfds = []
        try:
            for p in os.listdir("/proc"):
                if not p.isdigit() or int(p) in keep or _gone(p):
                    continue
                try:
                    pidfd = os.pidfd_open(int(p))
                except OSError:
                    continue  # ended meanwhile
                pidfds.append(pidfd)
                with contextlib.suppress(OSError):
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            if not pidfds:
                return
            poller = select.poll()
            for pidfd in pidfds:
                poller.register(pidfd, select.POLLIN)
            pending = len(pidfds)
            while pending:
                left = end - time.monotonic()
                if left <= 0:
                    raise RuntimeError("a run's processes outlived the kill")
                for pidfd, _ in poller.poll(left * 1000):
                    poller.unregister(pidfd)
                    pending -= 1
        finally:
            for pidfd in pidfds:
                os.close(pidfd)


def remove_tree(root: str) -> None:
    """Empty ``root`` without recursion and without deep paths: files are removed, and a directory
    that is not empty has its entries moved up into ``root`` first, so any depth is fine."""
    moved = 0
    for _ in range(1_000_000):
        try:
            entries = list(os.scandir(root))
        except OSError:
            return
        if not entries:
            return
        for entry in entries:
            try:
                if not entry.is_dir(follow_symlinks=False):
                    os.unlink(entry.path)
                    continue
                with contextlib.suppress(OSError):
                    os.chmod(entry.path, 0o700)
                try:
                    os.rmdir(entry.path)
                    continue
                except OSError:
                    pass
                for child in os.scandir(entry.path):
                    moved += 1
                    os.rename(child.path, os.path.join(root, f".toolgym-{moved}"))
            except OSError:
                continue


def _reset_dir(path: str, mode: int, uid: int | None) -> None:
    """Give a reused directory back its first mode, owner, times and no extended attributes."""
    with contextlib.suppress(OSError):
        for name in os.listxattr(path):
            with contextlib.suppress(OSError):
                os.removexattr(path, name)
    with contextlib.suppress(OSError):
        os.chmod(path, mode)
    if uid is not None:
        with contextlib.suppress(OSError):
            os.chown(path, uid, uid)
    with contextlib.suppress(OSError):
        os.utime(path, (0, 0))


def _stdin_fd(data: str | None) -> int:
    fd = os.memfd_create("stdin")
    if data:
        os.write(fd, base64.b64decode(data))
        os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _status(reason: str, exit_code: int, stderr: bytes) -> str:
    if reason in ("timeout", "output_limit", "oom"):
        return reason
    if exit_code == 0:
        return "ok"
    if exit_code in (-signal.SIGXCPU,):
        return "timeout"
    tail = stderr[-2048:].decode("utf-8", "replace")
    if any(marker in tail for marker in MEMORY_MARKERS):
        return "oom"
    return "error"


def _result(reason, exit_code, out, err, started) -> dict:
    return {
        "stdout": out.decode("utf-8", "replace"),
        "stderr": err.decode("utf-8", "replace"),
        "exit_code": exit_code,
        "status": _status(reason, exit_code, err),
        "wall_s": time.monotonic() - started,
    }


def _setup_failure(err: bytes, started: float) -> dict:
    """The result of a child whose jail could not be set up: the sandbox's failure, not the code's."""
    tail = err[-1500:].decode("utf-8", "replace").strip()
    return {
        "stdout": "",
        "stderr": f"sandbox error: the run's jail could not be set up: {tail or 'no message'}",
        "exit_code": None,
        "status": "sandbox_error",
        "wall_s": time.monotonic() - started,
    }


class Server:
    """The server loop; one request at a time. Runs are forked by its zygote, never by itself."""

    def __init__(self, cfg: dict, host_fds: tuple[int, ...] = ()) -> None:
        self.cfg = cfg
        self.workdir = cfg["workdir"]
        self.session: dict | None = None
        self.mounts: dict[str, tuple] = {}
        if cfg.get("fresh_mounts"):
            _fresh_mounts(cfg, self.mounts)  # the first run's mounts, before anything can be forked
        self.zsock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.zygote = os.fork()
        if self.zygote == 0:
            self.zsock.close()
            for fd in host_fds:  # the host's channel stays the server's alone
                os.close(fd)
            try:
                _zygote(theirs, cfg, self.mounts)
            finally:
                os._exit(0)
        theirs.close()
        self.keep = {1, os.getpid(), self.zygote}
        self.exits: dict[int, int] = {}
        self.last_pid = 0

    def _spawn(self, req: dict, session: bool):
        """Have the zygote fork the child for a run or a session; returns (pid, pidfd, out_r,
        err_r, setup_r, ctl fds)."""
        if not self.cfg.get("fresh_mounts"):
            self._prepare_workdir()
        payload = {k: req.get(k) for k in ("code", "language", "files", "memory_mb", "timeout_s", "cpu_s")}
        req_fd = os.memfd_create("request")
        data = json.dumps(payload).encode()
        view = memoryview(data)
        while view:
            view = view[os.write(req_fd, view) :]
        stdin_fd = _stdin_fd(req.get("stdin"))
        setup_r, setup_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        if os.getuid() == 0:  # so that the run may open /dev/stdout or /dev/stderr itself
            for fd in (out_w, err_w):
                os.fchown(fd, self.cfg["uid"], self.cfg["gid"])
        theirs = [req_fd, setup_w, stdin_fd, out_w, err_w]
        ours = None
        if session:
            ctl_r, ctl_w = os.pipe()
            done_r, done_w = os.pipe()
            theirs += [ctl_r, done_w]
            ours = (ctl_w, done_r)
        try:
            socket.send_fds(self.zsock, [b"S" if session else b"R"], theirs)
        finally:
            for fd in theirs:
                os.close(fd)
        pid, pidfd = self._zygote_pid()
        self.last_pid = pid
        return pid, pidfd, out_r, err_r, setup_r, ours

    def _zygote_message(self, deadline: float) -> tuple[bytes, list[int]]:
        """The zygote's next message and the descriptors it carries."""
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([self.zsock], [], [], left)[0]:
            raise TimeoutError("the zygote did not answer")
        msg, fds, _, _ = socket.recv_fds(self.zsock, 16, 2)
        if not msg:
            raise EOFError("the zygote is gone")
        return msg, fds

    def _zygote_pid(self) -> tuple[int, int]:
        deadline = time.monotonic() + ZYGOTE_WAIT_S
        while True:
            msg, fds = self._zygote_message(deadline)
            if msg[:1] == b"P":
                return struct.unpack(">i", msg[1:5])[0], fds[0]
            self._note(msg, fds)

    def _note(self, msg: bytes, fds: list[int]) -> None:
        """Keep an exit status the zygote reported; close descriptors nobody asked for."""
        for fd in fds:
            os.close(fd)
        if msg[:1] == b"X":
            done, code = struct.unpack(">ii", msg[1:9])
            self.exits[done] = code

    def _exit_status(self, pid: int) -> int:
        deadline = time.monotonic() + ZYGOTE_WAIT_S
        while pid not in self.exits:
            self._note(*self._zygote_message(deadline))
        return self.exits.pop(pid)

    def _prepare_workdir(self) -> None:
        """Without fresh mounts: the emptied work dir, given back its first mode and owner."""
        owner = self.cfg["uid"] if os.getuid() == 0 else None
        _reset_dir(self.workdir, 0o755, owner)

    def _memory_watch(self, req: dict) -> tuple[int, set[int]] | None:
        if self.cfg.get("kill_mode") != "namespace":
            return None  # outside a PID namespace the run's processes are not told apart cheaply
        return int(req["memory_mb"]) * 1024 * 1024, self.keep

    def cleanup(self) -> None:
        """Kill what the run left, give the next run new mounts (or, where mounts cannot be made,
        emptied directories) and have the zygote fork the next run's child."""
        mode = self.cfg["kill_mode"]
        if mode == "namespace":
            _kill_namespace(self.keep)
        elif mode == "uid":
            _kill_uid(self.cfg["uid"])
        elif self.last_pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.last_pid, signal.SIGKILL)
        if not self.cfg.get("fresh_mounts"):
            for root in self.cfg["wipe"]:
                remove_tree(root)
        self.zsock.send(b"C")
        deadline = time.monotonic() + ZYGOTE_WAIT_S
        while True:
            msg, fds = self._zygote_message(deadline)
            self._note(msg, fds)
            if msg[:1] == b"C":
                if msg[1:2] != b"1":
                    raise RuntimeError(f"new mounts failed: {msg[2:].decode(errors='replace')}")
                self.exits.clear()  # statuses of children whose end was reported otherwise
                return

    def _finish_child(self, pid: int, pidfd: int, kill: bool) -> int:
        if kill:
            with contextlib.suppress(ProcessLookupError, OSError):
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        os.close(pidfd)
        return self._exit_status(pid)

    @staticmethod
    def _setup_done(setup_r: int) -> bool:
        os.set_blocking(setup_r, False)
        try:
            return os.read(setup_r, 1) == SETUP_DONE
        except OSError:
            return False
        finally:
            os.close(setup_r)

    def run(self, req: dict) -> dict:
        started = time.monotonic()
        pid, pidfd, out_r, err_r, setup_r, _ = self._spawn(req, session=False)
        try:
            reason, out, err, _, status = _capture(
                pidfd,
                out_r,
                err_r,
                started + float(req["timeout_s"]),
                int(req["max_output_bytes"]),
                memory=self._memory_watch(req),
                status_r=setup_r,
            )
        finally:
            for fd in (out_r, err_r, setup_r):
                os.close(fd)
        if reason == "exiting":  # the interpreter said how it ends: no need to wait for its teardown
            os.close(pidfd)
            exit_code, reason = status[2], "exited"
        else:
            exit_code = self._finish_child(pid, pidfd, kill=reason != "exited")
        if status[:1] != SETUP_DONE:
            return _setup_failure(err, started)
        return _result(reason, exit_code, out, err, started)

    def session_open(self, req: dict) -> dict:
        # timeout_s bounds each call; the interpreter's CPU time over its whole life gets a wide bound
        req = dict(req, language="python", cpu_s=SESSION_CPU_S)
        pid, pidfd, out_r, err_r, setup_r, ctl = self._spawn(req, session=True)
        self.session = {
            "pid": pid,
            "pidfd": pidfd,
            "out": out_r,
            "err": err_r,
            "ctl_w": ctl[0],
            "done_r": ctl[1],
            "setup_r": setup_r,
            "req": req,
            "seq": 0,
        }
        return {"ok": True}

    def session_run(self, req: dict) -> dict:
        started = time.monotonic()
        s = self.session
        if s is None:
            return {"error": "no open session"}
        s["seq"] += 1
        with contextlib.suppress(OSError):  # if the interpreter is gone, _capture sees it exit
            write_frame(s["ctl_w"], {"code": req["code"], "seq": s["seq"]})
        limit = int(s["req"]["max_output_bytes"])
        reason, out, err, answer, _ = _capture(
            s["pidfd"],
            s["out"],
            s["err"],
            started + float(req["timeout_s"]),
            limit,
            done_r=s["done_r"],
            memory=self._memory_watch(s["req"]),
        )
        if reason == "done" and answer[0] != s["seq"]:
            reason = "broken"  # an answer for another cell: the code wrote into the channel
        if reason == "done":
            result = _result("exited", 0 if answer[1] else 1, out, err, started)
            result["alive"] = True
            return result
        exit_code = self._finish_child(s["pid"], s["pidfd"], kill=reason != "exited")
        self.session = None
        for fd in (s["out"], s["err"], s["ctl_w"], s["done_r"]):
            os.close(fd)
        if not self._setup_done(s["setup_r"]):
            return _setup_failure(err, started) | {"alive": False}
        if reason == "broken":
            note = "\nthe session's code wrote into or closed its result channel; the session is ended\n"
            err = err[: max(0, limit - len(note))] + note.encode()
            reason = "exited"
            exit_code = exit_code or 1
        result = _result(reason, exit_code, out, err, started)
        result["alive"] = False
        return result

    def serve(self, rfd: int, wfd: int) -> None:
        write_frame(wfd, {"ready": True, "uid": os.getuid(), "pid": os.getpid()})
        while True:
            try:
                req = read_frame(rfd)
            except EOFError:
                return
            op = req.get("op")
            if op == "run":
                answer = self.run(req)
            elif op == "session_open":
                answer = self.session_open(req)
            elif op == "session_run":
                answer = self.session_run(req)
            else:
                answer = {"error": f"unknown op {op!r}"}
            write_frame(wfd, answer)
            if answer.get("status") == "sandbox_error":
                return  # a run's jail could not be set up: this worker is not to be trusted again
            if op == "run":
                self.cleanup()
                write_frame(wfd, {"clean": True})  # read by the host before it sends the next request
            elif op == "session_run" and not answer.get("alive", False):
                self.cleanup()


def oneshot(rfd: int) -> None:
    """One run from the frame ``{"init": ..., "run": ...}`` read from ``rfd`` once the zygote is
    forked; the result is printed as one JSON line (the container-per-run backend, whose container
    goes away with everything the run left)."""
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    init = read_frame(rfd)
    _prctl(PR_SET_DUMPABLE, 0)
    server = Server(init, (rfd,))
    job = read_frame(rfd)
    os.close(rfd)
    result = server.run(job)
    os.write(1, b"\n" + json.dumps(result).encode() + b"\n")


def main() -> None:
    """Entry point inside the sandbox: read the init frame, warm up, serve."""
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    if len(sys.argv) > 2 and sys.argv[2] == "oneshot":
        rfd = os.dup(0)
        devnull = os.open("/dev/null", os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        oneshot(rfd)
        return
    rfd, wfd = os.dup(0), os.dup(1)
    devnull = os.open("/dev/null", os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    cfg = read_frame(rfd)
    os.environ.update(THREADS_ENV)  # read by the numeric libraries as they load
    before = _address_space()
    for name in cfg.get("preload", []):
        with contextlib.suppress(Exception):  # a missing optional module only costs speed
            __import__(name)
    cfg["preloaded_vm"] = max(0, _address_space() - before)
    _reseed_after_fork()
    _prctl(PR_SET_DUMPABLE, 0)
    Server(cfg, (rfd, wfd)).serve(rfd, wfd)


if __name__ == "__main__":
    main()
