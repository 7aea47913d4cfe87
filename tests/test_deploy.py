"""What `docker compose up` and the image rely on, checked without a Docker engine: the compose
file's shape (read with PyYAML), `docker compose config` where a compose binary exists, the
Dockerfile's health check and the hash-pinned lock file."""

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from pydantic import ValidationError

from graph.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
INTERPOLATION = re.compile(r"\$\{[A-Z_]+(:?[?-][^}]*)?\}")
URL_PASSWORD = re.compile(r"://[^/@:]*:[^/@]+@")
SECRETS = ("JWT_SECRET", "POSTGRES_PASSWORD")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def example_env() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_postgres_keeps_its_data_in_a_volume_and_reports_health() -> None:
    postgres = services()["postgres"]
    volume, _, target = postgres["volumes"][0].partition(":")
    assert target == "/var/lib/postgresql/data"
    assert volume in compose()["volumes"]
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert services()["redis"]["healthcheck"]["test"] == [
        "CMD-SHELL",
        "redis-cli ping | grep -q PONG",
    ]


def test_migrations_run_once_before_the_gateway_and_the_worker() -> None:
    found = services()
    assert found["migrate"]["command"] == ["gateway", "migrate"]
    assert found["migrate"]["restart"] == "no"
    assert found["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("gateway", "worker"):
        assert found[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }, name


def test_two_gateway_processes_and_a_worker_with_its_own_health_check() -> None:
    found = services()
    command = found["gateway"]["command"]
    assert command[:2] == ["gateway", "serve"]
    assert command[command.index("--workers") + 1] == "2"
    assert "healthcheck" not in found["gateway"]  # the image's: GET /healthz on PORT
    assert found["worker"]["command"][:2] == ["gateway", "worker"]
    assert found["worker"]["healthcheck"]["test"] == ["CMD", "gateway", "check", "--worker"]
    assert found["migrate"]["healthcheck"] == {"disable": True}


def test_secrets_come_from_an_uncommitted_env_file() -> None:
    found = services()
    for name in ("migrate", "gateway", "worker"):
        assert found[name]["env_file"] == ".env", name
        assert found[name]["environment"]["ENVIRONMENT"] == "production", name
    for name, service in found.items():
        for key, value in (service.get("environment") or {}).items():
            if key in SECRETS:
                assert INTERPOLATION.fullmatch(str(value)), (name, key, "taken from .env")
            # What is left once ${...} are filled in from .env has no password of its own.
            assert not URL_PASSWORD.search(INTERPOLATION.sub("", str(value))), (name, key)
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in (ROOT / ".dockerignore").read_text().splitlines()
    assert set(example_env()) == set(SECRETS)


def test_production_refuses_the_placeholder_secret_of_env_example() -> None:
    with pytest.raises(ValidationError, match="set JWT_SECRET to a random secret"):
        Settings(environment="production", jwt_secret=example_env()["JWT_SECRET"])


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker is not None:
        found = subprocess.run(
            [docker, "compose", "version"], capture_output=True, timeout=30, check=False
        )
        if found.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy is not None else None


def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    command = _compose_command()
    if command is None:
        # Not even under CI=true: CI's machine has no Docker, so the structure tests above are
        # what always runs there.
        pytest.skip("no `docker compose` or `docker-compose` here (CI has neither)")
    shutil.copy(ROOT / "docker-compose.yml", tmp_path)
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    checked = subprocess.run(
        [*command, "config", "-q"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    (tmp_path / ".env").unlink()
    missing = subprocess.run(
        [*command, "config", "-q"], cwd=tmp_path, env=env, capture_output=True, timeout=60
    )
    assert missing.returncode != 0  # no .env, no secrets: compose refuses to start anything


def test_the_image_health_check_asks_the_port_it_serves_on() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    healthcheck = dockerfile[dockerfile.index("HEALTHCHECK") :].split("\n")[1]
    assert "os.environ.get('PORT', '8000')" in healthcheck
    assert ":8000/" not in healthcheck


def _locked() -> dict[str, tuple[str, int]]:
    """requirements.lock: {name: (version, hashes)}."""
    pins: dict[str, tuple[str, int]] = {}
    for block in re.split(r"\n(?=[A-Za-z])", (ROOT / "requirements.lock").read_text()):
        matched = re.match(r"([A-Za-z0-9_.-]+)==([^ ;\\\n]+)", block)
        if matched:
            name = canonicalize_name(matched[1])
            pins[name] = (matched[2], block.count("--hash=sha256:"))
    return pins


def test_the_image_installs_exactly_the_hash_pinned_lock() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert (
        "pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock" in dockerfile
    )
    assert "--no-deps --no-build-isolation ." in dockerfile
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = [Requirement(r) for r in project["project"]["dependencies"]]
    wanted += [Requirement(r) for r in project["build-system"]["requires"]]
    pins = _locked()
    assert all(hashes > 0 for _, hashes in pins.values()), pins
    for requirement in wanted:
        version, _ = pins[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version), (
            f"{requirement}: locked {version}; make lock"
        )
