"""HTTPS for the emulator: a local certificate authority and a server certificate it signs.

Some clients refuse plain http (TikTok itself is https everywhere). ``ensure_tls_files`` keeps a
small CA and a server certificate for the loopback names (``localhost``, ``127.0.0.1``, ``::1``
and the host the emulator listens on) in ``<data_dir>/tls/``; a client trusts the emulator by
trusting ``ca.pem`` alone (``curl --cacert``, ``SSL_CERT_FILE``, ``ssl.create_default_context
(cafile=...)``), never by turning verification off. An existing CA is kept across restarts with
the same data dir, so a client configured once stays configured; the server certificate is
issued again when it nears its end or does not cover the host.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: Names every emulator certificate covers: what a local client types to reach it.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
CA_LIFETIME = datetime.timedelta(days=3650)
SERVER_LIFETIME = datetime.timedelta(days=365)
#: A server certificate with less than this left is issued again at start.
RENEW_BEFORE = datetime.timedelta(days=7)
# Hosts that mean "every interface": clients reach them by a loopback name, already covered.
_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 (compared, not bound)


@dataclass(frozen=True)
class TlsFiles:
    """Where the emulator's PEM files are: what clients trust, and what the server presents."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path


def tls_folder(data_dir: Path) -> Path:
    """The folder under an emulator data dir that holds its CA and server certificate."""
    return Path(data_dir) / "tls"


def ensure_tls_files(data_dir: Path, host: str = "127.0.0.1") -> TlsFiles:
    """The CA and a server certificate for ``host`` and the loopback names, made when missing."""
    folder = tls_folder(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(
        ca_cert=folder / "ca.pem",
        ca_key=folder / "ca-key.pem",
        server_cert=folder / "server.pem",
        server_key=folder / "server-key.pem",
    )
    names = _names_for(host)
    now = datetime.datetime.now(datetime.UTC)
    ca = _load_ca(files, now)
    if ca is None:
        ca = _new_ca(now)
        _write_key(files.ca_key, ca[1])
        files.ca_cert.write_bytes(ca[0].public_bytes(serialization.Encoding.PEM))
    elif _server_cert_fits(files, ca[0], names, now):
        return files
    cert, key = _new_server_cert(ca, names, now)
    _write_key(files.server_key, key)
    files.server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return files


def _names_for(host: str) -> tuple[str, ...]:
    bare = host.strip("[]")
    if bare in _WILDCARD_HOSTS or bare in LOOPBACK_NAMES:
        return LOOPBACK_NAMES
    return (*LOOPBACK_NAMES, bare)


def _subject_alt_names(names: tuple[str, ...]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for name in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            out.append(x509.DNSName(name))
    return out


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """Write a private key readable by its owner only."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def _load_ca(
    files: TlsFiles, now: datetime.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    """The stored CA, if both its files are there, readable, matching and still valid."""
    try:
        cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
    except (OSError, ValueError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    if cert.public_key() != key.public_key() or cert.not_valid_after_utc - now < SERVER_LIFETIME:
        return None
    return cert, key


def _server_cert_fits(
    files: TlsFiles, ca: x509.Certificate, names: tuple[str, ...], now: datetime.datetime
) -> bool:
    """Whether the stored server certificate is this CA's, covers ``names`` and has time left."""
    try:
        cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
        key = serialization.load_pem_private_key(files.server_key.read_bytes(), password=None)
        cert.verify_directly_issued_by(ca)
        covered = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False
    if cert.public_key() != key.public_key():
        return False
    if cert.not_valid_after_utc - now < RENEW_BEFORE:
        return False
    return all(name in covered for name in _subject_alt_names(names))


def _new_ca(now: datetime.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "directpost"),
            x509.NameAttribute(NameOID.COMMON_NAME, "directpost TikTok emulator local CA"),
        ]
    )
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _new_server_cert(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    names: tuple[str, ...],
    now: datetime.datetime,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(min(now + SERVER_LIFETIME, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(_subject_alt_names(names)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key
