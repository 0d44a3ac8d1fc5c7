"""Request signing (`sms_status._signing`): every attempt gets its own (timestamp, signature)
pair, also for retries within one second and from many threads, and the secret never shows."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
import sms_status
from sms_status._signing import RequestSigner
from sms_status.providers import telecom23

SECRET = "whsec-signing-test-5b1e"


def stamp(signer: RequestSigner, url: str) -> int:
    request = signer.sign(httpx.Request("GET", url))
    timestamp = request.headers["x-timestamp"]
    path = httpx.URL(url).path
    assert (
        request.headers["x-signature"]
        == (telecom23.sign(SECRET, "GET", path, timestamp)["X-Signature"])
    )
    return int(timestamp)


def test_each_request_to_a_path_gets_a_later_stamp_and_the_query_is_not_signed() -> None:
    signer = RequestSigner(telecom23.sign, SECRET)
    before = int(time.time())
    stamps = [stamp(signer, f"https://x.test/api/v1/messages/m1?try={n}") for n in range(5)]
    assert stamps == sorted(set(stamps))  # strictly increasing: no pair is sent twice
    assert stamps[0] >= before


def test_another_path_is_stamped_with_the_current_time() -> None:
    signer = RequestSigner(telecom23.sign, SECRET)
    for _ in range(5):
        stamp(signer, "https://x.test/api/v1/messages/m1")
    before = int(time.time())
    other = stamp(signer, "https://x.test/api/v1/messages/m2")
    assert before <= other <= int(time.time())


def test_threads_signing_one_path_never_share_a_stamp() -> None:
    signer = RequestSigner(telecom23.sign, SECRET)
    stamps: list[int] = []
    start = threading.Barrier(8)

    def sign_many() -> None:
        start.wait()
        # 48 in all: a burst stays within a minute ahead (a path of its own: the stamps
        # are the process's, other tests sign m1)
        mine = [stamp(signer, "https://x.test/api/v1/messages/threads-1") for _ in range(6)]
        stamps.extend(mine)

    threads = [threading.Thread(target=sign_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(stamps) == 48
    assert len(set(stamps)) == 48


def test_the_secret_is_not_in_the_signers_repr() -> None:
    signer = RequestSigner(telecom23.sign, SECRET)
    assert SECRET not in repr(signer)
    assert SECRET not in str(signer)


@pytest.mark.parametrize(
    ("secret", "error"), [("\ud800s", ValueError), ("", ValueError), (b"s", TypeError)]
)
def test_a_signing_secret_that_cannot_sign_is_refused_at_connect(
    secret: object, error: type[Exception]
) -> None:
    # A lone surrogate was taken: every lookup then failed, after its retries, as a
    # TransportError (UnicodeEncodeError) at send time.
    with pytest.raises(error, match="signing_secret"):
        sms_status.connect("telecom23", api_key="sk_test_x", signing_secret=secret)  # type: ignore[arg-type]


def test_behind_a_proxy_prefix_the_providers_own_path_is_signed() -> None:
    # The base URL's path is a prefix the proxy strips: 23 Telecom checks the signature
    # against "/api/v1/...", and the prefix was signed with it (every request refused).
    seen: list[httpx.Request] = []

    def proxy(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404, json={"status": False, "error_code": "NOT_FOUND"})

    with sms_status.connect(
        "telecom23",
        api_key="sk_test_x",
        base_url="https://gw.example.com/telecom23/",
        signing_secret=SECRET,
        transport=httpx.MockTransport(proxy),
        max_retries=0,
    ) as client:
        client.get_statuses(["m1"])
    (request,) = seen
    assert request.url.path == "/telecom23/api/v1/sms/status/m1"
    timestamp = request.headers["x-timestamp"]
    signed = telecom23.sign(SECRET, "GET", "/api/v1/sms/status/m1", timestamp)
    assert request.headers["x-signature"] == signed["X-Signature"]


def test_a_burst_on_one_path_stops_before_its_stamps_leave_the_providers_window() -> None:
    # Each request in one second took the next second: a burst ran its stamps minutes
    # ahead, and every pair (later requests' too, until the clock caught up) was refused.
    signer = RequestSigner(telecom23.sign, SECRET)
    url = "https://x.test/api/v1/sms/status/burst-1"  # a path no other test signs
    stamps: list[int] = []

    def burst() -> None:
        for _ in range(200):
            stamps.append(stamp(signer, url))

    with pytest.raises(ConnectionError, match="signed requests a second for one path"):
        burst()
    assert 55 <= len(stamps) <= 62
    assert max(stamps) - time.time() <= 61
