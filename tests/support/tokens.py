"""A small Bearer token server for the registry's ``auth: token`` mode (Docker token spec).

It answers ``GET /token?service=..&scope=repository:NAME:pull,push`` for the one user it knows
(HTTP Basic) with a JWT signed RS256 by the test signing key; the certificate travels in the
``x5c`` header and is the registry's ``rootcertbundle``. It counts the tokens it issued so tests
can check that clients cache them per scope.
"""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import Certificate


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenIssuer:
    """Issues tokens; ``issued`` lists the scopes asked for, in order."""

    cert: Certificate
    key: rsa.RSAPrivateKey
    service: str
    users: dict[str, str]
    issuer: str = "berth-test-issuer"
    issued: list[str] = field(default_factory=list)
    refused: int = 0

    def token(self, subject: str, scope: str) -> str:
        header = {
            "typ": "JWT",
            "alg": "RS256",
            "x5c": [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()],
        }
        access = []
        if scope.startswith("repository:"):
            _, name, actions = scope.split(":", 2)
            access.append({"type": "repository", "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"


class _Handler(http.server.BaseHTTPRequestHandler):
    issuer: TokenIssuer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass

    def do_GET(self) -> None:
        query = parse_qs(urlparse(self.path).query)
        user = self._user()
        if user is None:
            self.issuer.refused += 1
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        scope = query.get("scope", [""])[0]
        self.issuer.issued.append(scope)
        body = json.dumps({"token": self.issuer.token(user, scope), "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _user(self) -> str | None:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user if self.issuer.users.get(user) == password else None


class TokenServer:
    """The issuer served over HTTP on 127.0.0.1 in a daemon thread."""

    def __init__(self, issuer: TokenIssuer) -> None:
        handler = type("Handler", (_Handler,), {"issuer": issuer})
        self.issuer = issuer
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/token"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
