"""Guarantee: loopback means 127.0.0.0/8, ``::1`` and IPv4-mapped loopback, on every bind.

``methodic-fake serve`` is started as a real process bound to ``::1``, to the
dual-stack ``::`` and to ``::ffff:127.0.0.1``, and the admin API (``/_fake/keys``,
``/_fake/clock/advance``) is called over real sockets through every loopback
address that reaches that bind, with a matching ``Host``: each answers 200 (an
IPv4 client of an IPv6 socket arrives as ``::ffff:127.0.0.1``). The banner's URL is
one a client can use. Mapped *non*-loopback clients are still refused (403).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from devserver import DevServer, request, serve_argv

from methodic_fake import FakeChronicle


def _ipv6_loopback_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(
    not _ipv6_loopback_available(), reason="this machine has no IPv6 loopback (::1)"
)

# bind address -> (the banner's host, client addresses that must reach the admin API)
BINDS = {
    "::1": ("[::1]", ["[::1]"]),
    "::": ("[::1]", ["[::1]", "127.0.0.1"]),
    "::ffff:127.0.0.1": ("127.0.0.1", ["127.0.0.1"]),
}


@pytest.fixture(params=list(BINDS), ids=["ipv6-loopback", "dual-stack", "ipv4-mapped"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, DevServer]]:
    dev = DevServer(serve_argv(tmp_path / "data", "--host", request.param))
    try:
        yield request.param, dev
    finally:
        assert dev.stop() == 0, dev.stderr


def test_admin_api_answers_every_loopback_client(server: tuple[str, DevServer]) -> None:
    bind, dev = server
    banner_host, clients = BINDS[bind]
    assert dev.base_url == f"http://{banner_host}:{dev.port}"
    for host in clients:
        base = f"http://{host}:{dev.port}"
        status, keys = request(f"{base}/_fake/keys")
        assert status == 200, (bind, host, keys)
        assert keys["researcher"] == dev.token
        status, clock = request(f"{base}/_fake/clock/advance", "POST", {"seconds": 1})
        assert status == 200, (bind, host, clock)
        # And a Chronicle route, with the key the admin API handed out.
        status, page = request(f"{base}/experiments", token=keys["researcher"])
        assert status == 200, (bind, host, page)


@pytest.mark.parametrize("client", ["::ffff:10.1.2.3", "::ffff:192.168.0.1", "2001:db8::1"])
def test_mapped_non_loopback_clients_are_refused(client: str) -> None:
    with FakeChronicle.in_process() as fake:
        testclient_cls = type(fake.http(None))
        with testclient_cls(fake.app, base_url="http://testserver", client=(client, 5)) as remote:
            response = remote.get("/_fake/keys")
    assert response.status_code == 403
    assert "loopback" in response.json()["detail"]


@pytest.mark.parametrize("client", ["::ffff:127.0.0.1", "::ffff:127.1.2.3", "127.9.9.9", "::1"])
def test_every_loopback_client_form_is_accepted(client: str) -> None:
    with FakeChronicle.in_process() as fake:
        testclient_cls = type(fake.http(None))
        with testclient_cls(fake.app, base_url="http://testserver", client=(client, 5)) as remote:
            response = remote.get("/_fake/keys")
    assert response.status_code == 200, response.text
