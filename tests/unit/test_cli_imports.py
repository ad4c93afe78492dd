"""What `vipctl` loads to start: the stacks only some commands use are imported by those
commands (each one's own tests run it through the real CLI), so that `vipctl run` starts
without them, and `vipctl run --api-port 0` without the API's; the API server without the
certificate maker (`vipctl tls-cert`'s)."""

from __future__ import annotations

import json
import subprocess
import sys

# Alembic: only when the schema is not at the newest revision (test_migrations.py); the
# others: the API server, the CLI's HTTP client, the certificate maker, the tables the
# client commands print, the reports.
LATER = ("alembic", "fastapi", "uvicorn", "starlette", "httpx", "cryptography", "rich",
         "matplotlib", "weasyprint", "jinja2")


def loaded_after(code: str) -> set[str]:
    """The top-level packages among LATER that a fresh interpreter has loaded after `code`."""
    report = (f"{code}\nimport json, sys\n"
              f"print(json.dumps(sorted({{m.partition('.')[0] for m in sys.modules}})))")
    done = subprocess.run([sys.executable, "-c", report], capture_output=True, text=True,
                          check=True, timeout=60)
    return set(json.loads(done.stdout.splitlines()[-1])) & set(LATER)


def test_the_cli_and_the_daemon_load_without_the_stacks_of_other_commands() -> None:
    assert loaded_after("import controller.cli.main, controller.daemon") == set()


def test_the_api_server_brings_its_own_stack_and_no_other() -> None:
    # The check above would pass as well if nothing ever loaded them: this one would not.
    api = {"fastapi", "uvicorn", "starlette"}
    assert loaded_after("import controller.api.server") == api
