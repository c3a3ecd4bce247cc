"""The README's walk-through, as a newcomer does it: start, bootstrap, list, describe, call, stop."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.e2e.process import cli, embedded_env, grpcurl, running_server

pytestmark = pytest.mark.e2e

SERVICES = ("TasksService", "ContentService", "ImagesService", "TaxonomyService", "PlannerService",
            "JobsService", "AutomationService", "BillingService")


def test_newcomer_starts_bootstraps_and_calls_with_grpcurl(tmp_path: Path) -> None:
    env = embedded_env(tmp_path / "var")
    with running_server(env, tmp_path / "server.log") as server:
        made = cli(env, "admin", "bootstrap", "--name", "Acme", "--credits", "1000")
        assert set(made) >= {"account_id", "site_id", "sector_id", "user_id", "api_key"}

        listed = grpcurl(server.address, "list").split()
        assert {f"igny8.writer.v1.{s}" for s in SERVICES} <= set(listed)
        assert "grpc.health.v1.Health" in listed
        assert "rpc CreateTask" in grpcurl(server.address, "describe", "igny8.writer.v1.TasksService")
        assert json.loads(grpcurl(server.address, "grpc.health.v1.Health/Check"))["status"] == "SERVING"

        headers = [f"authorization: Bearer {made['api_key']}", f"x-site-id: {made['site_id']}",
                   f"x-sector-id: {made['sector_id']}"]
        balance = json.loads(grpcurl(server.address, "igny8.writer.v1.BillingService/GetCreditBalance",
                                     headers=headers, data="{}"))
        assert balance["credits"] == "1000"
        assert balance["account_id"] == str(made["account_id"])


def test_sigterm_shuts_down_gracefully(tmp_path: Path) -> None:
    env = embedded_env(tmp_path / "var")
    with running_server(env, tmp_path / "server.log") as server:
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0
        log = server.log()
        assert "NOT_SERVING" in log and "writer service stopped" in log


def test_admin_commands_print_json(tmp_path: Path) -> None:
    env = embedded_env(tmp_path / "var")
    account = cli(env, "admin", "create-account", "--name", "Beta", "--credits", "5")
    site = cli(env, "admin", "create-site", "--account-id", str(account["account_id"]), "--name", "Blog")
    sector = cli(env, "admin", "create-sector", "--site-id", str(site["site_id"]), "--name", "Shoes")
    user = cli(env, "admin", "create-user", "--email", "ed@beta.test", "--role", "editor",
               "--account-id", str(account["account_id"]))
    key = cli(env, "admin", "create-api-key", "--user-id", str(user["user_id"]))
    topped = cli(env, "admin", "add-credits", "--account-id", str(account["account_id"]), "--amount", "10")
    assert sector["site_id"] == site["site_id"]
    assert key["api_key"].startswith("wsk_")
    assert topped["credits"] == 15
