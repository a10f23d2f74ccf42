"""Published ports: ``"8080:80"``, ``"127.0.0.1:8080:80/udp"``, ranges, and the long form.

Every short form becomes one :class:`PortMapping` per container port, so a range
``"8000-8002:80-82"`` is three mappings: consumers never parse strings again.
"""

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, WithJsonSchema, field_validator

from translators.spec.base import SpecModel, short_forms

Protocol = Literal["tcp", "udp", "sctp"]
MAX_RANGE = 4096

_SHORT = re.compile(
    r"^(?:(?:(?P<ip>\[[0-9A-Fa-f:.]+\]|[0-9.]+|[0-9A-Fa-f:]*:[0-9A-Fa-f:]*):)?(?P<host>[0-9]*(?:-[0-9]+)?):)?"
    r"(?P<ctr>[0-9]+(?:-[0-9]+)?)(?:/(?P<proto>[A-Za-z]+))?$"
)
PORT_FORMS = '"CONTAINER", "HOST:CONTAINER" or "IP:HOST:CONTAINER", each optionally "/udp", with ranges "A-B"'


def _port(lowest: int) -> tuple[AfterValidator, Any]:
    """A port number from ``lowest`` to 65535, also written as a string of digits."""

    def check(value: int) -> int:
        if not lowest <= value <= 65535:
            raise ValueError(f"port must be between {lowest} and 65535, got {value}")
        return value

    # minimum/maximum apply to the integer form, pattern to the string form (JSON Schema and the
    # API server alike); the range of a string is checked by the models.
    return AfterValidator(check), WithJsonSchema(
        {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "minimum": lowest,
            "maximum": 65535,
            "pattern": "^[0-9]{1,5}$",
        },
        mode="validation",
    )


ContainerPort = Annotated[int, *_port(1)]
HostPort = Annotated[int, *_port(0)]


class PortMapping(SpecModel):
    """A container port, optionally published on the host. Numbers may be written as strings
    (``{"host": "80", "container": "80"}``, the product document's form)."""

    container: ContainerPort
    """Port inside the container."""
    host: HostPort | None = None
    """Port on the host; 0: published on an ephemeral host port (compose "80", docker's -p 80);
    null: not published, only exposed (a Kubernetes containerPort)."""
    host_ip: str | None = None
    """Host address to bind; null binds every address. Use 127.0.0.1 to stay local."""
    protocol: Protocol = "tcp"
    """tcp, udp or sctp."""

    @field_validator("host_ip")
    @classmethod
    def _check_ip(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return str(ipaddress.ip_address(value.strip("[]")))
        except ValueError as exc:
            raise ValueError(f"invalid host IP address {value!r}") from exc

    @field_validator("protocol", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


def _span(text: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    start = int(first)
    end = int(last) if last else start
    if end < start:
        raise ValueError(f"range {text!r} ends before it starts")
    return start, end


def parse_port(text: str) -> list[dict[str, Any]]:
    """Expand one short port string into long-form mappings; raises ``ValueError`` if malformed."""
    m = _SHORT.match(text.strip())
    if not m:
        raise ValueError(f"expected {PORT_FORMS}, got {text!r}")
    proto = (m.group("proto") or "tcp").lower()
    c_start, c_end = _span(m.group("ctr"))
    host_text = m.group("host") or ""
    ip = m.group("ip") or None
    count = c_end - c_start + 1
    if count > MAX_RANGE:
        raise ValueError(f"port range {text!r} has {count} ports; at most {MAX_RANGE} are allowed")
    if host_text:
        h_start, h_end = _span(host_text)
        if h_end - h_start + 1 not in (1, count):
            raise ValueError(f"host range and container range differ in size in {text!r}")
        hosts: list[int | None] = (
            [h_start + i for i in range(count)] if h_end != h_start or count == 1 else [h_start] * count
        )
        if h_end == h_start and count > 1:
            raise ValueError(f"a single host port cannot publish the container range in {text!r}")
    else:
        hosts = [None] * count
    return [
        {"container": c_start + i, "host": hosts[i], "host_ip": ip, "protocol": proto} for i in range(count)
    ]


def _parse_item(item: str | int) -> list[dict[str, Any]]:
    if isinstance(item, bool):
        raise ValueError(f"expected {PORT_FORMS}, got a boolean")
    if isinstance(item, int):
        return [{"container": item}]
    return parse_port(item)


Ports = Annotated[
    list[PortMapping], short_forms(_parse_item, input_type=list[PortMapping | str | int], scalars=(str, int))
]
