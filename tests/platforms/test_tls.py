"""Per-instance TLS settings reach the platform HTTP client: a company CA bundle, and a client
certificate for servers that require mutual TLS. The DSS emulator serves HTTPS with a CA made
for the test (emulators.tls)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import errors
from bot.platforms.dss.platform import DSSInstance, DSSPlatform
from emulators.dss import DEMO, DSSEmulator
from emulators.tls import PKI, ServerTLS, make_pki

ALICE = DEMO["alice"]["api_key"]


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def https_dss(pki: PKI) -> Iterator[DSSEmulator]:
    emulator = DSSEmulator()
    emulator.tls = ServerTLS(pki.server_cert, pki.server_key)
    with emulator:
        yield emulator


@pytest.fixture
def mtls_dss(pki: PKI) -> Iterator[DSSEmulator]:
    emulator = DSSEmulator()
    emulator.tls = ServerTLS(pki.server_cert, pki.server_key, client_ca=pki.ca_cert)
    with emulator:
        yield emulator


async def login(url: str, **tls: str) -> str:
    platform = DSSPlatform([DSSInstance(name="prod", url=url, timeout=3.0, **tls)])
    try:
        return (await platform.client("prod").auth_info(api_key=ALICE)).login
    finally:
        await platform.aclose()


async def test_a_company_ca_bundle_is_trusted(https_dss, pki):
    assert https_dss.url.startswith("https://")
    assert await login(https_dss.url, ca_bundle=str(pki.ca_cert)) == "alice"


async def test_without_the_ca_bundle_the_certificate_is_refused(https_dss):
    with pytest.raises(errors.Unavailable):
        await login(https_dss.url)
    assert not https_dss.requests  # nothing was sent over an untrusted connection


async def test_mutual_tls_needs_the_client_certificate(mtls_dss, pki):
    with pytest.raises(errors.Unavailable):
        await login(mtls_dss.url, ca_bundle=str(pki.ca_cert))
    assert (
        await login(
            mtls_dss.url,
            ca_bundle=str(pki.ca_cert),
            client_cert=str(pki.client_cert),
            client_key=str(pki.client_key),
        )
        == "alice"
    )


def test_a_missing_tls_file_fails_at_start_up_naming_the_instance(tmp_path: Path):
    config = DSSInstance(
        name="prod", url="https://dss.example.com", ca_bundle=str(tmp_path / "missing.pem")
    )
    with pytest.raises(ValueError, match="instance prod: cannot load its TLS files"):
        config.ssl_context()
    assert DSSInstance(name="plain", url="https://dss.example.com").ssl_context() is None
