"""HTTP to one registry: scheme and TLS policy, authorization and retries on ``requests``.

TLS is verified by default (with a custom CA bundle when given). Plain HTTP is used only for
hosts in the insecure list and for loopback hosts (127.0.0.0/8, ::1, localhost), and only when
the host does not speak TLS: a certificate that fails verification is an error, never a reason
to fall back. Insecure hosts also skip certificate verification, as Docker's
``insecure-registries`` does.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import time
from collections.abc import Sequence
from pathlib import Path

import requests
import urllib3

from agent.registry import authorizing, credentials, errors, reading, retrying

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_CONNECTION_ERRORS = (requests.ConnectionError, requests.Timeout)


def host_name(host: str) -> str:
    """``host[:port]`` or ``[v6]:port`` without the port."""
    if host.startswith("["):
        return host[1 : host.index("]")]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback(host: str) -> bool:
    name = host_name(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_insecure(host: str, insecure: Sequence[str]) -> bool:
    """Listed by ``host:port`` or by bare host name."""
    return host in insecure or host_name(host) in insecure


def allows_plain_http(host: str, insecure: Sequence[str]) -> bool:
    return is_loopback(host) or is_insecure(host, insecure)


def _error_detail(resp: requests.Response) -> str:
    """The registry's ``{"errors": [{"code", "message"}]}`` text, if any (the first 64 KiB only)."""
    with contextlib.suppress(ValueError, AttributeError, TypeError, *reading.READ_ERRORS):
        items = json.loads(reading.read_bounded(resp, reading.MAX_ERROR_BODY)).get("errors") or []
        return "; ".join(f"{e.get('code', '')}: {e.get('message', '')}" for e in items)
    return ""


class RegistryClient:
    """Requests to ``host``'s ``/v2/`` API for one repository at a time; thread-safe."""

    def __init__(
        self,
        host: str,
        *,
        creds: credentials.Credentials | None = None,
        insecure: Sequence[str] = (),
        ca_file: Path | None = None,
        retry: retrying.RetryPolicy | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.insecure = tuple(insecure)
        self.retry = retry or retrying.RetryPolicy()
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "berth/0.1"
        # Passed with every request: requests lets $REQUESTS_CA_BUNDLE override Session.verify.
        self.verify: bool | str = True
        if is_insecure(host, self.insecure):
            self.verify = False
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        elif ca_file is not None:
            if not Path(ca_file).is_file():
                raise errors.TLSError(host, f"CA file {ca_file} does not exist")
            self.verify = str(ca_file)
        self.auth = authorizing.Authorizer(host, creds, self.session, timeout, self.verify)
        self._base: str | None = None
        self.ca_file = ca_file

    def close(self) -> None:
        self.session.close()

    @property
    def base_url(self) -> str:
        """``https://host`` or ``http://host``, decided once by pinging ``/v2/``."""
        attempt = 0
        while self._base is None:
            try:
                self._base = self._probe()
            except errors.TransportError:
                attempt += 1
                if attempt >= self.retry.attempts:
                    raise
                time.sleep(self.retry.delay(attempt - 1))
        return self._base

    def _probe(self) -> str:
        url = f"https://{self.host}/v2/"
        try:
            resp = self.session.get(url, timeout=self.timeout, verify=self.verify, stream=True)
        except requests.exceptions.SSLError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc) or "certificate verify failed" in str(exc):
                trusted = f"the CA file {self.ca_file}" if self.ca_file else "the system CAs"
                raise errors.TLSError(
                    self.host, f"TLS certificate not trusted by {trusted} (give --ca-file, or --insecure)"
                ) from exc
            if not allows_plain_http(self.host, self.insecure):
                raise errors.TLSError(
                    self.host,
                    "TLS handshake failed and plain HTTP is allowed only for loopback and insecure "
                    f"registries (add --insecure for {self.host} if it serves plain HTTP): {exc}",
                ) from exc
            return self._probe_http(exc)
        except _CONNECTION_ERRORS as exc:
            if allows_plain_http(self.host, self.insecure):
                return self._probe_http(exc)
            raise errors.TransportError(self.host, f"cannot connect: {exc}") from exc
        self._learn(resp)
        return f"https://{self.host}"

    def _probe_http(self, https_error: Exception) -> str:
        try:
            resp = self.session.get(
                f"http://{self.host}/v2/", timeout=self.timeout, verify=self.verify, stream=True
            )
        except requests.RequestException as exc:
            raise errors.TransportError(
                self.host, f"cannot connect over HTTPS ({https_error}) nor HTTP ({exc})"
            ) from exc
        self._learn(resp)
        return f"http://{self.host}"

    def _learn(self, resp: requests.Response) -> None:
        """Keep the challenge; the body means nothing, but a short one is read so that the
        connection can be reused (a longer one is dropped with the connection)."""
        if resp.status_code == 401:
            self.auth.challenge = authorizing.parse_challenge(resp.headers.get("WWW-Authenticate", ""))
        with resp, contextlib.suppress(*reading.READ_ERRORS):
            reading.read_bounded(resp, reading.MAX_ERROR_BODY)

    def request(
        self,
        method: str,
        path: str,
        *,
        scope: str,
        headers: dict[str, str] | None = None,
        ok: Sequence[int] = (200,),
        what: str = "",
    ) -> requests.Response:
        """Send with authorization; retry 429/5xx and connection errors; map errors.

        The answer is always streamed: the caller reads its body (with ``reading.read_bounded``
        unless it streams to disk) and closes it.
        """
        url = self.base_url + path
        what = what or path
        attempt = 0
        answered = False
        last: str = ""
        last_status = 0
        while attempt < self.retry.attempts:
            sent = {**(headers or {}), **self.auth.headers(scope)}
            try:
                resp = self.session.request(
                    method, url, headers=sent, stream=True, timeout=self.timeout, verify=self.verify
                )
            except requests.exceptions.SSLError as exc:
                raise errors.TLSError(self.host, f"{what}: {exc}") from exc
            except _CONNECTION_ERRORS as exc:
                last, last_status = f"connection failed: {exc}", 0
                time.sleep(self.retry.delay(attempt))
                attempt += 1
                continue
            if resp.status_code in ok:
                return resp
            detail = _error_detail(resp)
            resp.close()
            if resp.status_code == 401:
                if not answered and self.auth.answer(resp, scope):
                    answered = True
                    continue
                raise self.auth.refused(scope)
            if resp.status_code == 403:
                raise errors.AuthError(self.host, f"{what}: access denied (HTTP 403) {detail}".rstrip())
            if resp.status_code == 404:
                raise errors.NotFound(self.host, f"{what}: not found (HTTP 404) {detail}".rstrip())
            if resp.status_code not in _RETRY_STATUSES:
                raise errors.ServerError(
                    self.host, f"{what}: unexpected HTTP {resp.status_code} {detail}", resp.status_code
                )
            last, last_status = f"HTTP {resp.status_code} {detail}".rstrip(), resp.status_code
            retry_after = retrying.parse_retry_after(resp.headers.get("Retry-After"))
            if retry_after is not None and retry_after > self.retry.max_retry_after:
                raise self._give_up(
                    f"{what}: {last}; the server asked to wait {retry_after:g} s, more than the "
                    f"limit of {self.retry.max_retry_after:g} s",
                    last_status,
                )
            time.sleep(self.retry.delay(attempt, retry_after))
            attempt += 1
        raise self._give_up(f"{what}: giving up after {attempt} attempts: {last}", last_status)

    def _give_up(self, message: str, status: int) -> errors.RegistryError:
        if status == 429:
            return errors.TooManyRequests(self.host, message, 429)
        if status:
            return errors.ServerError(self.host, message, status)
        return errors.TransportError(self.host, message)
