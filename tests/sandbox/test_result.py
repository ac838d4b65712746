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


@pytest.mark.parametrize(
    "files",
    [
        {".": "x"},
        {"": "x"},
        {"a/./b": "x"},
        {"a/../b": "x"},
        {"..": "x"},
        {"a//b": "x"},
        {"a/": "x"},
        {"/a": "x"},
        {"a\0b": "x"},
        {"a\nb": "x"},
        {"a\x7fb": "x"},
        {"a\x85b": "x"},
        {"\ud800": "x"},
        {"a": "x", "a/b": "y"},
        {"a/b/c": "y", "a/b": "x"},
        {"n" * 256: "x"},
        {"/".join(["d"] * 600): "x"},
        {"a": 5},
        {"a": "\udfff"},
    ],
)
def test_odd_file_names_and_contents_are_a_value_error_naming_the_file(files):
    with pytest.raises(ValueError, match="files"):
        RunRequest(code="", files=files)


def test_plain_file_names_pass():
    files = {"a.py": "x", "pkg/__init__.py": "", "pkg/sub/m.py": b"\xff", "n" * 255: "", "é/ü": "x"}
    assert RunRequest(code="", files=files).files == files


def test_files_must_be_a_dict_and_not_too_many():
    with pytest.raises(ValueError, match="files must be a dict"):
        RunRequest(code="", files=["a"])
    with pytest.raises(ValueError, match="at most 4096 files"):
        RunRequest(code="", files={str(i): "" for i in range(4097)})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"code": "\ud800"}, "code"),
        ({"code": "", "stdin": "a\udc00"}, "stdin"),
        ({"code": "", "timeout_s": float("nan")}, "timeout_s"),
        ({"code": "", "timeout_s": float("inf")}, "timeout_s"),
        ({"code": "", "timeout_s": None}, "timeout_s"),
        ({"code": "", "timeout_s": "5"}, "timeout_s"),
        ({"code": "", "timeout_s": True}, "timeout_s"),
        ({"code": "", "memory_mb": 512.5}, "memory_mb"),
        ({"code": "", "memory_mb": True}, "memory_mb"),
        ({"code": "", "language": ["python"]}, "language"),
    ],
)
def test_bad_text_and_numbers_are_a_value_error(fields, message):
    with pytest.raises(ValueError, match=message):
        RunRequest(**fields)


def test_bytes_that_are_not_utf8_cannot_go_over_http():
    request = RunRequest(code="", stdin=b"\xff")
    assert request.wire()["stdin"] == "/w=="
    with pytest.raises(ValueError, match="stdin"):
        request.to_json()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"timeout_s": 61}, "max_timeout_s=60"),
        ({"memory_mb": 4096}, "max_memory_mb=2048"),
        ({"code": "x" * (1024 * 1024 + 1)}, "max_code_bytes=1048576"),
        ({"stdin": "é" * (2 * 1024 * 1024 + 1)}, "max_stdin_bytes=4194304"),
        ({"files": {str(i): "" for i in range(257)}}, "max_files=256"),
        ({"files": {"a": b"x" * (4 << 20), "b": "y" * (4 << 20) + "z"}}, "max_files_bytes=8388608"),
    ],
)
def test_check_request_names_the_field_and_the_cap(fields, message):
    request = RunRequest(**{"code": ""} | fields)
    with pytest.raises(ValueError, match=message):
        SandboxConfig().check_request(request)


def test_sizes_over_a_cap_are_request_too_large_and_limits_are_not():
    from sandbox.result import RequestTooLarge

    config = SandboxConfig(max_stdin_bytes=10)
    with pytest.raises(RequestTooLarge, match="stdin"):
        config.check_request(RunRequest(code="", stdin="x" * 11))
    with pytest.raises(ValueError) as info:
        config.check_request(RunRequest(code="", timeout_s=100))
    assert not isinstance(info.value, RequestTooLarge)
    ok = RunRequest(code="", stdin="x" * 10, timeout_s=60, memory_mb=2048)
    assert config.check_request(ok) is ok


def test_check_batch_caps_the_length_and_names_the_request():
    config = SandboxConfig(max_batch=2)
    config.check_batch([RunRequest(code="")] * 2)
    with pytest.raises(ValueError, match="max_batch=2"):
        config.check_batch([RunRequest(code="")] * 3)
    with pytest.raises(ValueError, match="request 1: timeout_s"):
        config.check_batch([RunRequest(code=""), RunRequest(code="", timeout_s=61)])


def test_batch_output_share_bounds_the_whole_batch():
    config = SandboxConfig(max_output_bytes=1 << 20, max_batch_output_bytes=32 << 20)
    assert config.batch_output_share(1) == 2 << 20  # small batches: both streams in full
    assert config.batch_output_share(256) == 128 << 10
    assert 256 * config.batch_output_share(256) <= config.max_batch_output_bytes


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_timeout_s": 0}, "max_timeout_s"),
        ({"max_timeout_s": 601}, "max_timeout_s"),
        ({"max_memory_mb": 70000}, "max_memory_mb"),
        ({"max_code_bytes": 0}, "max_code_bytes"),
        ({"max_stdin_bytes": -1}, "max_stdin_bytes"),
        ({"max_files": 5000}, "max_files"),
        ({"max_files_bytes": -1}, "max_files_bytes"),
        ({"max_batch": 0}, "max_batch"),
        ({"max_batch_output_bytes": 10}, "max_batch_output_bytes"),
        ({"timeout_s": 30, "max_timeout_s": 20}, "max_timeout_s"),
        ({"memory_mb": 1024, "max_memory_mb": 512}, "max_memory_mb"),
    ],
)
def test_config_validate_checks_the_caps(fields, message):
    with pytest.raises(ValueError, match=message):
        SandboxConfig(**fields)
