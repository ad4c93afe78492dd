"""HTTPS for the page on a sales center's LAN: a self-signed certificate for `vipctl
tls-cert`, its fingerprint (what a phone shows when asked to trust it), and HSTS.

A LAN has no public name for a certificate authority to vouch for; a self-signed pair,
trusted once on each phone by its fingerprint, keeps passwords and session cookies off the
air in clear.

cryptography is imported by the functions that make or read a certificate: the daemon
serves HTTPS with Python's ssl module, and only needs HstsMiddleware from here.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from cryptography import x509

# A year: long enough not to lapse between visits of the installer, short enough to be
# renewed with the site's yearly check.
VALID_DAYS = 397
# What browsers are told to remember (seconds): half a year, the usual minimum.
HSTS_MAX_AGE = 15_552_000


def _alt_name(host: str) -> x509.GeneralName:
    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def make_self_signed(hosts: list[str], cert_path: Path, key_path: Path, *,
                     now: dt.datetime | None = None) -> str:
    """Writes a P-256 key (mode 600) and a certificate for `hosts` (names or addresses);
    returns the certificate's SHA-256 fingerprint (AA:BB:...)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    if not hosts:
        raise ValueError("name at least one host name or address")
    now = now or dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0]),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "vipctl")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([_alt_name(h) for h in hosts]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    key_bytes = key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    # The key is created unreadable to others before a byte of it is written.
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key_bytes)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return fingerprint(cert)


def fingerprint(cert: x509.Certificate) -> str:
    from cryptography.hazmat.primitives import hashes

    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def fingerprint_of(cert_path: Path) -> str:
    from cryptography import x509

    return fingerprint(x509.load_pem_x509_certificate(cert_path.read_bytes()))


class HstsMiddleware:
    """Adds Strict-Transport-Security to every answer given over HTTPS."""

    def __init__(self, app: ASGIApp, max_age: int = HSTS_MAX_AGE) -> None:
        self.app = app
        self.header = (b"strict-transport-security", f"max-age={max_age}".encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), self.header]
            await send(message)

        await self.app(scope, receive, send_with_header)
