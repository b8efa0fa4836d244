import pytest

from docqa.errors import SettingsError
from docqa.settings import get_settings

pytestmark = pytest.mark.unit


def test_defaults_need_no_server(monkeypatch):
    for name in ("DOCQA_STORE", "DOCQA_DEVICE", "DOCQA_READER_MODEL", "DOCQA_EMBEDDING_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir("/")
    settings = get_settings()
    assert settings.store == "memory"
    assert settings.device == "auto"
    assert settings.reader_model == "deepset/tinyroberta-squad2"
    assert settings.embedding_model == "sentence-transformers/all-MiniLM-L6-v2"


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCQA_STORE", "elasticsearch")
    monkeypatch.setenv("DOCQA_STORE_PATH", str(tmp_path / "s"))
    monkeypatch.setenv("DOCQA_ES_HOSTS", "http://a:9200, http://b:9200")
    monkeypatch.setenv("DOCQA_DEVICE", "CUDA:1")
    settings = get_settings()
    assert settings.store == "elasticsearch"
    assert settings.store_path == tmp_path / "s"
    assert settings.es_host_list == ["http://a:9200", "http://b:9200"]
    assert settings.device == "cuda:1"


def test_dotenv_file_is_read_and_empty_values_mean_unset(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DOCQA_READER_MODEL", raising=False)
    monkeypatch.delenv("DOCQA_ES_USERNAME", raising=False)
    (tmp_path / ".env").write_text("DOCQA_READER_MODEL=/models/reader\nDOCQA_ES_USERNAME=\n")
    settings = get_settings()
    assert settings.reader_model == "/models/reader"
    assert settings.es_username is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [("DOCQA_STORE", "postgres"), ("DOCQA_DEVICE", "tpu"), ("DOCQA_DEVICE", "cuda:x"), ("DOCQA_ES_MAX_RETRIES", "-1")],
)
def test_bad_values_name_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        get_settings()
    assert variable in str(error.value)
    assert "\n" not in str(error.value)


def test_a_bad_device_message_has_no_library_prefix(monkeypatch):
    monkeypatch.setenv("DOCQA_DEVICE", "tpu")
    with pytest.raises(SettingsError) as error:
        get_settings()
    assert str(error.value).startswith("DOCQA_DEVICE: unknown device 'tpu'; use auto, cpu, cuda, cuda:N or mps.")


@pytest.mark.parametrize(
    ("hosts", "problem"),
    [
        ("localhost:9200", "'localhost:9200' is not an http:// or https:// URL; e.g. http://localhost:9200"),
        (",", "no Elasticsearch URL given"),
        ("http://es:port", "'http://es:port' is not a URL"),
        ("http://", "'http://' has no host name"),
        ("http://[::1", "'http://[::1' is not a URL (Invalid IPv6 URL)"),
        ("http://es1:9200,es2:9200", "'es2:9200' is not an http:// or https:// URL"),
    ],
)
def test_elasticsearch_hosts_must_be_urls_when_elasticsearch_is_the_store(monkeypatch, hosts, problem):
    monkeypatch.setenv("DOCQA_ES_HOSTS", hosts)
    assert get_settings().store == "memory", "the embedded store does not care"
    monkeypatch.setenv("DOCQA_STORE", "elasticsearch")
    with pytest.raises(SettingsError) as error:
        get_settings()
    assert str(error.value).startswith(f"DOCQA_ES_HOSTS: {problem}") and "\n" not in str(error.value)
    monkeypatch.setenv("DOCQA_ES_HOSTS", "http://es1:9200, https://es2:9243")
    assert get_settings().es_host_list == ["http://es1:9200", "https://es2:9243"]


@pytest.mark.parametrize("hosts", ["https://elastic:S3cret@es:9200", "http://es0:9200,elastic:S3cret@es:port"])
def test_credentials_in_elasticsearch_urls_are_refused_without_showing_them(monkeypatch, hosts):
    monkeypatch.setenv("DOCQA_STORE", "elasticsearch")
    monkeypatch.setenv("DOCQA_ES_HOSTS", hosts)
    with pytest.raises(SettingsError) as error:
        get_settings()
    message = str(error.value)
    assert message.startswith("DOCQA_ES_HOSTS: a URL carries a user name or password;") and "S3cret" not in message
    assert "DOCQA_ES_USERNAME and DOCQA_ES_PASSWORD" in message


def test_a_ca_certificate_needs_https_urls(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCQA_STORE", "elasticsearch")
    monkeypatch.setenv("DOCQA_ES_CA_CERTS", str(tmp_path / "ca.pem"))
    monkeypatch.setenv("DOCQA_ES_HOSTS", "https://es1:9200,http://es2:9200")
    with pytest.raises(SettingsError) as error:
        get_settings()
    assert str(error.value).startswith("DOCQA_ES_CA_CERTS: a CA certificate is for https:// URLs, but DOCQA_ES_HOSTS")
    monkeypatch.setenv("DOCQA_ES_HOSTS", "https://es1:9200,https://es2:9200")
    with pytest.raises(SettingsError) as error:
        get_settings()
    assert str(error.value).startswith(f"DOCQA_ES_CA_CERTS: {tmp_path / 'ca.pem'} is not a file; give the path")
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    assert get_settings().es_ca_certs == tmp_path / "ca.pem"


@pytest.mark.parametrize(
    ("content", "byte"),
    [
        ("DOCQA_ES_HOSTS=http://caf\u00e9:9200\n".encode("cp1252"), "0xe9 at 25"),
        ("DOCQA_STORE=memory\n".encode("utf-16"), "0xff at 0"),
    ],
)
def test_a_dotenv_file_that_is_not_utf8_is_one_line(monkeypatch, tmp_path, content, byte):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_bytes(content)
    with pytest.raises(SettingsError) as error:
        get_settings()
    assert str(error.value).startswith(f"{tmp_path / '.env'}: not UTF-8 text (byte {byte}); save it as UTF-8.")


def test_the_store_name_is_read_whatever_its_case(monkeypatch):
    monkeypatch.setenv("DOCQA_STORE", " Memory ")
    assert get_settings().store == "memory"
    monkeypatch.setenv("DOCQA_STORE", "ElasticSearch")
    assert get_settings().store == "elasticsearch"


def test_every_documented_variable_is_known_and_a_misspelled_one_is_not(tmp_path):
    import re
    from pathlib import Path

    from docqa.settings import known_variables, unknown_variables

    root = Path(__file__).resolve().parent.parent
    documented = set()
    for name in (".env.example", "README.md", "docker-compose.yml", "scripts/setup.sh"):
        documented |= set(re.findall(r"\bDOCQA_[A-Z0-9_]*[A-Z0-9]\b", (root / name).read_text()))
    assert documented and documented <= known_variables()
    (tmp_path / ".env").write_text("DOCQA_STORE=memory\nDOCQA_STOREE=elasticsearch\nOTHER=1\ndocqa_device=cpu\n")
    environ = {"DOCQA_EMBEDING_MODEL": "m", "DOCQA_ES_PASSWORD": "secret", "DOCQA_XYZZY": "1", "PATH": "/bin"}
    assert unknown_variables(environ, tmp_path / ".env") == [
        "DOCQA_EMBEDING_MODEL (in the environment) is not a docqa setting and is ignored; "
        "did you mean DOCQA_EMBEDDING_MODEL?",
        f"DOCQA_STOREE (in {tmp_path / '.env'}) is not a docqa setting and is ignored; did you mean DOCQA_STORE?",
        "DOCQA_XYZZY (in the environment) is not a docqa setting and is ignored; see .env.example for the settings",
    ]
    assert unknown_variables({}, tmp_path / "missing.env") == []
