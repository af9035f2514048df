"""Load goes only to 127.0.0.1: the guard that every entry point calls."""

import pytest

from load.guard import HostRefused, check_host
from load.pacing import Pacer


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://127.0.0.1:27080/", "https://127.0.0.1"]
)
def test_loopback_address_is_accepted(url):
    assert check_host(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8080",  # a name could resolve anywhere
        "http://10.0.0.5:8080",
        "http://192.168.1.10",
        "http://example.org",
        "http://127.0.0.1.example.org:8080",
        "http://127.0.0.2:8080",
        "ftp://127.0.0.1",
        "127.0.0.1:8080",  # no scheme
    ],
)
def test_any_other_host_is_refused_with_the_fix(url):
    with pytest.raises(
        HostRefused, match=r"refusing to send load to .*only to http://127\.0\.0\.1"
    ):
        check_host(url)


def test_missing_and_malformed_hosts_are_named():
    with pytest.raises(HostRefused, match="no load target"):
        check_host(None)
    with pytest.raises(HostRefused, match="not a valid URL"):
        check_host("http://127.0.0.1:port")


def test_login_pacer_allows_a_burst_then_the_rate():
    now = [0.0]
    pacer = Pacer(per_second=0.5, burst=3, clock=lambda: now[0])
    assert [pacer.take() for _ in range(4)] == [True, True, True, False]
    now[0] = 1.9
    assert not pacer.take()
    now[0] = 2.0
    assert pacer.take()


def test_pacer_wait_gives_up_after_its_timeout():
    now = [0.0]
    pacer = Pacer(per_second=0.1, burst=1, clock=lambda: now[0])
    assert pacer.take()

    def sleep(seconds):
        now[0] += seconds

    assert not pacer.wait(3, sleep=sleep)
    assert pacer.wait(20, sleep=sleep)
