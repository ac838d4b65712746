"""Install toolgym's dependencies for some extras, read from pyproject.toml, before its code is copied.

    python3 install_deps.py PYPROJECT EXTRAS [--no-deps-for NAME,...] [--also REQ,...]

EXTRAS is comma-separated (``serve,sandbox``); ``toolgym[...]`` self-references are expanded.
``--no-deps-for`` installs the named requirements without their own dependencies (pyserini: the
retriever uses only its Anserini jar, and its declared dependencies pull torch and CUDA wheels);
``--also`` adds requirements the skipped dependencies provided (pyjnius).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib


def requirement_name(requirement: str) -> str:
    """The normalised project name of a requirement string."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        raise ValueError(f"cannot read a project name from {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def requirements(pyproject: dict, extras: list[str]) -> list[str]:
    """The core dependencies plus those of ``extras``, self-references expanded, in order, once each."""
    project = pyproject["project"]
    optional = project.get("optional-dependencies", {})
    out: list[str] = list(project.get("dependencies", []))
    seen: set[str] = set()
    todo = list(extras)
    while todo:
        extra = todo.pop(0)
        if extra in seen:
            continue
        if extra not in optional:
            raise SystemExit(f"unknown extra {extra!r}; pyproject has: {', '.join(sorted(optional))}")
        seen.add(extra)
        for req in optional[extra]:
            self_ref = re.fullmatch(r"\s*toolgym\[([^\]]+)\]\s*", req)
            if self_ref:
                todo.extend(e.strip() for e in self_ref.group(1).split(","))
            elif req not in out:
                out.append(req)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pyproject")
    parser.add_argument("extras")
    parser.add_argument("--no-deps-for", default="")
    parser.add_argument("--also", default="")
    args = parser.parse_args()
    with open(args.pyproject, "rb") as handle:
        pyproject = tomllib.load(handle)
    extras = [e.strip() for e in args.extras.split(",") if e.strip()]
    no_deps = {requirement_name(n) for n in args.no_deps_for.split(",") if n.strip()}
    reqs = requirements(pyproject, extras)
    plain = [r for r in reqs if requirement_name(r) not in no_deps]
    plain += [r.strip() for r in args.also.split(",") if r.strip()]
    bare = [r for r in reqs if requirement_name(r) in no_deps]
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    subprocess.run(pip + plain, check=True)
    if bare:
        subprocess.run(pip + ["--no-deps"] + bare, check=True)


if __name__ == "__main__":
    main()
