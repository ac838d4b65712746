"""``import envs`` and the CLI's start stay light: no model, training or retrieval library."""

import subprocess
import sys

HEAVY = ("torch", "transformers", "trl", "vllm", "pyserini", "jnius", "faiss", "sentence_transformers")


def test_import_envs_loads_no_heavy_library():
    code = (
        "import sys, envs, rewards, sandbox, gymnasium as gym\n"
        "for e in envs.ENVS: gym.spec(e.env_id)\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_start_loads_no_heavy_library():
    code = f"import sys, agents.cli; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_gymnasium_imports_the_envs_from_a_module_prefixed_id():
    code = "import gymnasium as gym; env = gym.make('envs:toolgym/Countdown-v0'); print(type(env.unwrapped).__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "CountdownEnv"
