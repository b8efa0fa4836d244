"""Where a model comes from — a local directory, the Hugging Face cache or the hub — and one-line reasons when
none of them can serve it. Shared by the reader and the embedders."""

import os
import re
import socket
import threading
from pathlib import Path
from urllib.parse import urlparse

from docqa.errors import ModelLoadError

HUB_PROBE_SECONDS = 3.0


def looks_like_path(name: str) -> bool:
    """True when ``name`` is meant as a directory rather than a hub name like ``org/model``."""
    return name.startswith((".", "/", "~", "\\")) or name.count("/") > 1 or Path(name).drive != ""


# Last parts of a model folder that say nothing about which model it holds.
_GENERIC_MODEL_FOLDER = re.compile(
    r"model|models|onnx|openvino|pytorch|weights|main|default|final|best|latest|output|outputs|v?\d+|"
    r"checkpoint-?\d*|[0-9a-f]{40}",
    re.IGNORECASE,
)


def embedding_model(model: str | None) -> str:
    """The embedding model as configured (``DOCQA_EMBEDDING_MODEL`` when None), as passages record it."""
    if model is None:
        from docqa.settings import get_settings

        model = get_settings().embedding_model
    return str(model)


def embedding_model_name(model: str | None) -> str | None:
    """
    Which embedding model ``model`` is, by name: the last part of its hub name or folder, in lower case, so that
    ``sentence-transformers/all-MiniLM-L6-v2``, a copy in ``/models/all-MiniLM-L6-v2`` and a Hugging Face cache
    folder ``models--sentence-transformers--all-MiniLM-L6-v2/snapshots/<hash>`` are the same model.

    :param model: hub name or local directory; None reads ``DOCQA_EMBEDDING_MODEL``.
    :returns: the name, or None when the folder's name does not tell (``.../model``, ``checkpoint-500``, ...).
    """
    parts = re.split(r"[/\\]", embedding_model(model).rstrip("/\\"))
    if len(parts) >= 3 and parts[-2] == "snapshots" and parts[-3].startswith("models--"):
        return parts[-3].split("--")[-1].lower()
    name = parts[-1]
    return None if not name or _GENERIC_MODEL_FOLDER.fullmatch(name) else name.lower()


def different_embedding_models(recorded: str, model: str | None) -> bool:
    """
    Whether the model passages recorded and ``model`` are different models: by name; where a name does not tell (a
    generic folder name such as ``.../model``), by folder when both are absolute paths (the same folder reached
    through a link counts as the same); False when neither tells (passages indexed before models were recorded, a
    hub name against a generic folder).
    """
    if not recorded:
        return False
    ours, theirs = embedding_model_name(model), embedding_model_name(recorded)
    if ours is not None and theirs is not None:
        return ours != theirs
    current = embedding_model(model)
    if not (os.path.isabs(recorded) and os.path.isabs(current)):
        return False
    first, second = (os.path.realpath(path.rstrip("/\\") or "/") for path in (recorded, current))
    if first == second or not (os.path.isdir(first) and os.path.isdir(second)):
        return False  # the same folder, or one is gone (a virtual environment made again): nothing tells
    return _folder_signature(first) != _folder_signature(second)


def _folder_signature(folder: str) -> tuple:
    """What tells two model folders apart cheaply: their config.json and the names and sizes of their weights."""
    path = Path(folder)
    try:
        config = (path / "config.json").read_bytes() if (path / "config.json").is_file() else b""
        weights = sorted(
            (entry.name, entry.stat().st_size)
            for entry in path.iterdir()
            if entry.suffix in (".safetensors", ".bin", ".pt", ".onnx")
        )
    except OSError:
        return (folder,)
    return config, tuple(weights)


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, for one-line reports."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def hub_offline() -> bool:
    """True when the user switched the hub off with ``HF_HUB_OFFLINE``."""
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    return flag or bool(constants.HF_HUB_OFFLINE)


def hub_unreachable_reason() -> str | None:
    """Why the hub cannot be used right now (offline, or no connection within a few seconds), or None."""
    from huggingface_hub import constants

    if hub_offline():
        return "HF_HUB_OFFLINE is set"
    url = urlparse(constants.ENDPOINT)
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    reachable: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=HUB_PROBE_SECONDS):
                reachable.append(True)
        except OSError:
            reachable.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(HUB_PROBE_SECONDS + 0.5)
    return None if reachable and reachable[0] else f"the hub ({host}) is unreachable"


def require_hub(name: str, setting: str) -> None:
    """
    Fail fast, in one line, when a model that is neither a local directory nor cached cannot come from the hub.

    :raises ModelLoadError: naming the setting to change.
    """
    reason = hub_unreachable_reason()
    if reason is not None:
        raise ModelLoadError(name, setting, f"not a local directory, not in the Hugging Face cache, and {reason}")
