"""gRPC over TLS from the settings' PEM files: server credentials for the three
services, and the channels their clients (gateway, CLI) open.

Files are read once, at start: a renewed certificate takes a restart (a rolling one
in Kubernetes), which keeps the servers free of file watching.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
from grpc import aio

from taskflow.settings import Settings

ChannelOptions = Sequence[tuple[str, Any]]


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS credentials for a server; None means plaintext. With a client CA, every
    client must present a certificate it signed (mutual TLS)."""
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    client_ca = _read(settings.tls_client_ca_file)
    return grpc.ssl_server_credentials(
        [(settings.tls_key_file.read_bytes(), settings.tls_cert_file.read_bytes())],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )


def channel_credentials(settings: Settings) -> grpc.ChannelCredentials | None:
    """TLS credentials for a client; None (no CA file) means plaintext."""
    if settings.tls_ca_file is None:
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=_read(settings.tls_ca_file),
        private_key=_read(settings.tls_client_key_file),
        certificate_chain=_read(settings.tls_client_cert_file),
    )


def open_channel(settings: Settings, address: str, options: ChannelOptions = ()) -> aio.Channel:
    """A channel to `address`, over TLS when the settings name a CA."""
    credentials = channel_credentials(settings)
    if credentials is None:
        return aio.insecure_channel(address, options=options)
    if settings.tls_server_name:
        options = [*options, ("grpc.ssl_target_name_override", settings.tls_server_name)]
    return aio.secure_channel(address, credentials, options=options)


def _read(path: Path | None) -> bytes | None:
    return None if path is None else path.read_bytes()
