"""The hidden-test harness: a stdlib-only program that runs inside the sandbox.

It is sent as the code of one sandbox run; everything else (the submission, the hidden tests, a
per-run token) arrives on stdin, which it reads once and closes. Its design keeps the submission
away from everything that decides the score:

* The submission runs in a separate process (the *child*): forked before the harness reads its
  stdin (so it starts warm but holds no secret), or, for a restart, a freshly exec'd interpreter.
  The harness makes itself non-dumpable first, so the child can neither read its memory (where the
  tests are) nor reach its file descriptors. The child's stdin, stdout and stderr are
  ``/dev/null``; it talks to the harness only through two pipes.
* The hidden tests run in the harness (the *trusted* process). The candidate they call is a proxy:
  each call goes to the child, and only plain data (None, bool, int, float, complex, str, bytes and
  lists, tuples, sets, dicts of them, exact types only) comes back; anything else comes back as an
  opaque handle that supports calls and attribute access but no truth value, comparison or
  arithmetic. ``assert`` and ``==`` run in the trusted process, on data the submission computed but
  cannot give a forged behaviour.
* The tests' namespace is never merged with the submission's. The grader's own names (its record
  and abort hooks, ``bool`` and the exception class the rewritten code catches) are bound first, under
  names the tests may not use. A name the tests read is the builtin if it is one, setup's or the
  tests' own if they bind it anywhere; only the remaining free names (and the entry point, the
  candidate) resolve to the submission's top-level names, as proxies. A name the submission lacks
  fails the asserts that need it.
* Every ``assert`` of the tests is rewritten to record its own outcome; the harness reports them in
  one line that starts with the per-run token, which the child never sees. ``sys.exit``,
  ``os._exit``, a ``SystemExit`` in a ``finally``, patched builtins, printed text, signals or a dead
  child only ever make assertions fail.

Stdin (JSON): ``token``, ``submission``, ``tests`` (Python code: top-level asserts and/or a
``check(candidate)`` function), ``setup`` (trusted code run before the tests, e.g. the helpers of a
HumanEval prompt), ``entry_point`` (an expression over the submission's top-level names, like
``add`` or ``Solution().add``, or null), ``call_timeout_s``, ``deadline_s``.
Stdout: ``<token> {"results": {id: true|false}, "errors": [...], "load_error": str|null}``, or
``<token> HARNESS-ERROR <message>`` when the tests themselves cannot run (they do not parse, setup
raises, the tests raise outside their statements), or a bare ``HARNESS-ERROR <message>`` when the
harness fails before it has read its request. Nothing the submission does leads to either.
"""

import sys

# Nothing in the work directory (the first entry, "") may stand in for a module imported below.
sys.path[:] = [p for p in sys.path if p]

import ast  # noqa: E402
import base64  # noqa: E402
import builtins  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import select  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

MAX_FRAME = 64 * 1024 * 1024
MAX_DEPTH = 200
MAX_HANDLES = 10_000
MAX_RESPAWNS = 3
IGNORED_SIGNALS = (
    "SIGINT",
    "SIGTERM",
    "SIGHUP",
    "SIGQUIT",
    "SIGUSR1",
    "SIGUSR2",
    "SIGALRM",
    "SIGPIPE",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGVTALRM",
    "SIGPROF",
    "SIGXCPU",
    "SIGWINCH",
    "SIGIO",
)

CHILD = r"""
import base64, builtins, json, os, sys
if "RD" not in globals():  # a fresh interpreter (a restart): the pipes are named on the command line
    RD, WR = int(sys.argv[1]), int(sys.argv[2])
MAX_FRAME = 64 * 1024 * 1024
handles = {}

def read_exact(n):
    buf = b""
    while len(buf) < n:
        chunk = os.read(RD, n - len(buf))
        if not chunk:
            os._exit(0)
        buf += chunk
    return buf

def recv():
    n = int.from_bytes(read_exact(8), "big")
    if n > MAX_FRAME:
        os._exit(3)
    return json.loads(read_exact(n))

def send(obj):
    data = json.dumps(obj).encode()
    data = len(data).to_bytes(8, "big") + data
    while data:
        data = data[os.write(WR, data):]

def handle(x):
    if len(handles) >= 10000:
        raise ValueError("too many objects returned")
    handles[id(x)] = x
    return {"h": id(x)}

def enc(x, depth=0):
    if depth > 200:
        raise ValueError("value nested too deeply")
    t = type(x)
    if x is None or t is bool or t is str:
        return x
    if t is int:
        return x if abs(x) < 2**53 else {"i": str(x)}
    if t is float:
        return x if x == x and x not in (float("inf"), float("-inf")) else {"f": repr(x)}
    if t is list:
        return [enc(v, depth + 1) for v in x]
    if t is tuple:
        return {"t": [enc(v, depth + 1) for v in x]}
    if t is set or t is frozenset:
        return {"s" if t is set else "fs": [enc(v, depth + 1) for v in x]}
    if t is dict:
        return {"d": [[enc(k, depth + 1), enc(v, depth + 1)] for k, v in x.items()]}
    if t is bytes:
        return {"b": base64.b64encode(x).decode()}
    if t is complex:
        return {"c": [repr(x.real), repr(x.imag)]}
    if getattr(t, "__module__", "") == "numpy" and hasattr(x, "tolist"):
        return enc(x.tolist(), depth + 1)
    return handle(x)

def dec(x):
    if isinstance(x, list):
        return [dec(v) for v in x]
    if not isinstance(x, dict):
        return x
    (k, v), = x.items()
    if k == "i":
        return int(v)
    if k == "f":
        return float(v)
    if k == "t":
        return tuple(dec(e) for e in v)
    if k == "s":
        return {dec(e) for e in v}
    if k == "fs":
        return frozenset(dec(e) for e in v)
    if k == "d":
        return {dec(a): dec(b) for a, b in v}
    if k == "b":
        return base64.b64decode(v)
    if k == "c":
        return complex(float(v[0]), float(v[1]))
    if k == "h":
        return handles[v]
    if k == "n":
        return ns[v]
    raise ValueError("bad value")

def describe(e):
    return (type(e).__name__ + ": " + str(e))[:300]

ns = {"__name__": "__solution__", "__builtins__": builtins}
while True:
    msg = recv()
    try:
        if msg["op"] == "load":
            try:
                exec(compile(msg["code"], "<submission>", "exec"), ns)
                reply = {"ok": True}
            except BaseException as e:
                reply = {"ok": False, "error": describe(e)}
            reply["names"] = [k for k, v in ns.items() if not k.startswith("__")]
        elif msg["op"] == "call":
            fn = dec(msg["ref"])
            value = fn(*dec(msg["args"]), **{k: dec(v) for k, v in msg["kwargs"].items()})
            reply = {"ok": True, "value": enc(value)}
        elif msg["op"] == "getattr":
            reply = {"ok": True, "value": enc(getattr(dec(msg["ref"]), msg["name"]))}
        else:
            reply = {"ok": False, "error": "unknown op"}
    except BaseException as e:
        try:
            reply = {"ok": False, "error": describe(e)}
        except BaseException:
            reply = {"ok": False, "error": "the submission raised an exception"}
    send(reply)
"""


class CandidateError(Exception):
    """A call into the submission failed: it raised, timed out, died or returned bad data."""


class Child:
    """The submission's process, restarted (up to ``MAX_RESPAWNS`` times) after it dies or hangs."""

    def __init__(self, submission, call_timeout_s, deadline, preforked=None):
        self.preforked = preforked
        self.submission = submission
        self.call_timeout_s = call_timeout_s
        self.deadline = deadline
        self.proc = None
        self.spawns = 0
        self.load_error = None
        self.names = []

    def _start(self):
        if self.spawns > MAX_RESPAWNS:
            raise CandidateError("the submission's process died too often")
        self.spawns += 1
        try:
            self._spawn()
        except CandidateError:
            raise
        except Exception as e:  # e.g. no process left to start: the submission used them up
            self.kill()
            raise CandidateError(f"the submission's process could not start ({type(e).__name__})") from None
        reply = self._rpc({"op": "load", "code": self.submission})
        names = reply.get("names") if isinstance(reply.get("names"), list) else []
        self.names = [
            n for n in names[:10_000] if isinstance(n, str) and n.isidentifier() and not n.startswith("__")
        ]
        if not reply.get("ok") and self.load_error is None:
            self.load_error = str(reply.get("error"))[:300]

    def _spawn(self):
        if self.preforked is not None:
            self.proc, self.rd, self.wr = self.preforked
            self.preforked = None
        else:  # a restart: a fresh interpreter, since this process now holds the tests
            p_r, c_w = os.pipe()
            c_r, p_w = os.pipe()
            try:
                self.proc = subprocess.Popen(
                    [sys.executable, "-I", "-c", CHILD, str(c_r), str(c_w)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    pass_fds=(c_r, c_w),
                )
            except BaseException:
                for fd in (p_r, c_w, c_r, p_w):
                    os.close(fd)
                raise
            os.close(c_r)
            os.close(c_w)
            self.rd, self.wr = p_r, p_w

    def kill(self):
        if self.proc is None and self.preforked is not None:  # never started: end it all the same
            self.proc, self.rd, self.wr = self.preforked
            self.preforked = None
        if self.proc is not None:
            try:
                if isinstance(self.proc, int):  # the preforked child
                    os.kill(self.proc, signal.SIGKILL)
                    os.waitpid(self.proc, 0)
                else:
                    self.proc.kill()
                    self.proc.wait(5)
            except Exception:
                pass
            for fd in (self.rd, self.wr):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self.proc = None

    def _read_exact(self, n, until):
        buf = b""
        while len(buf) < n:
            left = until - time.monotonic()
            if left <= 0 or not select.select([self.rd], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(self.rd, n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def _rpc(self, msg):
        until = min(time.monotonic() + self.call_timeout_s, self.deadline)
        data = json.dumps(msg).encode()
        try:
            os.write(self.wr, len(data).to_bytes(8, "big"))
            view = memoryview(data)
            while view:
                view = view[os.write(self.wr, view[:65536]) :]
            n = int.from_bytes(self._read_exact(8, until), "big")
            if n > MAX_FRAME:
                raise ValueError("reply too large")
            reply = json.loads(self._read_exact(n, until))
            if not isinstance(reply, dict):
                raise ValueError("malformed reply")
            return reply
        except TimeoutError:
            self.kill()
            raise CandidateError(f"the call took longer than {self.call_timeout_s:g}s") from None
        except Exception as e:  # a dead child, or a reply built to break the parser (too deep, too big)
            self.kill()
            raise CandidateError(f"the submission's process failed ({type(e).__name__})") from None

    def request(self, msg):
        if time.monotonic() >= self.deadline:
            raise CandidateError("out of time")
        if self.proc is None:
            self._start()
        reply = self._rpc(msg)
        if not reply.get("ok"):
            raise CandidateError(str(reply.get("error"))[:300])
        return decode(reply.get("value"), self)


class Remote:
    """A proxy for an object that lives in the submission's process: calls and attribute access go
    there; truth value, comparison, hashing by value and arithmetic are not offered."""

    __slots__ = ("_child", "_ref")

    def __init__(self, child, ref):
        object.__setattr__(self, "_child", child)
        object.__setattr__(self, "_ref", ref)

    def __call__(self, *args, **kwargs):
        return self._child.request(
            {
                "op": "call",
                "ref": self._ref,
                "args": [encode(a) for a in args],
                "kwargs": {str(k): encode(v) for k, v in kwargs.items()},
            }
        )

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._child.request({"op": "getattr", "ref": self._ref, "name": name})

    def __bool__(self):
        raise TypeError("the submission returned an object that is not plain data")

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    __hash__ = object.__hash__

    def __repr__(self):
        return "<object of the submission>"


def encode(x, depth=0):
    if depth > MAX_DEPTH:
        raise CandidateError("argument nested too deeply")
    t = type(x)
    if x is None or t in (bool, str):
        return x
    if t is int:
        return x if abs(x) < 2**53 else {"i": str(x)}
    if t is float:
        return x if x == x and abs(x) != float("inf") else {"f": repr(x)}
    if t is list:
        return [encode(v, depth + 1) for v in x]
    if t is tuple:
        return {"t": [encode(v, depth + 1) for v in x]}
    if t in (set, frozenset):
        return {"s" if t is set else "fs": [encode(v, depth + 1) for v in x]}
    if t is dict:
        return {"d": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in x.items()]}
    if t is bytes:
        return {"b": base64.b64encode(x).decode()}
    if t is complex:
        return {"c": [repr(x.real), repr(x.imag)]}
    if t is Remote:
        return x._ref
    raise CandidateError(f"cannot pass a {t.__name__} to the submission")


def decode(x, child, depth=0):
    if depth > MAX_DEPTH:
        raise CandidateError("value nested too deeply")
    if x is None or type(x) in (bool, str, int, float):
        return x
    if type(x) is list:
        return [decode(v, child, depth + 1) for v in x]
    if type(x) is not dict or len(x) != 1:
        raise CandidateError("malformed value")
    ((k, v),) = x.items()
    try:
        if k == "i":
            return int(v)
        if k == "f":
            return float(v)
        if k == "t":
            return tuple(decode(e, child, depth + 1) for e in v)
        if k == "s":
            return {decode(e, child, depth + 1) for e in v}
        if k == "fs":
            return frozenset(decode(e, child, depth + 1) for e in v)
        if k == "d":
            return {decode(a, child, depth + 1): decode(b, child, depth + 1) for a, b in v}
        if k == "b":
            return base64.b64decode(v)
        if k == "c":
            return complex(float(v[0]), float(v[1]))
        if k == "h" and type(v) is int:
            return Remote(child, {"h": v})
    except CandidateError:
        raise
    except Exception:
        raise CandidateError("malformed value") from None
    raise CandidateError("malformed value")


GRADER_PREFIX = "__grader_"
BUILTIN_NAMES = frozenset(dir(builtins))


class _Instrument(ast.NodeTransformer):
    """Give every non-constant ``assert`` an id and record its outcome; wrap each statement of the
    module body and of ``check``'s body so one that raises outside an assert does not end the rest.

    The rewritten code refers only to the grader's own names (``__grader_*__``: the record and abort
    hooks, ``bool`` and the exception class it catches), bound by the harness before the tests run
    and never to anything of the submission."""

    def __init__(self):
        self.asserts = []  # (assert id, top-level statement id)
        self.statement = None
        self.statements = 0

    def visit_Assert(self, node):
        if isinstance(node.test, ast.Constant):
            return ast.Pass()
        aid = len(self.asserts)
        self.asserts.append((aid, self.statement))
        call = ast.parse(
            f"try:\n    __grader_ok__ = __grader_bool__(__grader_test__)\nexcept __grader_Exception__:\n"
            f"    __grader_record__({aid}, False)\nelse:\n    __grader_record__({aid}, __grader_ok__)"
        ).body[0]
        call.body[0].value.args[0] = node.test
        return ast.fix_missing_locations(ast.copy_location(call, node))

    def wrap_body(self, body):
        out = []
        for stmt in body:
            sid = self.statements
            self.statements += 1
            outer, self.statement = self.statement, sid
            stmt = self.visit(stmt)
            self.statement = outer
            guard = ast.parse(
                "try:\n    pass\nexcept __grader_Exception__ as __grader_e__:\n"
                f"    __grader_abort__({sid}, __grader_e__)"
            ).body[0]
            guard.body = stmt if isinstance(stmt, list) else [stmt]
            out.append(ast.fix_missing_locations(guard))
        return out

    def visit_FunctionDef(self, node):
        if getattr(node, "_grader_top", False):
            node.body = self.wrap_body(node.body)
            return node
        return self.generic_visit(node)


def names_of(tree):
    """(names the code binds anywhere, in any scope; names it reads) of a parsed module."""
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
    return bound, read


def free_names(*trees):
    """The names the tests (and setup) read but neither defines nor gets from the builtins: the only
    names that may resolve to the submission's. A builtin is always the builtin; a name that setup or
    the tests bind anywhere is theirs."""
    bound, read = set(), set()
    for tree in trees:
        b, r = names_of(tree)
        bound |= b
        read |= r
    return sorted(read - bound - BUILTIN_NAMES)


def instrument(tests):
    """Parse and rewrite the tests; returns (code object, [(assert id, statement id)], syntax tree)."""
    tree = ast.parse(tests, "<tests>")
    bound, read = names_of(tree)
    reserved = sorted(n for n in bound | read if n.startswith(GRADER_PREFIX))
    if reserved:
        raise ValueError(f"the tests use names reserved for the grader: {reserved}")
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == "check":
            stmt._grader_top = True
    inst = _Instrument()
    original = ast.parse(tests, "<tests>")
    tree.body = inst.wrap_body(tree.body)
    ast.fix_missing_locations(tree)
    return compile(tree, "<tests>", "exec"), inst.asserts, original


def protect():
    """Make this process unreadable by the submission and immune to its signals."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(4, 0, 0, 0, 0) != 0:  # PR_SET_DUMPABLE = 4
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")
    for name in IGNORED_SIGNALS:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    # Only the interpreter's own import locations: the submission can write to the work dir and
    # must not be able to plant a module that the tests import later.
    prefixes = {os.path.realpath(p) + os.sep for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    sys.path[:] = [p for p in sys.path if p and any(os.path.realpath(p).startswith(x) for x in prefixes)]
    sys.dont_write_bytecode = True


def prefork():
    """Fork the first child before anything secret is read, so it starts warm yet holds nothing
    but this (public) program; returns (pid, read fd, write fd) of its pipes."""
    p_r, c_w = os.pipe()
    c_r, p_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            for fd in range(3, 1024):
                if fd not in (c_r, c_w):
                    with contextlib.suppress(OSError):
                        os.close(fd)
            for sig in IGNORED_SIGNALS:
                if hasattr(signal, sig):
                    signal.signal(getattr(signal, sig), signal.SIG_DFL)
            exec(compile(CHILD, "<child>", "exec"), {"__name__": "__child__", "RD": c_r, "WR": c_w})
        finally:
            os._exit(0)
    os.close(c_r)
    os.close(c_w)
    return pid, p_r, p_w


def main():
    start = time.monotonic()
    try:
        protect()
        preforked = prefork()
        spec = json.loads(sys.stdin.buffer.read())
        sys.stdin.close()
        os.close(0)
        token = str(spec["token"])
    except Exception as e:
        print("HARNESS-ERROR", f"{type(e).__name__}: {e}"[:500])
        return

    def broken(message):  # the tests, not the submission, cannot run
        child.kill()
        sys.stdout.write(f"{token} HARNESS-ERROR {message[:500]}\n")
        sys.stdout.flush()

    child = Child("", 1.0, start, preforked)
    try:
        code, asserts, tests_tree = instrument(spec["tests"])
        setup_src = spec.get("setup") or ""
        setup_tree = ast.parse(setup_src, "<setup>")
        setup = compile(setup_tree, "<setup>", "exec")
        entry = spec.get("entry_point") or None
        if entry is not None:
            entry_tree = ast.parse(entry, "<entry_point>", "eval")
            entry_code = compile(entry_tree, "<entry_point>", "eval")
        deadline = start + float(spec.get("deadline_s", 20.0))
        child = Child(str(spec["submission"]), float(spec.get("call_timeout_s", 5.0)), deadline, preforked)
    except Exception as e:
        broken(f"{type(e).__name__}: {e}")
        return
    outcomes, aborted, errors = {}, set(), []

    def record(aid, ok):
        outcomes[aid] = outcomes.get(aid, True) and ok

    def abort(sid, exc):
        aborted.add(sid)
        if len(errors) < 5:
            try:
                errors.append(f"{type(exc).__name__}: {exc}"[:300])
            except Exception:
                errors.append(type(exc).__name__)

    # The grader's own names, bound before anything else runs; the submission never reaches this
    # namespace (it lives in another process) and none of its names is merged into it.
    glb = {
        "__name__": "__tests__",
        "__builtins__": dict(builtins.__dict__),
        "__grader_record__": record,
        "__grader_abort__": abort,
        "__grader_bool__": bool,
        "__grader_Exception__": Exception,
    }
    # Trusted setup first, before the submission is even loaded: if it raises, the spec is broken.
    try:
        exec(setup, glb)
    except Exception as e:
        broken(f"the setup raised {type(e).__name__}: {e}")
        return
    try:
        child._start()
    except CandidateError as e:
        errors.append(str(e))
    # Only the free names of the tests that are neither builtins nor defined by setup or the tests
    # may resolve to the submission's top-level names, as proxies; the entry point is the candidate,
    # which the tests may also call by its name.
    offered = set(child.names)
    for name in free_names(setup_tree, tests_tree):
        if name in offered:
            glb[name] = Remote(child, {"n": name})
    candidate = None
    if entry is not None:
        names = {n.id for n in ast.walk(entry_tree) if isinstance(n, ast.Name)}
        scope = {n: Remote(child, {"n": n}) for n in names if n in offered}
        try:
            candidate = eval(entry_code, {"__builtins__": {}}, scope)
        except Exception as e:
            errors.append(f"entry point {entry!r}: {type(e).__name__}: {e}"[:300])
            candidate = Remote(child, {"n": entry})
        if entry.isidentifier():
            glb[entry] = candidate
    try:
        exec(code, glb)
        check = glb.get("check")
        if candidate is not None and callable(check) and "check" in names_of(tests_tree)[0]:
            try:
                check(candidate)
            except Exception as e:
                abort(-1, e)
    except Exception as e:
        broken(f"the tests raised {type(e).__name__}: {e}")
        return
    child.kill()
    results = {}
    for aid, sid in asserts:
        results[str(aid)] = outcomes.get(aid, False) is True and sid not in aborted
    line = json.dumps(
        {
            "results": results,
            "errors": errors,
            "load_error": child.load_error,
            "elapsed_s": round(time.monotonic() - start, 4),
        }
    )
    sys.stdout.write(f"{token} {line}\n")
    sys.stdout.flush()


main()
