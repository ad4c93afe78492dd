"""`vipctl hash-password` and `vipctl new-token`: the credentials for the site file's `auth:`;
`vipctl tls-cert`: a certificate for its `api: tls:`.

The first two write nothing: they print what goes into the file (or into the environment),
so that a secret exists only where the operator puts it. `tls-cert` writes the key and the
certificate where it is told, the key readable by its owner only.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

# The credentials (argon2) and the certificate maker (cryptography) are imported by the
# commands that use them, not by every vipctl command.

EXIT_BAD_INPUT = 2
# A password a concierge can still type on a phone, and an attacker cannot guess quickly.
MIN_PASSWORD = 8


def hash_password_command(
    stdin: Annotated[bool, typer.Option(
        "--stdin", help="Read the password from the first line of standard input.")] = False,
) -> None:
    """Print the argon2 hash of a password, for auth.users.<name>.password_hash."""
    from controller.auth.credentials import hash_password

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
    from controller.auth.credentials import TOKEN_ENV, new_token

    token, digest = new_token()
    print(f"token:        {token}")
    print(f"token_sha256: {digest}")
    print(f"# the daemon takes either; a client sends the token, e.g. {TOKEN_ENV}=<token>",
          file=sys.stderr)


# Always in the certificate: the CLI on the daemon's own machine reaches it by these.
LOCAL_NAMES = ["localhost", "127.0.0.1", "::1"]


def tls_cert_command(
    host: Annotated[list[str] | None, typer.Option(
        "--host", help="A name or address the page is reached by (repeatable), e.g. "
                       "vip.local or 192.168.1.20; localhost is always included.")] = None,
    out: Annotated[Path, typer.Option(
        "--out", help="The folder for vipctl.crt and vipctl.key.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Replace an existing pair.")] = False,
) -> None:
    """Make a self-signed certificate for the page on the site's LAN; print its fingerprint
    (check it on each phone the first time) and the lines for the site file."""
    from controller.api.tls import make_self_signed

    cert, key = out / "vipctl.crt", out / "vipctl.key"
    if not out.is_dir():
        print(f"vipctl: no such folder: {out}", file=sys.stderr)
        raise typer.Exit(EXIT_BAD_INPUT)
    if not force and (cert.exists() or key.exists()):
        print(f"vipctl: {cert} or {key} exists; --force replaces them", file=sys.stderr)
        raise typer.Exit(EXIT_BAD_INPUT)
    names = list(dict.fromkeys([*(host or []), *LOCAL_NAMES]))
    fingerprint = make_self_signed(names, cert, key)
    print(f"certificate: {cert}  (for {', '.join(names)})")
    print(f"key:         {key}  (mode 600)")
    print(f"SHA-256 fingerprint: {fingerprint}")
    print("# in the site file:")
    print(f"api:\n  tls: {{cert: {cert.resolve()}, key: {key.resolve()}}}")


def register(app: typer.Typer) -> None:
    app.command("hash-password")(hash_password_command)
    app.command("new-token")(new_token_command)
    app.command("tls-cert")(tls_cert_command)
