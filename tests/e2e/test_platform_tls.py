"""A DSS instance behind a company CA with mutual TLS, configured by the operator with a CA
bundle and a client certificate: linking and commands work through signed Slack requests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from emulators.dss import DEMO, DSSEmulator
from emulators.tls import PKI, ServerTLS, make_pki
from tests.e2e.helpers import link, reply_to, texts


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def dss(pki: PKI) -> Iterator[DSSEmulator]:
    emulator = DSSEmulator()
    emulator.tls = ServerTLS(pki.server_cert, pki.server_key, client_ca=pki.ca_cert)
    with emulator:
        yield emulator


@pytest.fixture
def platforms(dss: DSSEmulator, pki: PKI) -> dict[str, list[dict[str, Any]]]:
    return {
        "dss": [
            {
                "name": "prod",
                "url": dss.url,
                "ca_bundle": str(pki.ca_cert),
                "client_cert": str(pki.client_cert),
                "client_key": str(pki.client_key),
            }
        ]
    }


async def test_link_and_commands_over_mutual_tls(driver, slack, dss, bot):
    assert dss.url.startswith("https://")
    outcome = await link(driver, slack, "alice", "dss", {"api_key": DEMO["alice"]["api_key"]})
    assert "Linked Dataiku DSS (prod) as *alice*" in outcome
    reply = await reply_to(
        driver, slack, "alice", "/dss", "futures", expect="Running tasks on prod"
    )
    assert "Compute metrics on SALES.orders" in texts(reply.blocks)
