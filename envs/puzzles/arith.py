"""A safe evaluator of arithmetic expressions over given numbers (no ``eval``, no way to hang it).

Only integer literals, ``+ - * /``, unary minus where allowed, and parentheses are accepted; the
expression's size is bounded before parsing, and arithmetic is exact (``Fraction``).
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from fractions import Fraction

from envs.core.pyparse import parse_python
from envs.core.task import Verdict

MAX_EXPRESSION_CHARS = 200
_OPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b}


class ExpressionError(ValueError):
    """The expression is not a valid arithmetic expression over the allowed numbers."""


def clean_expression(text: str) -> str:
    """The expression part of an answer: drop a trailing ``= target`` and unicode operator signs."""
    text = (
        text.strip().strip("$").replace("×", "*").replace("÷", "/").replace("−", "-").replace("\\times", "*")
    )
    text = text.replace("\\div", "/")
    if "=" in text:
        sides = [s.strip() for s in text.split("=")]
        expressions = [s for s in sides if not re.fullmatch(r"-?\d+(\.\d+)?", s)]
        text = expressions[0] if expressions else sides[0]
    return text.strip()


def evaluate(expression: str, allow_unary_minus: bool = False) -> tuple[Fraction, list[int]]:
    """The exact value of ``expression`` and the integer literals it uses, in order.

    Raises ``ExpressionError`` for anything but integers, + - * /, parentheses, a division by zero,
    or an expression over ``MAX_EXPRESSION_CHARS`` characters.
    """
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"expression is over {MAX_EXPRESSION_CHARS} characters")
    if not re.fullmatch(r"[\d\s+\-*/()]+", expression or ""):
        raise ExpressionError("only integers, + - * / and parentheses are allowed")
    if "**" in expression or "//" in expression:
        raise ExpressionError("only + - * / are allowed (no ** or //)")
    try:
        tree = parse_python(expression, mode="eval")
    except SyntaxError:
        raise ExpressionError("not a valid arithmetic expression") from None
    numbers: list[int] = []

    def walk(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and type(node.value) is int:
            numbers.append(node.value)
            return Fraction(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and allow_unary_minus:
            return -walk(node.operand)
        if isinstance(node, ast.BinOp):
            left, right = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Div):
                if right == 0:
                    raise ExpressionError("division by zero")
                return left / right
            if type(node.op) in _OPS:
                return _OPS[type(node.op)](left, right)
        raise ExpressionError(f"{type(node).__name__} is not allowed; use integers, + - * / and parentheses")

    return walk(tree), numbers


def uses_only(used: list[int], available: list[int]) -> list[int]:
    """The numbers in ``used`` beyond what ``available`` offers (each number usable once)."""
    extra = Counter(used) - Counter(available)
    return sorted(extra.elements())


def verify_expression(answer: str, numbers: list[int], target: int, use_all: bool) -> Verdict:
    """The verdict on an answer that should make ``target`` from ``numbers`` (each at most once, or
    exactly once with ``use_all``); ``parts["valid"]`` says whether the rules were kept."""
    expression = clean_expression(answer)
    try:
        value, used = evaluate(expression)
    except ExpressionError as e:
        return Verdict.wrong(str(e), valid=0.0)
    if extra := uses_only(used, numbers):
        return Verdict.wrong(f"uses {extra}, which are not among the available numbers {numbers}", valid=0.0)
    if use_all and sorted(used) != sorted(numbers):
        return Verdict.wrong(f"must use each of {numbers} exactly once, used {used}", valid=0.0)
    if value != target:
        return Verdict.wrong(f"{expression} = {value}, not {target}", valid=1.0)
    return Verdict.right(valid=1.0)
