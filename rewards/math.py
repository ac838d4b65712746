"""Rewards for numeric and mathematical answers.

``math_equiv`` uses math-verify in a worker process: math-verify's own timeouts rely on
``signal.alarm``, which fails outside the main thread, so the time limit is enforced by killing the
worker instead. A timed-out verification raises ``InfraError`` (never a silent 0).
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import re
import threading
from fractions import Fraction
from typing import Any

from rewards.answer import extract_answer
from rewards.base import reward
from rewards.errors import InfraError

_STARTUP_TIMEOUT_S = 120.0
_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")


def parse_number(text: str) -> Fraction | None:
    """``text`` as an exact number ("42", "-3.5", "1/2", "1,000", "$12", "50%"), or ``None``."""
    t = text.strip().strip("$").replace(",", "").replace("\\!", "").strip()
    t = re.sub(r"^\\text\{(.*)\}$", r"\1", t).strip()
    percent = t.endswith("%") or t.endswith("\\%")
    t = t.rstrip("%").rstrip("\\").strip()
    m = re.fullmatch(r"\\[dt]?frac\{([^{}]+)\}\{([^{}]+)\}", t)
    if m:
        t = f"{m.group(1)}/{m.group(2)}"
    try:
        if "/" in t:
            num, den = t.split("/", 1)
            if not (_NUMBER.match(num.strip()) and _NUMBER.match(den.strip())):
                return None
            value = Fraction(num.strip()) / Fraction(den.strip())
        elif _NUMBER.match(t):
            value = Fraction(t)
        else:
            return None
    except (ValueError, ZeroDivisionError):
        return None
    return value / 100 if percent else value


def numbers_equal(a: Fraction, b: Fraction, rel_tol: float = 1e-6) -> bool:
    return a == b or abs(a - b) <= rel_tol * max(abs(a), abs(b))


@reward
def numeric_match(completion: str, answer: str, rel_tol: float = 1e-6, **_: object) -> float:
    """1.0 when the final answer is the same number as ``answer`` (within ``rel_tol``), else 0.0."""
    pred, gold = parse_number(extract_answer(completion)), parse_number(str(answer))
    return float(pred is not None and gold is not None and numbers_equal(pred, gold, rel_tol))


def _as_latex(text: str) -> str:
    return text if ("$" in text or "\\boxed" in text) else f"${text}$"


def _verify_worker(conn: Any) -> None:
    import logging

    logging.disable(logging.WARNING)  # math-verify warns that its own timeout is off: ours is on
    from math_verify import parse, verify

    verify(
        parse("$1$", parsing_timeout=None), parse("$1$", parsing_timeout=None), timeout_seconds=None
    )  # warm up
    conn.send(("ready", None))
    while True:
        try:
            gold, pred = conn.recv()
        except EOFError:
            return
        try:
            ok = verify(
                parse(gold, parsing_timeout=None), parse(pred, parsing_timeout=None), timeout_seconds=None
            )
            conn.send(("ok", bool(ok)))
        except Exception as e:  # a malformed expression is a wrong answer, reported back
            conn.send(("error", f"{type(e).__name__}: {e}"))


class MathVerifier:
    """A math-verify worker process with a hard time limit per comparison; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: Any = None
        self._conn: Any = None

    def _start(self) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_verify_worker, args=(child,), daemon=True, name="toolgym-math-verify"
        )
        self._proc.start()
        child.close()
        # the worker's start-up (imports) is not part of any verification's time limit
        if not self._conn.poll(_STARTUP_TIMEOUT_S) or self._conn.recv()[0] != "ready":
            self._stop()
            raise InfraError(f"math verifier did not start within {_STARTUP_TIMEOUT_S:g}s")

    def _stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(5)
        self._proc = self._conn = None

    def equivalent(self, gold: str, pred: str, timeout_s: float = 10.0) -> bool:
        with self._lock:
            if self._proc is None or not self._proc.is_alive():
                self._start()
            try:
                self._conn.send((_as_latex(gold), _as_latex(pred)))
                if not self._conn.poll(timeout_s):
                    self._stop()
                    raise InfraError(f"math verification timed out after {timeout_s:g}s")
                status, value = self._conn.recv()
            except (EOFError, BrokenPipeError, OSError) as e:
                self._stop()
                raise InfraError(f"math verifier process died: {e}") from e
        return status == "ok" and value

    def close(self) -> None:
        with self._lock:
            self._stop()


_VERIFIER = MathVerifier()
atexit.register(_VERIFIER.close)


@reward
def math_equiv(completion: str, answer: str, timeout_s: float = 10.0, **_: object) -> float:
    """1.0 when the final answer is mathematically equivalent to ``answer`` (numbers compared
    exactly first, then expressions through math-verify), else 0.0."""
    pred_text = extract_answer(completion)
    pred, gold = parse_number(pred_text), parse_number(str(answer))
    if pred is not None and gold is not None:
        return float(numbers_equal(pred, gold))
    if not pred_text.strip():
        return 0.0
    return float(_VERIFIER.equivalent(str(answer), pred_text, timeout_s))
