"""ExecResult and RunRequest: serialisation and validation."""

from __future__ import annotations

import pytest

from sandbox import ExecResult, RunRequest, SandboxConfig


def test_exec_result_round_trips_through_a_dict():
    r = ExecResult(stdout="a", stderr="b", exit_code=3, status="error", wall_s=0.5)
    assert ExecResult.from_dict(r.to_dict()) == r
    assert set(r.to_dict()) == {"stdout", "stderr", "exit_code", "status", "wall_s"}


def test_exec_result_rejects_an_unknown_status():
    with pytest.raises(ValueError, match="status"):
        ExecResult.from_dict({"status": "fine"})


def test_infra_error_is_a_sandbox_error_with_the_reason():
    r = ExecResult.infra_error("worker died")
    assert r.status == "sandbox_error" and "worker died" in r.stderr and not r.ok


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"code": 1}, "code"),
        ({"code": "", "language": "ruby"}, "language"),
        ({"code": "", "timeout_s": 0}, "timeout_s"),
        ({"code": "", "timeout_s": 10_000}, "timeout_s"),
        ({"code": "", "memory_mb": 1}, "memory_mb"),
        ({"code": "", "files": {"../x": "a"}}, "files"),
        ({"code": "", "files": {"/etc/x": "a"}}, "files"),
        ({"code": "", "stdin": 5}, "stdin"),
    ],
)
def test_run_request_names_the_bad_field(fields, message):
    with pytest.raises(ValueError, match=message):
        RunRequest(**fields)


def test_coerce_rejects_unknown_fields():
    with pytest.raises(ValueError, match="unknown request fields"):
        RunRequest.coerce({"code": "", "timeout": 3})


@pytest.mark.parametrize(
    ("field", "value"), [("workers", 0.5), ("backend", "vm"), ("nproc", 0), ("memory_mb", 8)]
)
def test_config_validate_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        SandboxConfig(**{field: value})
