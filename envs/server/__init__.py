"""Any registered env over the OpenEnv protocol, and the remote env that plays one.

Three pieces share one interface, the gymnasium ``Env`` API of a toolgym env:

- in process, ``gym.make("toolgym/Countdown-v0", ...)`` (the env itself);
- ``envs.server.service``: ``toolgym env serve`` hosts registered envs over OpenEnv's HTTP and
  WebSocket protocol, built on OpenEnv's own server (the ``openenv`` extra);
- ``envs.server.client.RemoteEnv``: ``gym.make("toolgym/Remote-v0", url=..., env_id=..., **kwargs)``
  steps an env hosted by such a server; ``TOOLGYM_ENV_URL`` sends every env of the rollout engine there.

Importing this package loads neither OpenEnv nor a WebSocket library.
"""

from __future__ import annotations

import os

from envs.registration import REMOTE_ENV_ID

URL_VARIABLE = "TOOLGYM_ENV_URL"


def env_url() -> str | None:
    """The env server named by ``TOOLGYM_ENV_URL``, or None (envs run in process)."""
    return os.environ.get(URL_VARIABLE) or None


__all__ = ["REMOTE_ENV_ID", "URL_VARIABLE", "env_url"]
