"""Who is asking: API tokens, password logins with sessions, and slowing down guessers.

Tokens are kept only as SHA-256 digests and compared with `hmac.compare_digest` against
every configured token, so neither the time taken nor an early exit says how close a guess
was. Passwords are argon2 hashes (argon2-cffi); checking one takes tens of milliseconds,
so it runs in a worker thread, off the daemon's loop. Sessions live in memory: a restart
signs everyone out, and `end_sessions` does the same on purpose (a lost phone).

Nothing here logs or returns a token, a password or a session id.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from controller.auth.settings import MIN_TOKEN_LENGTH, AuthSettings, Role
from controller.errors import ControllerError

log = logging.getLogger(__name__)

# The variable the CLI sends its token from; when the daemon has it too, it is an admin token.
TOKEN_ENV = "VIPCTL_API_TOKEN"
# Failures a client may make before it is slowed down, then how long it waits (seconds):
# doubled with every further failure, up to the cap; forgotten after FORGET_S of quiet.
FREE_FAILURES = 5
FIRST_WAIT_S = 1.0
MAX_WAIT_S = 300.0
FORGET_S = 900.0
# How many clients the throttle remembers: a flood of addresses cannot eat the memory.
MAX_TRACKED = 10_000
# Sessions one user may hold at once (a handful of phones and screens); a further login
# ends that user's own oldest, never another user's. Users come from the site file, so
# this also bounds the memory the sessions take.
MAX_SESSIONS_PER_USER = 20

Clock = Callable[[], float]


class AuthError(ControllerError):
    """The site's credentials cannot be used (e.g. a token from the environment too short)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller whose credential checked out."""

    name: str
    role: Role
    via: Literal["token", "session"]


@dataclass(slots=True)
class Session:
    user: str
    role: Role
    created: float  # wall clock (time.time), for people to read
    expires: float  # monotonic
    last_seen: float  # wall clock
    key: str = field(repr=False)  # the digest it is stored under


@dataclass(slots=True)
class _Failures:
    count: int = 0
    last: float = 0.0
    locked_until: float = 0.0


class Throttle:
    """Counts failed attempts per key (an address, or an address and a user name)."""

    def __init__(self, *, free: int = FREE_FAILURES, first_wait: float = FIRST_WAIT_S,
                 max_wait: float = MAX_WAIT_S, forget: float = FORGET_S,
                 clock: Clock = time.monotonic) -> None:
        self.free, self.first_wait, self.max_wait, self.forget = free, first_wait, max_wait, forget
        self.clock = clock
        self._seen: OrderedDict[str, _Failures] = OrderedDict()

    def wait(self, key: str) -> float:
        """Seconds `key` must still wait before it may try again (0: go ahead)."""
        entry = self._seen.get(key)
        if entry is None:
            return 0.0
        now = self.clock()
        if now - entry.last > self.forget:
            del self._seen[key]
            return 0.0
        return max(0.0, entry.locked_until - now)

    def failed(self, key: str) -> None:
        now = self.clock()
        entry = self._seen.pop(key, None) or _Failures()
        if now - entry.last > self.forget:
            entry = _Failures()
        entry.count += 1
        entry.last = now
        if entry.count >= self.free:
            delay = self.first_wait * 2 ** (entry.count - self.free)
            entry.locked_until = now + min(delay, self.max_wait)
        self._seen[key] = entry
        while len(self._seen) > MAX_TRACKED:
            self._seen.popitem(last=False)

    def succeeded(self, key: str) -> None:
        self._seen.pop(key, None)


def secret_digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", errors="surrogatepass")).digest()


@dataclass(frozen=True, slots=True)
class _Token:
    name: str
    role: Role
    digest: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class _User:
    role: Role
    password_hash: str = field(repr=False)


class Authenticator:
    """The credentials of one site, its sessions, and its throttle."""

    def __init__(self, *, tokens: Iterable[tuple[str, Role, bytes]] = (),
                 users: Mapping[str, tuple[Role, str]] | None = None,
                 session_hours: float = 12.0, throttle: Throttle | None = None,
                 clock: Clock = time.monotonic,
                 max_sessions_per_user: int = MAX_SESSIONS_PER_USER) -> None:
        self._tokens = [_Token(name, role, digest) for name, role, digest in tokens]
        self._users = {name: _User(role, hashed) for name, (role, hashed) in (users or {}).items()}
        self.session_seconds = session_hours * 3600
        self.max_sessions_per_user = max_sessions_per_user
        self.throttle = throttle or Throttle(clock=clock)
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._hasher = PasswordHasher()
        self._decoy: str | None = None

    @classmethod
    def from_settings(cls, settings: AuthSettings, *, environ: Mapping[str, str] | None = None,
                      throttle: Throttle | None = None) -> Authenticator:
        environ = os.environ if environ is None else environ
        tokens: list[tuple[str, Role, bytes]] = []
        for spec in settings.tokens:
            if spec.token is not None:
                tokens.append((spec.name, spec.role, secret_digest(spec.token.get_secret_value())))
            elif spec.token_sha256 is not None:
                tokens.append((spec.name, spec.role, bytes.fromhex(spec.token_sha256)))
            else:
                raise AuthError(f"auth.tokens: {spec.name}: {spec.token_env} is not set")
        from_env = environ.get(TOKEN_ENV)
        if from_env:
            if len(from_env) < MIN_TOKEN_LENGTH:
                raise AuthError(f"{TOKEN_ENV} is shorter than {MIN_TOKEN_LENGTH} characters; "
                                "`vipctl new-token` makes a good one")
            tokens.append(("env", Role.ADMIN, secret_digest(from_env)))
        users: dict[str, tuple[Role, str]] = {}
        for name, user in settings.users.items():
            if user.password_hash is None:
                raise AuthError(f"auth.users.{name}: {user.password_hash_env} is not set")
            users[name] = (user.role, user.password_hash.get_secret_value())
        return cls(tokens=tokens, users=users, session_hours=settings.session_hours,
                   throttle=throttle)

    @property
    def configured(self) -> bool:
        """False when no credential at all is set up: nobody can get in but /health."""
        return bool(self._tokens or self._users)

    @property
    def token_names(self) -> list[str]:
        return [t.name for t in self._tokens]

    # --- tokens -----------------------------------------------------------------------------

    def check_token(self, presented: str) -> Principal | None:
        digest = secret_digest(presented)
        found: _Token | None = None
        for token in self._tokens:  # no early exit: every token is compared, every time
            if hmac.compare_digest(digest, token.digest):
                found = token
        return None if found is None else Principal(found.name, found.role, "token")

    # --- passwords and sessions ---------------------------------------------------------------

    def check_password(self, user: str, password: str) -> Role | None:
        """The user's role if the password is right. Slow on purpose: call it off the loop."""
        known = self._users.get(user)
        if known is None and self._decoy is None:
            # Checked when the user name is unknown, so that a wrong name takes as long as
            # a wrong password and does not tell which names exist.
            self._decoy = self._hasher.hash(secrets.token_urlsafe(16))
        hashed = known.password_hash if known is not None else self._decoy
        assert hashed is not None
        try:
            self._hasher.verify(hashed, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return known.role if known is not None else None

    def open_session(self, user: str, role: Role) -> str:
        """A new session for `user`; returns the id for the cookie (shown nowhere else)."""
        self._expire()
        own = [key for key, s in self._sessions.items() if s.user == user]  # oldest first
        for key in own[:max(0, len(own) - self.max_sessions_per_user + 1)]:
            del self._sessions[key]
            log.info("%s: a session ended to make room for a new sign-in", user)
        session_id = secrets.token_urlsafe(32)
        key = self.session_key(session_id)
        now = time.time()
        self._sessions[key] = Session(user=user, role=role, created=now, last_seen=now,
                                      expires=self.clock() + self.session_seconds, key=key)
        log.info("%s signed in (%s)", user, role.value)
        return session_id

    def session(self, session_id: str) -> Principal | None:
        key = self.session_key(session_id)
        found = self._sessions.get(key)
        if found is None:
            return None
        if self.clock() >= found.expires:
            del self._sessions[key]
            return None
        found.last_seen = time.time()
        return Principal(found.user, found.role, "session")

    @staticmethod
    def session_key(session_id: str) -> str:
        """What a session is stored under: its id's digest, never the id."""
        return secret_digest(session_id).hex()

    def close_session(self, session_id: str) -> bool:
        return self._sessions.pop(self.session_key(session_id), None) is not None

    def sessions(self) -> list[Session]:
        self._expire()
        return list(self._sessions.values())

    def end_sessions(self, keep: str | None = None) -> int:
        """Sign everyone out (but the session `keep`); how many sessions ended."""
        keep_key = None if keep is None else self.session_key(keep)
        ended = [k for k in self._sessions if k != keep_key]
        for key in ended:
            del self._sessions[key]
        return len(ended)

    def _expire(self) -> None:
        now = self.clock()
        for key in [k for k, s in self._sessions.items() if now >= s.expires]:
            del self._sessions[key]


def hash_password(password: str) -> str:
    """An argon2id hash with argon2-cffi's recommended parameters, for the site file."""
    return PasswordHasher().hash(password)


def new_token() -> tuple[str, str]:
    """A fresh random token and its SHA-256 (hex), for `token_sha256` in the site file."""
    token = secrets.token_urlsafe(32)
    return token, secret_digest(token).hex()
