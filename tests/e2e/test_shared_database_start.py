"""On a shared database, which is migrated on purpose, the commands refuse to start on a schema that
is missing or older than the release, or a database that does not answer, and say so in one line of
JSON instead of failing later on a missing table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.common import free_port
from tests.e2e.process import PROJECT_ROOT, cli, service_env

pytestmark = pytest.mark.e2e

COMMANDS = (("serve",), ("admin", "bootstrap", "--name", "Acme"))


def refused(env: dict[str, str], *args: str) -> dict[str, Any]:
    """Run `writer-service ARGS`, which must exit 2; the JSON it printed on stderr."""
    done = subprocess.run([sys.executable, "-m", "writer_service.cli", *args], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, (done.returncode, done.stderr)
    error: dict[str, Any] = json.loads(done.stderr.strip().splitlines()[-1])
    return error


def test_commands_refuse_a_schema_never_migrated_or_behind_then_start_once_migrated(
    database_url: str, tmp_path: Path
) -> None:
    env = service_env(tmp_path / "var", database_url=database_url)
    for command in COMMANDS:
        error = refused(env, *command)
        assert error["error"] == "SCHEMA_NOT_MIGRATED"
        assert "never migrated" in error["message"] and "writer-service migrate" in error["message"]

    subprocess.run([sys.executable, "-m", "writer_service.db.migrate", "upgrade", "0005_automation_run_credits_exha",
                    "--url", database_url], cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=120)
    error = refused(env, "serve")
    assert error["error"] == "SCHEMA_NOT_MIGRATED"
    assert "at revision 0005_automation_run_credits_exha" in error["message"]

    assert cli(env, "migrate") == {"migrated": True}
    assert "api_key" in cli(env, "admin", "bootstrap", "--name", "Acme")


def test_commands_refuse_a_database_that_does_not_answer(tmp_path: Path) -> None:
    nobody = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/writer"
    env = service_env(tmp_path / "var", database_url=nobody)
    for command in COMMANDS:
        error = refused(env, *command)
        assert error["error"] == "DATABASE_UNAVAILABLE"
        assert "cannot reach the database" in error["message"]
