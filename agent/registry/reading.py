"""Response bodies read with a ceiling: a registry or token server is not trusted with our memory.

Whatever Berth reads whole from the network (manifests, error bodies, the ``/v2/`` probe, token
responses) goes through ``read_bounded`` on a streamed response, so a hostile server that sends an
endless body costs us the limit plus one byte, not all the memory of the host. Blobs are never
read whole: they stream to disk and are checked against their announced size.
"""

from __future__ import annotations

import requests
import urllib3

MAX_ERROR_BODY = 64 << 10
"""Error bodies and the ``/v2/`` probe: only a short JSON message is worth reading."""
MAX_TOKEN_RESPONSE = 1 << 20
"""Token server answers: a JWT with its claims, far below this."""
READ_ERRORS = (urllib3.exceptions.HTTPError, OSError)
"""What reading a streamed body can raise (urllib3's errors are not wrapped by ``requests`` here)."""


def read_bounded(resp: requests.Response, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the decoded body; a result longer than ``limit`` means the
    body was larger (the caller decides whether that is an error). ``resp`` must be streamed;
    closing it afterwards drops the connection instead of draining the rest."""
    return bytes(resp.raw.read(limit + 1, decode_content=True))
