"""The agent's few API calls, on the ``kubernetes`` client's configuration and transport.

The client's generated object APIs decode custom resources into dicts anyway and know nothing of
server-side apply for status, so the agent calls paths directly through the client's
``ApiClient`` (kubeconfig or in-cluster credentials, TLS, token refresh) and gets JSON back.
This package is the only place that imports ``kubernetes``: ``berth translate`` never loads it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from translators.crd import models
from translators.errors import BerthError


class KubeError(BerthError):
    """An API call failed; ``status`` is the HTTP status (0: the server could not be reached)."""

    def __init__(self, message: str, status: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


POOL_SIZE = 64
APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


TOKEN_RECHECK = 5.0
"""Seconds between two runs of the client's token refresh hook. The kubeconfig loader's hook loads
the credentials again and sets the server, CA and proxy on the configuration at every request
(about 2 ms of Python, a third of a status patch's CPU with 500 resources rolling out); a token
file or exec credential that changes is still picked up within seconds."""


def _at_most_every(period: float, hook: Callable[[Any], None]) -> Callable[[Any], None]:
    """``hook`` run at most once per ``period`` seconds (the first call runs it), one thread at a
    time. The kubeconfig loader's hook installs itself again when it runs: it is put back."""
    lock = threading.Lock()
    last = [-period]

    def throttled(configuration: Any) -> None:
        nonlocal hook
        with lock:
            now = time.monotonic()
            if now - last[0] < period:
                return
            hook(configuration)
            last[0] = now
            if configuration.refresh_api_key_hook is not throttled:
                hook = configuration.refresh_api_key_hook or hook
                configuration.refresh_api_key_hook = throttled

    return throttled


def resource_path(namespace: str | None = None, name: str | None = None, sub: str | None = None) -> str:
    """The REST path of ContainerDeployments (all namespaces, one namespace, one object)."""
    base = f"/apis/{models.GROUP}/{models.VERSION}"
    if namespace is None:
        return f"{base}/{models.PLURAL}"
    path = f"{base}/namespaces/{quote(namespace)}/{models.PLURAL}"
    if name is not None:
        path += f"/{quote(name)}"
    if sub is not None:
        path += f"/{sub}"
    return path


@dataclass
class Kube:
    """One API server, as the kubeconfig (or the pod's service account) reaches it."""

    api: Any
    """kubernetes.client.ApiClient"""
    observers: list[Callable[[bool], None]] = field(default_factory=list)
    """Told after every request whether the server answered (an HTTP status below 500) or could
    not be reached (the agent's link to the API server, agent.kube.outages)."""

    @classmethod
    def connect(cls, kubeconfig: Path | None = None, *, in_cluster: bool = False) -> Kube:
        from kubernetes import client, config

        try:
            if in_cluster:
                configuration = client.Configuration()
                config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            else:
                configuration = client.Configuration()
                config.load_kube_config(  # type: ignore[no-untyped-call]
                    config_file=str(kubeconfig) if kubeconfig else None, client_configuration=configuration
                )
        except (config.ConfigException, OSError, ValueError) as exc:
            where = (
                "in-cluster service account" if in_cluster else f"kubeconfig {kubeconfig or '~/.kube/config'}"
            )
            raise KubeError(f"{where}: {exc}") from exc
        # one connection per reconcile worker and the watch (urllib3 keeps 10 by default and
        # discards the rest after each request: a new TLS handshake every time under load)
        configuration.connection_pool_maxsize = POOL_SIZE
        hook = configuration.refresh_api_key_hook
        if hook is not None:
            configuration.refresh_api_key_hook = _at_most_every(TOKEN_RECHECK, hook)
        return cls(client.ApiClient(configuration))

    @property
    def server(self) -> str:
        return str(self.api.configuration.host)

    def _send(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float | tuple[float, float] = 30.0,
    ) -> Any:
        from urllib3.exceptions import HTTPError

        params = [(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in (query or {}).items()]
        headers = {"Accept": "application/json", "Content-Type": content_type}
        # the client serialises JSON bodies itself; an apply configuration goes as YAML text (JSON is YAML)
        text = json.dumps(body) if body is not None and content_type == APPLY else body
        method_, url, headers_, body_, _ = self.api.param_serialize(
            method, path, query_params=params, header_params=headers, body=text, auth_settings=["BearerToken"]
        )
        try:
            resp = self.api.call_api(
                method_, url, header_params=headers_, body=body_, _request_timeout=timeout
            )
        except (HTTPError, OSError) as exc:
            self._observe(False)
            raise KubeError(f"{method} {self.server}{path}: {exc}") from exc
        except Exception as exc:  # the client wraps transport errors in ApiException(status=0)
            if getattr(exc, "status", None) == 0:
                self._observe(False)
                raise KubeError(f"{method} {self.server}{path}: {getattr(exc, 'reason', exc)}") from exc
            raise
        if resp.status < 500:
            self._observe(True)
        return resp

    def _observe(self, reached: bool) -> None:
        for observer in self.observers:
            observer(reached)

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        """One request; the decoded JSON answer, or KubeError naming the path and the server's message."""
        from urllib3.exceptions import HTTPError

        resp = self._send(method, path, query=query, body=body, content_type=content_type)
        try:
            raw = resp.read()
        except (HTTPError, OSError) as exc:
            raise KubeError(f"{method} {self.server}{path}: {exc}") from exc
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            data = {"message": raw[:200].decode(errors="replace")}
        if not 200 <= resp.status < 300:
            message = data.get("message") if isinstance(data, dict) else None
            reason = data.get("reason", "") if isinstance(data, dict) else ""
            raise KubeError(f"{method} {path}: {resp.status} {message or resp.reason}", resp.status, reason)
        return data if isinstance(data, dict) else {}

    def stream(self, path: str, *, query: Mapping[str, Any], timeout: float) -> Iterator[dict[str, Any]]:
        """A watch: one decoded event per line until the server ends it (or ``timeout`` of silence)."""
        from urllib3.exceptions import HTTPError

        resp = self._send("GET", path, query=query, timeout=(10.0, timeout))
        raw = resp.response
        try:
            if not 200 <= resp.status < 300:
                data = json.loads(raw.data or b"{}")
                raise KubeError(
                    f"watch {path}: {resp.status} {data.get('message', resp.reason)}",
                    resp.status,
                    data.get("reason", ""),
                )
            buffer = b""
            for chunk in raw.stream(65536, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line)
        except (HTTPError, OSError) as exc:  # the connection broke: the server went away
            self._observe(False)
            raise KubeError(f"watch {path}: {exc}") from exc
        except ValueError as exc:
            raise KubeError(f"watch {path}: {exc}") from exc
        finally:
            raw.release_conn()
