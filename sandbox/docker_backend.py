"""The Docker backend: each run in a fresh container (no network, read-only root, memory and pids
limits, all capabilities dropped but those the in-container server needs to drop to its run's uid)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import time

from sandbox import fork_server, launch
from sandbox.config import SandboxConfig
from sandbox.result import ExecResult, RunRequest

START_GRACE_S = 60.0
CONTAINER_UID = 65534


def docker_client(url: str | None = None):
    """A docker SDK client for ``url`` (or ``$DOCKER_HOST``); raises SandboxUnavailable if no engine answers."""
    try:
        import docker
    except ImportError as exc:
        raise launch.SandboxUnavailable("the docker backend needs `pip install 'toolgym[docker]'`") from exc
    try:
        client = docker.DockerClient(base_url=url) if url else docker.from_env()
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means no usable engine
        where = url or os.environ.get("DOCKER_HOST", "the default socket")
        raise launch.SandboxUnavailable(f"no Docker-API engine answers at {where}: {exc}") from exc
    return client


class DockerRunner:
    """Runs requests in containers of ``cfg.image`` (which must have ``python3`` and ``bash``)."""

    def __init__(self, cfg: SandboxConfig) -> None:
        self.cfg = cfg
        self.client = docker_client(cfg.docker_url)
        self.source = launch.server_source()
        self._image_ok = False

    def _ensure_image(self) -> None:
        """Pull the image once if the engine does not have it."""
        if self._image_ok:
            return
        import docker

        try:
            self.client.images.get(self.cfg.image)
        except docker.errors.NotFound:
            try:
                self.client.images.pull(self.cfg.image)
            except docker.errors.APIError as exc:
                raise RuntimeError(
                    f"image {self.cfg.image!r} is not on the engine and cannot be pulled "
                    f"(set TOOLGYM_SANDBOX_IMAGE to a local image): {exc}"
                ) from exc
        self._image_ok = True

    def _init_frame(self) -> dict:
        cfg = self.cfg
        return {
            "uid": CONTAINER_UID,
            "gid": CONTAINER_UID,
            "nproc": cfg.nproc,
            "nofile": cfg.nofile,
            "fsize_mb": cfg.fsize_mb,
            "bash": "/bin/bash",
            "workdir": launch.WORKDIR,
            "tmpdir": "/tmp",
            "wipe": [],
            "kill_mode": "namespace",
            "inner_seccomp": self._inner_filter(),
        }

    @staticmethod
    def _inner_filter() -> str | None:
        """The runs' seccomp filter, where this host can compile it (the ``sandbox`` extra)."""
        try:
            from sandbox.seccomp_filter import compile_filter

            return base64.b64encode(compile_filter(inner=True)).decode()
        except ImportError:
            return None

    def _stdin(self, request: RunRequest) -> bytes:
        """What the container reads on stdin: the init frame, then (once its zygote is forked, so
        that no run's process ever held it) the request. Nothing of the request is on the command
        line, where /proc/1/cmdline would show it to the run."""
        run = {"op": "run", **request.wire(), "max_output_bytes": self.cfg.max_output_bytes}
        return b"".join(_frame(obj) for obj in (self._init_frame(), run))

    def _command(self) -> list[str]:
        return ["python3", "-I", "-c", launch.BOOT, self.source, "oneshot"]

    def run(self, request: RunRequest) -> ExecResult:
        started = time.monotonic()
        size = f"size={self.cfg.tmpfs_mb}m"
        container = None
        try:
            self._ensure_image()
            container = self.client.containers.create(
                self.cfg.image,
                self._command(),
                stdin_open=True,
                network_mode="none",
                read_only=True,
                tmpfs={launch.WORKDIR: size + ",mode=1777", "/tmp": size + ",mode=1777"},
                working_dir=launch.WORKDIR,
                user="0",
                mem_limit=f"{int(request.memory_mb) + 128}m",
                pids_limit=self.cfg.nproc + 16,
                cap_drop=["ALL"],
                cap_add=list(launch.CAPS),
                security_opt=["no-new-privileges"],
                environment={},
                detach=True,
            )
            channel = container.attach_socket(params={"stdin": 1, "stream": 1})
            raw = getattr(channel, "_sock", channel)
            container.start()
            try:
                raw.sendall(self._stdin(request))
            finally:
                with contextlib.suppress(OSError):
                    raw.shutdown(socket.SHUT_WR)
                channel.close()
            container.wait(timeout=float(request.timeout_s) + START_GRACE_S)
            logs = container.logs(stdout=True, stderr=False).decode("utf-8", "replace").strip()
            answer = json.loads(logs.splitlines()[-1]) if logs else None
            if not isinstance(answer, dict) or "status" not in answer:
                err = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")[-500:]
                return ExecResult.infra_error(f"container gave no result: {err}", time.monotonic() - started)
            answer["wall_s"] = time.monotonic() - started
            return ExecResult.from_dict(answer)
        except Exception as exc:  # noqa: BLE001 - engine failures are the sandbox's, not the code's
            return ExecResult.infra_error(f"docker backend: {exc}", time.monotonic() - started)
        finally:
            if container is not None:
                with contextlib.suppress(Exception):  # already gone
                    container.remove(force=True)


def _frame(obj: dict) -> bytes:
    """One length-prefixed JSON frame, as the fork server reads it."""
    data = json.dumps(obj).encode()
    return fork_server.HEADER.pack(len(data)) + data
