"""The one Kafka protocol exchange we need: ApiVersions, to know a broker really answers.

An open port is not a ready broker (the container's proxy accepts connections long before
Kafka does). We send ApiVersions v0 (every broker accepts it; one that wants a newer version
still answers, with UNSUPPORTED_VERSION, in the v0 response shape) and check the reply.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

API_VERSIONS_KEY = 18
UNSUPPORTED_VERSION = 35
CLIENT_ID = b"perf-trace-analyzer"
MAX_RESPONSE_BYTES = 1 << 20


class KafkaProtocolError(OSError):
    """The peer answered, but not like a Kafka broker."""


@dataclass(frozen=True)
class ApiVersionsReply:
    """What the broker said: its error code and how many APIs it lists."""

    error_code: int
    api_count: int


def parse_bootstrap(bootstrap: str) -> tuple[str, int]:
    """The first ``host:port`` of a bootstrap list (``[v6]:port`` accepted)."""
    first = bootstrap.split(",")[0].strip()
    first = first.split("://", 1)[-1]
    host, sep, port = first.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"bootstrap address {bootstrap!r} is not host:port")
    return host.strip("[]") or "localhost", int(port)


def encode_api_versions_request(correlation_id: int) -> bytes:
    """A size-prefixed ApiVersions v0 request (header v1: key, version, correlation, client id)."""
    body = struct.pack(">hhih", API_VERSIONS_KEY, 0, correlation_id, len(CLIENT_ID)) + CLIENT_ID
    return struct.pack(">i", len(body)) + body


def decode_api_versions_response(payload: bytes, correlation_id: int) -> ApiVersionsReply:
    """Decodes the v0 response body (after the size prefix).

    Raises:
        KafkaProtocolError: wrong correlation id or a malformed body.
    """
    if len(payload) < 10:
        raise KafkaProtocolError(f"ApiVersions response too short ({len(payload)} bytes)")
    got_id, error_code, count = struct.unpack_from(">ihi", payload)
    if got_id != correlation_id:
        raise KafkaProtocolError(f"correlation id {got_id} != {correlation_id}: not Kafka")
    if count < 0 or 10 + count * 6 > len(payload):
        raise KafkaProtocolError(f"ApiVersions response lists {count} APIs but is too short")
    return ApiVersionsReply(error_code=error_code, api_count=count)


def probe_api_versions(
    bootstrap: str, *, timeout_s: float = 3.0, correlation_id: int = 7
) -> ApiVersionsReply:
    """Connects, sends ApiVersions and reads the reply.

    Raises:
        OSError: connection refused/reset, timeout, or :class:`KafkaProtocolError`.
    """
    host, port = parse_bootstrap(bootstrap)
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.settimeout(timeout_s)
        sock.sendall(encode_api_versions_request(correlation_id))
        (size,) = struct.unpack(">i", _read_exactly(sock, 4))
        if not 0 < size <= MAX_RESPONSE_BYTES:
            raise KafkaProtocolError(f"response size {size} is not a Kafka reply")
        reply = decode_api_versions_response(_read_exactly(sock, size), correlation_id)
    if reply.error_code not in (0, UNSUPPORTED_VERSION):
        raise KafkaProtocolError(f"broker answered ApiVersions with error {reply.error_code}")
    return reply


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < count:
        chunk = sock.recv(count - len(chunks))
        if not chunk:
            raise ConnectionResetError("connection closed before a full Kafka response")
        chunks.extend(chunk)
    return bytes(chunks)


def broker_answers(bootstrap: str, *, timeout_s: float = 2.0) -> bool:
    """True when a Kafka broker answers ApiVersions on ``bootstrap``."""
    try:
        probe_api_versions(bootstrap, timeout_s=timeout_s)
    except (OSError, ValueError):
        return False
    return True
