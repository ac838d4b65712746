"""``toolgym sandbox python-setup``: a venv for sandboxed runs with the pinned scientific stack.

The venv is made from a system interpreter (``python -m venv --without-pip``, so Debian's python3
needs no python3-venv) and filled by this process's pip (``pip --python``) from the requirements file
shipped with the package, through whatever package index pip is set up for: no model or data hub is
involved. Everything is made readable by other users, since runs execute as an unprivileged uid.
Running it again with the same requirements and base interpreter does nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

REQUIREMENTS = Path(__file__).with_name("python-requirements.txt")
STAMP = "toolgym-sandbox-python.json"
CHECK = "import numpy, scipy, sympy, mpmath; numpy.linalg.solve(numpy.eye(2), numpy.ones(2))"
BASES = ("/usr/bin/python3", "/usr/local/bin/python3")


class ProvisionError(RuntimeError):
    """The interpreter could not be provisioned; the message says which step failed and why."""


def default_dir() -> Path:
    """Where the interpreter goes by default: ``$TOOLGYM_HOME/sandbox-python`` (``~/.cache/toolgym``
    when unset)."""
    home = os.environ.get("TOOLGYM_HOME") or os.environ.get("TOOLGYM_CACHE")
    return (Path(home) if home else Path.home() / ".cache" / "toolgym") / "sandbox-python"


def default_base() -> str:
    """The interpreter the venv is made from: the system's python3, else this process's own."""
    for candidate in BASES:
        if os.path.exists(candidate):
            return candidate
    return sys.executable


def _run(step: str, args: list[str], **kwargs) -> str:
    proc = subprocess.run(args, capture_output=True, text=True, umask=0o022, **kwargs)
    if proc.returncode != 0:
        lines = (proc.stderr.strip() or proc.stdout.strip() or f"exit status {proc.returncode}").splitlines()
        raise ProvisionError(f"{step} failed: {lines[-1]}")
    return proc.stdout


def setup_python(
    target: str | os.PathLike[str] | None = None,
    *,
    base: str | None = None,
    requirements: str | os.PathLike[str] | None = None,
    log=None,
) -> str:
    """Make (or find already made) the venv at ``target`` from ``base`` with the packages of
    ``requirements`` (default: the shipped, pinned file); returns its interpreter's path, the value
    for ``TOOLGYM_SANDBOX_PYTHON``. ``log``: called with a line for each step taken."""
    say = log or (lambda _line: None)
    home = Path(target) if target is not None else default_dir()
    home = home.expanduser().absolute()
    req_path = Path(requirements) if requirements is not None else REQUIREMENTS
    try:
        req_text = req_path.read_text()
    except OSError as exc:
        raise ProvisionError(f"requirements file {req_path}: {exc.strerror or exc}") from None
    base = base or default_base()
    real_base = os.path.realpath(base)
    if not os.access(real_base, os.X_OK):
        raise ProvisionError(f"base interpreter {base}: not an executable file")
    python = home / "bin" / "python"
    wanted = {
        "requirements_sha256": hashlib.sha256(req_text.encode()).hexdigest(),
        "base": real_base,
    }
    stamp = home / STAMP
    if stamp.is_file() and python.exists():
        try:
            if json.loads(stamp.read_text()) == wanted:
                say(f"{home}: already provisioned")
                return str(python)
        except ValueError:
            pass
    if home.exists() and (not home.is_dir() or (any(home.iterdir()) and not stamp.is_file())):
        raise ProvisionError(f"{home} exists and was not made by python-setup: name an empty or new folder")
    say(f"{home}: making a venv from {base}")
    home.parent.mkdir(parents=True, exist_ok=True)
    _run("making the venv", [base, "-m", "venv", "--clear", "--without-pip", str(home)])
    stamp.write_text("{}")  # ours, not finished: a later run may clear it
    say(f"{home}: installing {req_path.name} with pip")
    _run(
        "pip install",
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-input",
            "-r",
            str(req_path),
        ],
    )
    if requirements is None:
        _run("checking the installed packages", [str(python), "-I", "-c", CHECK], cwd="/")
    for root, dirs, files in os.walk(home):  # whatever the umask was: runs must read it all
        for name in dirs + files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                mode = os.stat(path).st_mode
                os.chmod(path, mode | 0o444 | (0o111 if mode & 0o100 or os.path.isdir(path) else 0))
    os.chmod(home, 0o755)
    stamp.write_text(json.dumps(wanted))
    os.chmod(stamp, 0o644)
    say(f"{home}: ready; export TOOLGYM_SANDBOX_PYTHON={python}")
    return str(python)
