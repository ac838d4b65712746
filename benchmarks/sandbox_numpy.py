"""Claim: with the provisioned interpreter (``toolgym sandbox python-setup``), a run that imports numpy
(and one that computes with it) is at least 1.5x faster at one caller than a GEM-style bwrap path:
a fresh ``bwrap --unshare-all ... python -c CODE`` per run over the same interpreter.

The embedded sandbox preloads numpy in each worker's server before its zygote forks, so a run starts
with numpy imported; the rows "no numpy preload" are the same sandbox without it (as before), and
the ``print(1)`` rows show what forking from a worker that holds numpy costs a run that does not use
it. Each
configuration alternates with the baseline for ``--rounds`` rounds of ``--total`` runs and reports
the median round of each.

Usage: python benchmarks/sandbox_numpy.py [--python PATH] [--total 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.headline import figure, write  # noqa: E402
from benchmarks.sandbox_bench_util import alternating, load, row  # noqa: E402
from sandbox import Sandbox  # noqa: E402
from sandbox.config import PRELOAD  # noqa: E402
from sandbox.interpreter import SandboxPython, resolve  # noqa: E402
from sandbox.launch import find_bwrap  # noqa: E402
from sandbox.provision import setup_python  # noqa: E402

IMPORT = "import numpy"
COMPUTE = (
    "import numpy as np\n"
    "a = np.random.default_rng(0).random((100, 100)) + 100 * np.eye(100)\n"
    "print(round(float(np.linalg.solve(a, np.ones(100)).sum()), 6))"
)


def gem_style(python: SandboxPython, code: str):
    """A fresh bwrap and interpreter per run, as GEM's python tool runs code (``--unshare-all``, the
    system libraries and the interpreter's trees bound read-only, ``python -c CODE``)."""
    cmd = [find_bwrap(), "--unshare-all", "--die-with-parent", "--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/lib", "/lib64", "/sbin"):
        if os.path.islink(top):
            cmd += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            cmd += ["--ro-bind", top, top]
    cmd += [*python.bwrap_args(), "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    cmd += ["--", python.executable, "-c", code]
    return lambda: subprocess.run(cmd, capture_output=True, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", help="interpreter with numpy (default: toolgym sandbox python-setup's)")
    parser.add_argument("--total", type=int, default=40, help="runs per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per measurement")
    parser.add_argument("--json", metavar="PATH", help="also write the headline figures here")
    args = parser.parse_args()
    figures = []
    path = args.python or setup_python(log=lambda line: print(line, file=sys.stderr))
    python = resolve(path, "--python")
    print(f"interpreter {path} (Python {'.'.join(map(str, python.version))}); {load()}")
    without = tuple(m for m in PRELOAD if m.split(".")[0] != "numpy")
    for name, preload in (("", PRELOAD), (" no numpy preload", without)):
        with Sandbox(workers=1, max_sessions=0, python=path, preload=preload) as sb:
            for what, code in (("import numpy", IMPORT), ("numpy solve", COMPUTE), ("print(1)", "print(1)")):
                first = sb.run(code, timeout_s=30)
                assert first.status == "ok", first
                base = gem_style(python, code)
                base()
                ours, theirs = alternating(
                    lambda c=code: sb.run(c, timeout_s=30), base, 1, args.total, args.rounds
                )
                print(row(f"{what}{name} c=1", ours, theirs).replace("subprocess", "GEM-style"), flush=True)
                if not name and what != "print(1)":
                    figures.append(
                        figure(
                            f"sandbox run, `{what}` with the provisioned interpreter (numpy preloaded), 1 caller",
                            ours["runs_per_s"],
                            "runs/s",
                            theirs["runs_per_s"],
                            "a GEM-style bwrap per run over the same interpreter",
                            ours["runs_per_s"] / theirs["runs_per_s"],
                            note=f"p50 {ours['p50_ms']:.1f} ms against {theirs['p50_ms']:.1f} ms",
                        )
                    )
    print(f"after: {load()}")
    if args.json:
        write(args.json, figures)


if __name__ == "__main__":
    main()
