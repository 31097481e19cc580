"""compose.yaml and the Dockerfile, checked without Docker (there is no engine on the test machines): the YAML
parses, every service the README promises is there with its healthcheck, restart policy and environment, the
commands are real `musicrec` commands, nothing is required at interpolation time (so `docker compose down` works
without keys), Qdrant's image matches the installed qdrant-client's minor line and listens on 127.0.0.1."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from conftest import free_port, run_cli

from service.cli.main import build_parser
from service.errors import ConfigError
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
RAW = (ROOT / "compose.yaml").read_text()
VAR = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")


def interpolate(value, env: dict[str, str]):
    """What `docker compose` does to ${VAR:-default} (and what ${VAR:?message} would do: fail)."""
    if isinstance(value, str):

        def sub(m: re.Match) -> str:
            name, op, arg = m.groups()
            if env.get(name):
                return env[name]
            if op == "?":
                raise KeyError(f"{name} is required: {arg}")
            return arg or ""

        return VAR.sub(sub, value)
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def compose() -> dict:
    return interpolate(yaml.safe_load(RAW), {})  # an empty environment: what `docker compose down` sees


def test_nothing_is_required_at_interpolation_time():
    assert not [m.group(0) for m in VAR.finditer(RAW) if m.group(2) == "?"], "use ${VAR:-} and refuse at start-up"
    interpolate(yaml.safe_load(RAW), {})  # raises on a required variable


def test_services_healthchecks_and_restart(compose):
    services = compose["services"]
    assert {"qdrant", "redis", "api", "worker", "ingest"} <= set(services)
    for name in ("qdrant", "redis", "api", "worker"):
        assert services[name]["restart"] == "unless-stopped", name
        assert services[name]["healthcheck"]["test"], name
    assert services["ingest"]["profiles"] == ["tools"]  # `up` never starts it
    for name in ("api", "worker", "ingest"):
        deps = services[name]["depends_on"]
        assert deps == {"qdrant": {"condition": "service_healthy"}, "redis": {"condition": "service_healthy"}}


def test_qdrant_image_matches_the_client_minor_and_listens_locally(compose):
    qdrant = compose["services"]["qdrant"]
    image = re.fullmatch(r"qdrant/qdrant:v(\d+)\.(\d+)\.\d+", qdrant["image"])
    assert image, qdrant["image"]
    client = version("qdrant-client").split(".")[:2]
    assert list(image.groups()) == client, f"server {qdrant['image']} vs qdrant-client {version('qdrant-client')}"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'"qdrant-client>={client[0]}.{client[1]},<{client[0]}.{int(client[1]) + 1}"' in pyproject
    assert qdrant["ports"] == ["127.0.0.1:6333:6333"]
    assert compose["services"]["api"]["ports"] == ["127.0.0.1:8000:8000"]


def test_api_keys_are_set_and_passed():
    env = {"QDRANT_API_KEY": "qk", "MUSICREC_API_KEYS": "mk"}
    services = interpolate(yaml.safe_load(RAW), env)["services"]
    assert services["qdrant"]["environment"]["QDRANT__SERVICE__API_KEY"] == "qk"
    for name in ("api", "worker", "ingest"):
        e = services[name]["environment"]
        assert e["QDRANT_API_KEY"] == "qk" and e["MUSICREC_API_KEYS"] == "mk", name
        assert e["QDRANT_URL"] == "http://qdrant:6333" and e["REDIS_URL"].startswith("redis://redis:6379")
        assert Settings.from_env(e).qdrant_api_key == "qk"


def test_without_keys_the_musicrec_containers_refuse_to_start(compose):
    settings = Settings.from_env(compose["services"]["api"]["environment"])
    with pytest.raises(ConfigError, match="QDRANT_API_KEY"):
        settings.check_qdrant_auth()
    with pytest.raises(ConfigError, match="MUSICREC_API_KEYS"):
        settings.check_auth()


def test_commands_are_real_musicrec_commands(compose):
    services = compose["services"]
    parser = build_parser()
    commands = [
        services["api"]["command"],
        services["worker"]["command"],
        services["worker"]["healthcheck"]["test"][1:],
        services["ingest"]["command"],
    ]
    for command in commands:
        assert command[0] == "musicrec", command
        parser.parse_args(command[1:])  # exits (SystemExit) on an unknown subcommand or option


def test_local_music_reaches_ingest_and_the_api_at_the_same_path(compose):
    services = compose["services"]
    assert services["ingest"]["command"][-1] == "/music"
    assert services["ingest"]["volumes"] == services["api"]["volumes"] == ["./music:/music:ro"]
    assert "docker compose run --rm ingest" in (ROOT / "README.md").read_text()


def test_dockerfile_installs_dependencies_first_and_runs_unprivileged():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    index = {name: next(i for i, line in enumerate(lines) if line.startswith(name)) for name in ("USER", "CMD")}
    deps = next(i for i, line in enumerate(lines) if line.startswith("RUN") and "dependencies" in line)
    source = next(i for i, line in enumerate(lines) if line.startswith("COPY service"))
    assert deps < source, "dependencies must be installed in a layer before the source is copied"
    assert index["USER"] < index["CMD"] and lines[index["USER"]].split()[1] not in ("root", "0")


def test_check_command(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "MUSICREC_DATA_DIR": str(tmp_path), "OPENBLAS_NUM_THREADS": "1"}
    ok = run_cli("check", env=env)
    assert ok.returncode == 0 and "ok" in ok.stdout, ok.stderr
    down = run_cli("check", env=env | {"QDRANT_URL": f"http://127.0.0.1:{free_port()}"})
    assert down.returncode == 1 and down.stderr.count("\n") == 1 and "does not answer" in down.stderr, down.stderr
    refused = run_cli("check", env=env | {"QDRANT_URL": "http://127.0.0.1:1", "MUSICREC_QDRANT_AUTH": "required"})
    assert refused.returncode == 2 and "QDRANT_API_KEY" in refused.stderr, refused.stderr


def test_the_workers_split_the_queues_between_them():
    from service.sync.jobs import QUEUES

    services = yaml.safe_load(RAW)["services"]
    consumed = []
    for name in ("worker", "worker-cpu"):
        command = services[name]["command"]
        consumed += command[command.index("--queues") + 1].split(",")
        assert services[name]["healthcheck"]["test"][1:] == ["musicrec", "check"]
    assert sorted(consumed) == sorted(QUEUES)  # every queue consumed, by exactly one service
