"""``CodeEnv``: the base of the code envs, with the sandboxed ``python`` tool and their shared config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from envs.code.grading import Grader
from envs.code.interpreter import Interpreter, sandbox_for
from envs.core import Config, ToolEnv, check_range, tool


@dataclass
class CodeConfig(Config):
    """What every code env shares.

    ``sandbox_url``: the sandbox service (else ``$TOOLGYM_SANDBOX_URL``, else the embedded sandbox);
    ``persistent``: the ``python`` tool keeps interpreter state across calls within an episode;
    ``run_timeout_s`` and ``memory_mb`` bound one tool call; ``max_output_chars`` cuts its output.
    """

    sandbox_url: str | None = None
    persistent: bool = False
    run_timeout_s: float = 10.0
    memory_mb: int = 512
    max_output_chars: int = 4000

    def validate(self) -> None:
        if self.sandbox_url is not None and not str(self.sandbox_url).startswith(("http://", "https://")):
            raise ValueError(f"sandbox_url must start with http:// or https://, got {self.sandbox_url!r}")
        if not isinstance(self.persistent, bool):
            raise ValueError(f"persistent must be a bool, got {self.persistent!r}")
        check_range("run_timeout_s", self.run_timeout_s, 0.1, 600)
        check_range("memory_mb", self.memory_mb, 32, 65536)
        check_range("max_output_chars", self.max_output_chars, 100, 1_000_000)


@dataclass
class GradedConfig(CodeConfig):
    """A code env with hidden tests: ``call_timeout_s`` bounds one call into the submission,
    ``grade_timeout_s`` one whole grading run (or one stdin/stdout case)."""

    call_timeout_s: float = 5.0
    grade_timeout_s: float = 30.0

    def validate(self) -> None:
        super().validate()
        check_range("grade_timeout_s", self.grade_timeout_s, 1, 600)
        check_range("call_timeout_s", self.call_timeout_s, 0.1, self.grade_timeout_s)


class CodeEnv(ToolEnv):
    """A ToolEnv whose agent can run Python in the sandbox with the ``python`` tool."""

    config_cls = CodeConfig
    config: CodeConfig
    step_may_block: ClassVar[bool] = True  # the python tool and the graders wait on the sandbox

    def __init__(self, render_mode: str | None = None, **kwargs: Any):
        super().__init__(render_mode=render_mode, **kwargs)
        cfg = self.config
        self.interpreter = Interpreter(
            cfg.sandbox_url,
            persistent=cfg.persistent,
            timeout_s=cfg.run_timeout_s,
            memory_mb=cfg.memory_mb,
            max_output_chars=cfg.max_output_chars,
        )

    def tools(self) -> list:
        return [self.python]

    @tool(result_tag="output")
    def python(self, code: str) -> str:
        """Run Python code in a sandbox and return what it printed (stdout, then stderr and any
        traceback). Print the values you want to see.

        Args:
            code: The Python code to run.
        """
        return self.interpreter.run(code)

    def describe_python(self) -> str:
        """A sentence on the python tool for the instructions."""
        state = (
            "variables and imports persist between calls"
            if self.config.persistent
            else "every call starts a fresh interpreter, so print what you need"
        )
        return f"The python tool runs code in an isolated sandbox with the standard library ({state})."

    def _end_episode(self) -> None:
        self.interpreter.close()


class GradedEnv(CodeEnv):
    """A code env whose final answer is code, graded on hidden tests in the sandbox."""

    config_cls = GradedConfig
    config: GradedConfig

    @property
    def grader(self) -> Grader:
        cfg = self.config
        return Grader(
            sandbox_for(cfg.sandbox_url),
            call_timeout_s=cfg.call_timeout_s,
            timeout_s=cfg.grade_timeout_s,
            memory_mb=cfg.memory_mb,
        )
