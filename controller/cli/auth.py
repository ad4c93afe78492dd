"""`vipctl hash-password` and `vipctl new-token`: the credentials for the site file's `auth:`.

Neither writes anything: they print what goes into the file (or into the environment), so
that a secret exists only where the operator puts it.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from controller.auth.credentials import TOKEN_ENV, hash_password, new_token

EXIT_BAD_INPUT = 2
# A password a concierge can still type on a phone, and an attacker cannot guess quickly.
MIN_PASSWORD = 8


def hash_password_command(
    stdin: Annotated[bool, typer.Option(
        "--stdin", help="Read the password from the first line of standard input.")] = False,
) -> None:
    """Print the argon2 hash of a password, for auth.users.<name>.password_hash."""
    if stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        print(f"vipctl: a password needs at least {MIN_PASSWORD} characters", file=sys.stderr)
        raise typer.Exit(EXIT_BAD_INPUT)
    print(hash_password(password))


def new_token_command() -> None:
    """Print a new random API token and its SHA-256, for auth.tokens."""
    token, digest = new_token()
    print(f"token:        {token}")
    print(f"token_sha256: {digest}")
    print(f"# the daemon takes either; a client sends the token, e.g. {TOKEN_ENV}=<token>",
          file=sys.stderr)


def register(app: typer.Typer) -> None:
    app.command("hash-password")(hash_password_command)
    app.command("new-token")(new_token_command)
