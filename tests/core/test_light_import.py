"""``import envs`` and the CLI's start stay light: no model, training, retrieval or web library."""

import subprocess
import sys

HEAVY = (
    "torch",
    "transformers",
    "trl",
    "vllm",
    "ray",
    "pyserini",
    "jnius",
    "faiss",
    "sentence_transformers",
    "fastapi",
)


def test_import_envs_loads_no_heavy_library():
    code = (
        "import sys, envs, rewards, sandbox, retrieval, gymnasium as gym\n"
        "for e in envs.ENVS: gym.spec(e.env_id)\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_start_loads_no_heavy_library():
    code = f"import sys, agents.cli; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_rollouts_without_a_ray_address_never_import_ray():
    code = (
        "import sys\n"
        "from agents.backends.base import Generation\n"
        "from agents.evaluate import EvalConfig, evaluate\n"
        "class B:\n"
        "    def generate(self, reqs, sampling):\n"
        "        return [Generation('<answer>1</answer>', None, None, 'stop') for _ in reqs]\n"
        "    def close(self): pass\n"
        "r = evaluate(B(), EvalConfig(env_ids=('toolgym/Countdown-v0', 'toolgym/Sudoku-v0'), n=2))\n"
        "print(len(r.trajectories), [m for m in ('ray',) if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["4", "[]"]


def test_gymnasium_imports_the_envs_from_a_module_prefixed_id():
    code = "import gymnasium as gym; env = gym.make('envs:toolgym/Countdown-v0'); print(type(env.unwrapped).__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "CountdownEnv"


def test_import_envs_leaves_gymnasium_and_numpy_unimported_and_still_registers():
    code = (
        "import sys, envs\n"
        "print(sorted(m for m in ('gymnasium', 'numpy') if m in sys.modules))\n"
        "import gymnasium as gym\n"
        "print(all(e.env_id in gym.registry for e in envs.ENVS))\n"
        "print(type(gym.make('toolgym/Countdown-v0').unwrapped).__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[]", "True", "CountdownEnv"]


def test_envs_register_when_gymnasium_came_first_or_was_only_looked_up():
    code = (
        "import importlib.util, gymnasium as gym, envs\n"
        "print(all(e.env_id in gym.registry for e in envs.ENVS))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split() == ["True"], out.stderr
    code = (
        "import importlib.util, sys, envs\n"
        "importlib.util.find_spec('gymnasium')  # a look-up, as libraries probe for packages\n"
        "import gymnasium as gym\n"
        "print(all(e.env_id in gym.registry for e in envs.ENVS))\n"
        "print(any(type(f).__name__ == '_AfterImport' for f in sys.meta_path))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split() == ["True", "False"], out.stderr
