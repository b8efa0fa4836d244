"""The docker compose deployment, checked from its files: secured, local-only, persistent, healthy before use."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parent.parent
REQUIRED = re.compile(r"^\$\{ELASTIC_PASSWORD:\?[^}]+\}$")


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def gpu():
    return yaml.safe_load((ROOT / "docker-compose.gpu.yml").read_text())


def env(service):
    environment = service.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return environment


def test_services(compose):
    assert set(compose["services"]) == {"elasticsearch", "app"}
    image = compose["services"]["elasticsearch"]["image"]
    assert re.fullmatch(r"docker\.elastic\.co/elasticsearch/elasticsearch:8\.19\.\d+", image)
    assert compose["services"]["app"]["build"]["dockerfile"] == "Dockerfile"


def test_elasticsearch_is_secured_single_node_with_heap(compose):
    es = env(compose["services"]["elasticsearch"])
    assert es["discovery.type"] == "single-node"
    assert str(es["xpack.security.enabled"]).lower() == "true"
    assert REQUIRED.match(es["ELASTIC_PASSWORD"])
    assert re.search(r"-Xms\S+ -Xmx\S+", es["ES_JAVA_OPTS"])


def test_ports_are_published_on_localhost_only(compose):
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", name
            else:
                assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond localhost"
    assert compose["services"]["elasticsearch"]["ports"]
    assert any(str(p).endswith(":8501") for p in compose["services"]["app"]["ports"])


def test_elasticsearch_data_is_on_a_named_volume(compose):
    volumes = compose["services"]["elasticsearch"]["volumes"]
    named = [v.split(":")[0] for v in volumes if v.endswith(":/usr/share/elasticsearch/data")]
    assert named and named[0] in compose["volumes"]
    assert not named[0].startswith((".", "/"))


def test_healthcheck_asks_cluster_health_with_the_password(compose):
    check = compose["services"]["elasticsearch"]["healthcheck"]
    command = " ".join(check["test"]) if isinstance(check["test"], list) else check["test"]
    assert "curl" in command
    assert "_cluster/health" in command
    assert "$${ELASTIC_PASSWORD}" in command or "$$ELASTIC_PASSWORD" in command
    assert "--fail" in command or " -f" in command
    assert check["retries"] >= 1


def test_app_starts_after_a_healthy_elasticsearch_and_talks_to_it(compose):
    app = compose["services"]["app"]
    assert app["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
    app_env = env(app)
    assert app_env["DOCQA_STORE"] == "elasticsearch"
    assert app_env["DOCQA_ES_HOSTS"] == "http://elasticsearch:9200"
    assert app_env["DOCQA_ES_USERNAME"] == "elastic"
    assert REQUIRED.match(app_env["DOCQA_ES_PASSWORD"]), "the elastic user's own password, whatever .env says"
    for name in ("DOCQA_ES_API_KEY", "DOCQA_ES_CA_CERTS", "DOCQA_DEVICE"):
        assert name not in app_env or "${" not in str(app_env[name]), f"{name} in .env is for docqa on the host"
    for name in ("DOCQA_ES_INDEX", "DOCQA_ES_WAIT_SECONDS", "DOCQA_ES_REQUEST_TIMEOUT", "DOCQA_ES_MAX_RETRIES"):
        assert app_env[name].startswith(f"${{{name}:-"), f"{name} from .env reaches the app"
    from docqa.settings import Settings

    for name, value in app_env.items():
        if name.endswith(("_PASSWORD", "_API_KEY")):
            continue  # secrets: read where needed, not settings fields
        assert name.removeprefix("DOCQA_").lower() in Settings.model_fields, name
        default = re.fullmatch(r"\$\{\w+:-([^}$]+)\}", str(value))
        literal = default.group(1) if default else value
        if "${" not in str(literal):
            Settings(_env_file=None, **{name.removeprefix("DOCQA_").lower(): literal})
    assert any(str(v).endswith(":/data") or ":/data:" in str(v) for v in app["volumes"])
    assert "uploads:/uploads" in app["volumes"] and "uploads" in compose["volumes"]


def test_the_image_keeps_page_uploads_in_a_directory_its_user_owns():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "DOCQA_UPLOAD_PATH=/uploads" in dockerfile
    assert "chown docqa:docqa /models /uploads /app" in dockerfile


def test_no_default_password_anywhere(compose):
    for name, service in compose["services"].items():
        for key, value in env(service).items():
            if "PASSWORD" in key or "API_KEY" in key:
                assert str(value).startswith("${") and ":?" in str(value), f"{name}.{key} has a default: {value}"
                assert not re.search(r":-[^$}]", str(value)), f"{name}.{key} falls back to a literal"
    example = (ROOT / ".env.example").read_text()
    for variable in ("ELASTIC_PASSWORD", "DOCQA_ES_PASSWORD", "DOCQA_ES_API_KEY"):
        assert re.search(rf"^{variable}=$", example, re.MULTILINE), f".env.example must leave {variable} empty"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "PASSWORD" not in dockerfile
    assert "API_KEY" not in dockerfile


def test_secrets_stay_out_of_the_image():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored
    assert ".git" in ignored


def test_image_installs_the_pinned_requirements_and_serves_streamlit():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    assert "pip install -r requirements.txt" in dockerfile
    assert "streamlit" in dockerfile and "8501" in dockerfile
    assert "requirements.txt" in dockerfile.split("pip install -r requirements.txt")[0]


def test_gpu_variant_reserves_an_nvidia_device(gpu, compose):
    app = gpu["services"]["app"]
    [device] = app["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia"
    assert "gpu" in device["capabilities"]
    assert env(app)["DOCQA_DEVICE"].startswith("cuda")
    assert "deploy" not in compose["services"]["app"]
    assert env(compose["services"]["app"])["DOCQA_DEVICE"] == "cpu"


def test_the_page_run_locally_listens_on_this_machine_only_and_sends_no_statistics():
    """``streamlit run app.py`` from the project folder reads .streamlit/config.toml (the page has no login)."""
    code = (
        "from streamlit import config; config.get_config_options(force_reparse=True); "
        "print(config.get_option('server.address'), config.get_option('browser.gatherUsageStats'))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["127.0.0.1", "False"]
