"""A throwaway certificate authority for TLS tests, made with the openssl command
(EC P-256 keys, valid one day): a CA certificate, then server and client
certificates it signs, all PEM files in a test's directory."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path


class TestCA:
    """A CA named `name` in `directory`; `issue` signs leaf certificates."""

    __test__ = False  # a helper, not a test class

    def __init__(self, directory: Path, name: str = "taskflow-test-ca") -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.cert = directory / f"{name}.pem"
        self._key = directory / f"{name}.key"
        _openssl(
            "req", "-x509", *_KEY, "-keyout", self._key, "-out", self.cert, "-days", "1",
            "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )  # fmt: skip

    def issue(self, name: str, *, names: Sequence[str], client: bool = False) -> Issued:
        """A certificate for `names` (SAN entries such as "DNS:x" or "IP:127.0.0.1"),
        for a server, or for a client with `client`."""
        key, request, cert = (self.directory / f"{name}.{ext}" for ext in ("key", "csr", "pem"))
        extensions = self.directory / f"{name}.ext"
        usage = "clientAuth" if client else "serverAuth"
        extensions.write_text(
            f"subjectAltName={','.join(names)}\nextendedKeyUsage={usage}\n"
            "keyUsage=critical,digitalSignature\n"
        )
        _openssl("req", *_KEY, "-keyout", key, "-out", request, "-subj", f"/CN={name}")
        _openssl(
            "x509", "-req", "-in", request, "-CA", self.cert, "-CAkey", self._key,
            "-CAcreateserial", "-out", cert, "-days", "1", "-extfile", extensions,
        )  # fmt: skip
        return Issued(cert, key)


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=30)
