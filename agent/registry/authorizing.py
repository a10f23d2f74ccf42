"""Registry authorization: the ``WWW-Authenticate`` challenge flow, Basic and Bearer.

The first 401 tells us the scheme. ``Basic`` is answered with the credentials, if we have any.
``Bearer realm=...,service=...,scope=...`` sends us to a token server (with the credentials as
Basic auth, or anonymously) for a token per scope; tokens are cached per scope until they expire,
so a pull of many blobs asks the token server once.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import dataclass

import requests

from agent.registry import credentials, errors, reading

_PARAM = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')


@dataclass(frozen=True)
class Challenge:
    """One parsed ``WWW-Authenticate`` challenge."""

    scheme: str
    params: dict[str, str]


def parse_challenge(header: str) -> Challenge | None:
    """Parse ``Bearer realm="...",service="..."`` (the first challenge of the header)."""
    header = header.strip()
    if not header:
        return None
    scheme, _, rest = header.partition(" ")
    params = {
        m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
        for m in _PARAM.finditer(rest)
    }
    return Challenge(scheme.lower(), {k: v.replace('\\"', '"') for k, v in params.items()})


def pull_scope(repository: str) -> str:
    return f"repository:{repository}:pull"


class Authorizer:
    """Answers a registry's challenges for one registry; safe to share between threads."""

    def __init__(
        self,
        registry: str,
        creds: credentials.Credentials | None,
        session: requests.Session,
        timeout: float,
        verify: bool | str = True,
    ) -> None:
        self.verify = verify
        self.registry = registry
        self.creds = creds
        self.session = session
        self.timeout = timeout
        self.challenge: Challenge | None = None
        self.token_requests = 0
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def headers(self, scope: str) -> dict[str, str]:
        """Authorization header to send for ``scope`` with what we know now."""
        if self.challenge is None:
            return {}
        if self.challenge.scheme == "basic" and self.creds:
            return {"Authorization": _basic(self.creds)}
        if self.challenge.scheme == "bearer":
            with self._lock:
                cached = self._tokens.get(scope)
            if cached and cached[1] > time.monotonic():
                return {"Authorization": f"Bearer {cached[0]}"}
        return {}

    def answer(self, response: requests.Response, scope: str) -> bool:
        """Learn from a 401 and get what it asks for; False when retrying cannot help."""
        challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if challenge is None:
            return False
        had_auth = "Authorization" in response.request.headers
        self.challenge = challenge
        if challenge.scheme == "basic":
            return self.creds is not None and not had_auth
        if challenge.scheme != "bearer" or "realm" not in challenge.params:
            raise errors.AuthError(
                self.registry, f"unsupported authentication challenge {challenge.scheme!r}"
            )
        sent = response.request.headers.get("Authorization")
        with self._lock:
            cached = self._tokens.get(scope)
            if cached and sent != f"Bearer {cached[0]}" and cached[1] > time.monotonic():
                return True  # another thread fetched a token meanwhile: use it
            if had_auth and cached and sent == f"Bearer {cached[0]}":
                del self._tokens[scope]  # refused: maybe expired early; a second refusal is final
                return False
            self._fetch_token(challenge, challenge.params.get("scope") or scope, scope)
        return True

    def _fetch_token(self, challenge: Challenge, wanted_scope: str, cache_scope: str) -> None:
        realm = challenge.params["realm"]
        params = {"scope": wanted_scope}
        if "service" in challenge.params:
            params["service"] = challenge.params["service"]
        auth = None
        if self.creds:
            params["account"] = self.creds.username
            auth = (self.creds.username, self.creds.password)
        self.token_requests += 1
        try:
            resp = self.session.get(
                realm, params=params, auth=auth, timeout=self.timeout, verify=self.verify, stream=True
            )
        except requests.RequestException as exc:
            raise errors.AuthError(self.registry, f"token server {realm} unreachable: {exc}") from exc
        with resp:
            if resp.status_code in (401, 403):
                who = (
                    f"user {self.creds.username!r} (from {self.creds.origin})"
                    if self.creds
                    else "anonymous access"
                )
                raise errors.AuthError(
                    self.registry,
                    f"token server {realm} refused {who} for {wanted_scope} (HTTP {resp.status_code})",
                )
            if resp.status_code != 200:
                raise errors.AuthError(
                    self.registry, f"token server {realm} answered HTTP {resp.status_code}"
                )
            try:
                raw = reading.read_bounded(resp, reading.MAX_TOKEN_RESPONSE)
            except reading.READ_ERRORS as exc:
                raise errors.AuthError(
                    self.registry, f"token server {realm}: answer cut short: {exc}"
                ) from exc
        if len(raw) > reading.MAX_TOKEN_RESPONSE:
            raise errors.AuthError(
                self.registry,
                f"token server {realm} sent a response larger than {reading.MAX_TOKEN_RESPONSE} bytes",
            )
        try:
            body = json.loads(raw)
            token = str(body.get("token") or body.get("access_token") or "")
            expires_in = float(body.get("expires_in") or 60)
        except (ValueError, AttributeError, TypeError) as exc:
            raise errors.AuthError(self.registry, f"token server {realm} sent no JSON token") from exc
        if not token:
            raise errors.AuthError(self.registry, f"token server {realm} sent an empty token")
        self._tokens[cache_scope] = (token, time.monotonic() + max(expires_in - 5, 1))

    def refused(self, scope: str) -> errors.AuthError:
        """The error for a request that stays unauthorized after answering the challenge."""
        if self.creds is None:
            hint = "no credentials found (use --creds, $REGISTRY_AUTH_FILE or ~/.docker/config.json)"
        else:
            hint = f"credentials of user {self.creds.username!r} from {self.creds.origin} were refused"
        return errors.AuthError(self.registry, f"unauthorized for {scope}: {hint}")


def _basic(creds: credentials.Credentials) -> str:
    token = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
    return f"Basic {token}"
