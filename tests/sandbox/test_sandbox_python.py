"""The interpreter of runs: the provisioned one with numpy (``toolgym sandbox python-setup``), any venv
or interpreter outside /usr, read-only inside the run, and a bad path refused at startup in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox import Sandbox
from sandbox.interpreter import RELOCATED, jail_path, resolve
from sandbox.launch import SandboxUnavailable

ROOT = Path(__file__).resolve().parents[2]


def toolgym(
    *args: str, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agents", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


@pytest.fixture(scope="module")
def scientific_python() -> str:
    """The interpreter of ``toolgym sandbox python-setup`` (made on first use, found made later)."""
    out = toolgym("sandbox", "python-setup")
    assert out.returncode == 0, out.stderr
    path = out.stdout.strip().splitlines()[-1]
    assert os.path.isfile(path) and os.access(path, os.X_OK), out.stdout
    return path


@pytest.fixture(scope="module")
def scientific(scientific_python):
    with Sandbox(workers=1, max_sessions=1, python=scientific_python) as sb:
        yield sb


def test_python_setup_gives_numpy_scipy_sympy_and_is_idempotent(scientific_python):
    again = toolgym("sandbox", "python-setup", timeout=120)
    assert again.returncode == 0 and again.stdout.strip() == scientific_python
    assert "already provisioned" in again.stderr
    versions = subprocess.run(
        [scientific_python, "-I", "-c", "import numpy, scipy, sympy; print(numpy.__version__)"],
        capture_output=True,
        text=True,
    )
    pinned = (Path(ROOT) / "sandbox" / "python-requirements.txt").read_text()
    assert versions.returncode == 0 and f"numpy=={versions.stdout.strip()}" in pinned


def test_numpy_computes_in_a_run(scientific):
    r = scientific.run(
        "import numpy as np\n"
        "a = np.arange(1, 10, dtype=float).reshape(3, 3) + np.eye(3)\n"
        "x = np.linalg.solve(a, np.ones(3))\n"
        "print(np.allclose(a @ x, 1), int(np.arange(10**6).sum()))"
    )
    assert (r.status, r.stdout) == ("ok", "True 499999500000\n"), r


def test_scipy_and_sympy_in_a_run(scientific):
    r = scientific.run(
        "import numpy as np, scipy.linalg, sympy\n"
        "print(round(float(scipy.linalg.det(2 * np.eye(3))), 6), sympy.factor('x**2 - 1'))",
        timeout_s=30,
    )
    assert (r.status, r.stdout) == ("ok", "8.0 (x - 1)*(x + 1)\n"), r


def test_a_session_keeps_numpy_state(scientific):
    with scientific.open_session() as s:
        s.run("import numpy as np; a = np.ones((2, 2))")
        assert s.run("float((a @ a).sum())").stdout == "8.0\n"


def test_numpy_is_preloaded_single_threaded_and_not_shared_between_runs(scientific):
    code = (
        "import sys, os\n"
        "print('numpy' in sys.modules)\n"
        "import numpy as np\n"
        "np.ones((200, 200)) @ np.ones((200, 200))\n"
        "print(open('/proc/self/status').read().split('Threads:')[1].split()[0], os.environ['OPENBLAS_NUM_THREADS'])\n"
        "print(np.random.rand())"
    )
    first, second = scientific.run(code), scientific.run(code)
    assert first.status == second.status == "ok", (first, second)
    assert first.stdout.splitlines()[:2] == ["True", "1 1"]
    assert first.stdout.splitlines()[2] != second.stdout.splitlines()[2]  # each run its own seed


def test_memory_mb_is_on_top_of_the_preloaded_numpy(scientific):
    small = scientific.run("x = bytearray(16 * 2**20); print(len(x))", memory_mb=48)
    assert (small.status, small.stdout) == ("ok", f"{16 * 2**20}\n"), small
    big = scientific.run("x = bytearray(200 * 2**20)", memory_mb=128)
    assert big.status == "oom", big


def test_the_interpreter_tree_is_read_only_in_a_run(scientific, scientific_python):
    prefix = str(Path(scientific_python).parent.parent)
    r = scientific.run(
        "import os, sys, numpy\n"
        "print(sys.prefix, bool(os.statvfs(numpy.__path__[0]).f_flag & os.ST_RDONLY))\n"
        "for path in (numpy.__path__[0] + '/planted.py', sys.prefix + '/planted', sys.prefix + '/bin/python'):\n"
        "    try:\n"
        "        open(path, 'w').write('x')\n"
        "        print('WROTE', path)\n"
        "    except OSError as exc:\n"
        "        print(type(exc).__name__)\n"
        "for call in (lambda: os.chmod(sys.prefix, 0o777), lambda: os.rename(numpy.__path__[0], '/work/np')):\n"
        "    try:\n"
        "        call()\n"
        "        print('CHANGED')\n"
        "    except OSError as exc:\n"
        "        print(type(exc).__name__)\n"
    )
    assert r.status == "ok", r
    lines = r.stdout.splitlines()
    assert lines[0] == f"{jail_path(prefix)} True"  # under /tmp or /work it is bound elsewhere
    assert "WROTE" not in r.stdout and "CHANGED" not in r.stdout
    numpy_dir = next(Path(prefix).glob("lib/python3*/site-packages/numpy"))
    assert not (numpy_dir / "planted.py").exists() and not (Path(prefix) / "planted").exists()
    assert (Path(prefix) / "bin" / "python").exists() and numpy_dir.is_dir()


def _venv(where: Path, base: str) -> str:
    subprocess.run([base, "-m", "venv", "--without-pip", str(where)], check=True, capture_output=True)
    site = subprocess.run(
        [str(where / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "toolgym_probe_module.py").write_text("VALUE = 42\n")
    for path in [where, *where.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o555 if path.is_dir() else path.stat().st_mode | 0o444)
    return str(where / "bin" / "python")


BASES = sorted({os.path.realpath(p) for p in ("/usr/bin/python3", sys._base_executable) if os.path.exists(p)})


@pytest.mark.parametrize("base", BASES)
def test_a_venv_outside_usr_works(tmp_path, base):
    """A venv under /tmp (where the jail mounts its own tmpfs: bound elsewhere) whose base may live
    under a private home (/root is 0700 here)."""
    python = _venv(tmp_path / "venv", base)
    resolved = resolve(python, "python")
    assert resolved.executable == RELOCATED + python
    with Sandbox(workers=1, max_sessions=0, python=python) as sb:
        r = sb.run(
            "import sys, os, toolgym_probe_module\n"
            "print(toolgym_probe_module.VALUE, sys.prefix, os.listdir('/work'), os.getuid() != 0)"
        )
    assert (r.status, r.stdout) == ("ok", f"42 {RELOCATED}{tmp_path / 'venv'} [] True\n"), r


def test_toolgym_sandbox_python_names_the_interpreter(monkeypatch, tmp_path):
    python = _venv(tmp_path / "venv", BASES[0])
    monkeypatch.setenv("TOOLGYM_SANDBOX_PYTHON", python)
    with Sandbox(workers=1, max_sessions=0) as sb:
        r = sb.run("import toolgym_probe_module; print(toolgym_probe_module.VALUE)")
    assert (r.status, r.stdout) == ("ok", "42\n"), r


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("/nonexistent/python3", "no such file"),
        ("/etc", "not an executable file"),
        ("/etc/os-release", "not an executable file"),
        ("/bin/true", "not a Python interpreter"),
        ("no-such-python-anywhere", "no such command on PATH"),
    ],
)
def test_a_bad_interpreter_is_one_line_at_startup(monkeypatch, value, problem):
    monkeypatch.setenv("TOOLGYM_SANDBOX_PYTHON", value)
    with pytest.raises(SandboxUnavailable) as info:
        Sandbox(workers=1)
    message = str(info.value)
    assert message.startswith(f"TOOLGYM_SANDBOX_PYTHON={value}: ") and problem in message
    assert "\n" not in message
    with pytest.raises(SandboxUnavailable, match=r"^python=/nonexistent/python3: no such file$"):
        Sandbox(workers=1, python="/nonexistent/python3")


def test_the_cli_refuses_a_bad_interpreter_in_one_line(tmp_path):
    code = tmp_path / "snippet.py"
    code.write_text("print(1)\n")
    for args in (["sandbox", "run", str(code)], ["sandbox", "serve", "--port", "1"]):
        out = toolgym(*args, env={"TOOLGYM_SANDBOX_PYTHON": "/nonexistent/python3"}, timeout=120)
        assert out.returncode == 2, (args, out)
        assert out.stderr.strip() == "error: TOOLGYM_SANDBOX_PYTHON=/nonexistent/python3: no such file"


def test_a_tree_runs_cannot_read_is_refused_naming_it(tmp_path):
    python = _venv(tmp_path / "venv", BASES[0])
    site = tmp_path / "venv" / "lib"
    site.chmod(0o700)
    if os.geteuid() == 0:  # runs drop to an unprivileged uid: a tree only root can read would fail them
        with pytest.raises(SandboxUnavailable, match=rf"{site} is not open to other users.*chmod -R o\+rX"):
            resolve(python, "python")
    else:  # runs keep this user's uid: the tree is readable to them
        assert resolve(python, "python").host_path == python


def test_a_symlink_to_an_interpreter_is_followed_into_the_jail(tmp_path):
    """A path that is a symlink outside every tree the interpreter has: the link is made in the jail."""
    target = os.path.realpath(BASES[-1])
    (tmp_path / "bin").mkdir()
    link = tmp_path / "bin" / "py"
    link.symlink_to(target)
    resolved = resolve(str(link), "python")
    assert resolved.executable == RELOCATED + str(link)
    with Sandbox(workers=1, max_sessions=0, python=str(link)) as sb:
        r = sb.run("import sys; print(sys.executable)")
    assert (r.status, r.stdout) == ("ok", f"{RELOCATED}{link}\n"), r
