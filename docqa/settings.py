"""The one settings object of docqa, read from ``DOCQA_*`` environment variables and ``.env``."""

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# python-dotenv warns about a bad .env line on every read; env_file_problems reports each one once, naming the file.
logging.getLogger("dotenv.main").setLevel(logging.ERROR)


class Settings(BaseSettings):
    """
    Configuration of docqa; every field is set by the environment variable ``DOCQA_<FIELD>``.

    Secrets (Elasticsearch password and API key) are not fields: components read them as Haystack ``Secret``\\s
    from ``DOCQA_ES_PASSWORD`` and ``DOCQA_ES_API_KEY`` so they never end up in a serialized pipeline.
    """

    model_config = SettingsConfigDict(env_prefix="DOCQA_", env_file=".env", extra="ignore", env_ignore_empty=True)

    store: Literal["memory", "elasticsearch"] = Field(
        "memory", description="Document store: 'memory' (embedded, persisted on disk) or 'elasticsearch'."
    )
    store_path: Path = Field(Path(".docqa/store"), description="Directory of the embedded store.")
    upload_path: Path = Field(
        Path(".docqa/uploads"), description="Directory where files added on the web page are kept and indexed from."
    )
    embedding_model: str = Field(
        "sentence-transformers/all-MiniLM-L6-v2", description="Sentence-transformers model: hub name or local dir."
    )
    reader_model: str = Field("deepset/tinyroberta-squad2", description="Extractive QA model: hub name or local dir.")
    device: str = Field("auto", description="'auto' (CUDA when present, else CPU), 'cpu', 'cuda', 'cuda:N' or 'mps'.")
    es_hosts: str = Field("http://localhost:9200", description="Comma-separated Elasticsearch URLs.")
    es_index: str = Field("docqa", description="Elasticsearch index name.")
    es_username: str | None = Field(None, description="Elasticsearch user (password from DOCQA_ES_PASSWORD).")
    es_ca_certs: Path | None = Field(None, description="CA certificate file for HTTPS connections to Elasticsearch.")
    es_verify_certs: bool = Field(True, description="Verify the Elasticsearch TLS certificate.")
    es_request_timeout: float = Field(30.0, gt=0, description="Seconds to wait for one Elasticsearch request.")
    es_max_retries: int = Field(3, ge=0, description="Retries of a failed or overloaded Elasticsearch request.")
    es_wait_seconds: float = Field(
        60.0, ge=0, description="How long indexing waits for the cluster to become ready before giving up."
    )

    @field_validator("store", mode="before")
    @classmethod
    def _lowercase_store(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("device")
    @classmethod
    def _check_device(cls, value: str) -> str:
        value = value.strip().lower()
        if value in ("auto", "cpu", "cuda", "mps") or (value.startswith("cuda:") and value[5:].isdigit()):
            return value
        raise ValueError(f"unknown device {value!r}; use auto, cpu, cuda, cuda:N or mps")

    @model_validator(mode="after")
    def _check_es_hosts(self) -> "Settings":
        if self.store == "elasticsearch":
            check_es_hosts(self.es_hosts)
            if self.es_ca_certs is not None and any(host.startswith("http://") for host in self.es_host_list):
                raise ValueError(
                    "DOCQA_ES_CA_CERTS: a CA certificate is for https:// URLs, but DOCQA_ES_HOSTS has an http:// one; "
                    "use https:// or unset DOCQA_ES_CA_CERTS"
                )
            if self.es_ca_certs is not None and not self.es_ca_certs.expanduser().is_file():
                raise ValueError(
                    f"DOCQA_ES_CA_CERTS: {self.es_ca_certs} is not a file; give the path of the cluster's CA "
                    "certificate (PEM), e.g. config/certs/http_ca.crt of the Elasticsearch installation"
                )
        return self

    @property
    def es_host_list(self) -> list[str]:
        """The Elasticsearch hosts as a list."""
        return [host.strip() for host in self.es_hosts.split(",") if host.strip()]


def check_es_hosts(value: str) -> None:
    """
    :raises ValueError: unless ``value`` is one or more comma-separated http(s) URLs with a host name.
    """
    from urllib.parse import urlsplit

    hosts = [host.strip() for host in value.split(",") if host.strip()]
    if not hosts:
        raise ValueError("DOCQA_ES_HOSTS: no Elasticsearch URL given; use e.g. http://localhost:9200 (comma-separated)")
    for host in hosts:
        try:
            url = urlsplit(host)
        except ValueError as error:
            raise ValueError(f"DOCQA_ES_HOSTS: {host!r} is not a URL ({error})") from error
        if "@" in url.netloc or "@" in host.partition("/")[0]:
            # shown on the page and in every message: the password must not be part of it
            raise ValueError(
                "DOCQA_ES_HOSTS: a URL carries a user name or password; put the URL without them in DOCQA_ES_HOSTS "
                "and the credentials in DOCQA_ES_USERNAME and DOCQA_ES_PASSWORD (or DOCQA_ES_API_KEY)"
            )
        try:
            url.port  # noqa: B018 (a port that is not a number raises here)
        except ValueError as error:
            raise ValueError(f"DOCQA_ES_HOSTS: {host!r} is not a URL ({error})") from error
        if url.scheme not in ("http", "https"):
            example = f"http://{host.split('://')[-1]}"
            raise ValueError(f"DOCQA_ES_HOSTS: {host!r} is not an http:// or https:// URL; e.g. {example}")
        if not url.hostname:
            raise ValueError(f"DOCQA_ES_HOSTS: {host!r} has no host name; e.g. http://localhost:9200")


#: ``DOCQA_*`` variables read elsewhere than :class:`Settings`: the secrets, docker compose, the scripts, the tests.
OTHER_VARIABLES = frozenset(
    {"DOCQA_ES_PASSWORD", "DOCQA_ES_API_KEY", "DOCQA_PORT", "DOCQA_DOCUMENTS", "DOCQA_VENV", "DOCQA_TEST_HF_TOKEN"}
)


def known_variables() -> frozenset[str]:
    """Every ``DOCQA_*`` variable docqa reads."""
    return frozenset(f"DOCQA_{name.upper()}" for name in Settings.model_fields) | OTHER_VARIABLES


def unknown_variables(environ: Mapping[str, str] | None = None, env_file: str | Path = ".env") -> list[str]:
    """
    One line per ``DOCQA_*`` variable of the environment or of ``env_file`` that docqa does not read (a misspelled
    setting is otherwise silently ignored), with the closest known name.
    """
    import difflib
    import os

    environ = os.environ if environ is None else environ
    found = {name: "the environment" for name in environ if name.upper().startswith("DOCQA_")}
    path = Path(env_file)
    if path.is_file():
        from dotenv import dotenv_values

        try:
            names = dotenv_values(path)
        except (OSError, UnicodeDecodeError):
            names = {}  # reported by get_settings
        found.update({name: str(path) for name in names if name.upper().startswith("DOCQA_") and name not in found})
    known = known_variables()
    lines = []
    for name, where in sorted(found.items()):
        if name.upper() in known:
            continue
        close = difflib.get_close_matches(name.upper(), sorted(known), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else "; see .env.example for the settings"
        lines.append(f"{name} (in {where}) is not a docqa setting and is ignored{hint}")
    return lines


def env_file_problems(env_file: str | Path = ".env") -> list[str]:
    """
    One line per line of ``env_file`` that is not ``NAME=value`` (nor a comment or blank), which is ignored.

    python-dotenv warns about such a line each time the file is read, without naming the file, and the settings are
    read many times in one command: its logger is quieted and this reports each line once instead.
    """
    path = Path(env_file)
    if not path.is_file():
        return []
    from dotenv.parser import parse_stream

    try:
        with open(path, encoding="utf-8") as stream:
            bindings = list(parse_stream(stream))
    except (OSError, UnicodeDecodeError):
        return []  # reported by get_settings
    return [
        f"{path} line {binding.original.line} is not NAME=value and is ignored: {binding.original.string.strip()!r}"
        for binding in bindings
        if binding.error
    ]


def settings_warnings(environ: Mapping[str, str] | None = None, env_file: str | Path = ".env") -> list[str]:
    """What a command or the page warns about before starting: :func:`env_file_problems` and
    :func:`unknown_variables`."""
    return [*env_file_problems(env_file), *unknown_variables(environ, env_file)]


def get_settings() -> Settings:
    """
    Read the settings from the environment now.

    :raises docqa.errors.SettingsError: when a variable has a value that is not allowed.
    """
    from pydantic import ValidationError

    from docqa.errors import SettingsError

    try:
        return Settings()
    except UnicodeDecodeError as error:
        env_file = Path(".env").resolve()
        raise SettingsError(
            str(env_file), f"not UTF-8 text (byte 0x{error.object[error.start]:02x} at {error.start}); save it as UTF-8"
        ) from error
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        if not field:  # a check of several settings names the variable itself
            variable, _, message = message.partition(": ")
            raise SettingsError(variable, message) from error
        raise SettingsError(f"DOCQA_{field.upper()}", message) from error
