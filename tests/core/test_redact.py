"""`_redact`, the one scrubber: every form a key can take in a text is masked, cut keys are
dropped, headers are masked by name and scrubbed by value, and the log filter is counted
per open client."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest
from sms_status import _redact
from sms_status._redact import (
    MASK,
    clip,
    drop_cut_secret,
    header_text,
    masked_headers,
    redact,
    release_logs,
    scrub_logs,
)

KEY = "sk_live/ab+c=d"


@pytest.mark.parametrize(
    "text",
    [
        f"bad key {KEY}",
        "bad key sk_live%2Fab%2Bc%3Dd",  # percent-encoded, as in a URL
    ],
)
def test_the_key_is_masked_raw_or_percent_encoded(text: str) -> None:
    assert redact(text, KEY) == f"bad key {MASK}"


@pytest.mark.parametrize(
    "encode",
    [
        json.dumps,
        lambda key: json.dumps(key).replace("/", "\\/"),  # PHP's json_encode
        lambda key: json.dumps(key + "é"),  # its neighbours escaped \uXXXX, not the key
    ],
)
def test_the_key_is_masked_as_json_encoders_escape_it(encode: Callable[[str], str]) -> None:
    # A server echoing the key in a JSON string as `sk_live\/ab+c=d` left it whole in an
    # error's body excerpt (its message, read from the decoded JSON, was scrubbed).
    scrubbed = redact(f'{{"error": {encode(KEY)}}}', KEY)
    assert MASK in scrubbed
    assert "ab+c=d" not in scrubbed
    key = "clé/sk_ünicode"
    for text in (json.dumps(key), json.dumps(key).replace("/", "\\/")):
        assert MASK in redact(text, key)
    assert drop_cut_secret("tail sk_live\\/a", KEY) == "tail "


def _hex(text: str, marks: str) -> str:
    for mark in marks:
        text = text.replace(mark, f"\\u{ord(mark):04x}")
    return text


@pytest.mark.parametrize(
    "marks",
    ["<>&", "<>", "&", "'"],  # Go's encoding/json and Rails; PHP's JSON_HEX_TAG, _AMP, _APOS
)
def test_the_key_is_masked_as_json_encoders_escape_its_html_characters(marks: str) -> None:
    key = "pk_Live&Xq9<Tz>4Rm'W8"
    scrubbed = redact(_hex(json.dumps(key), marks), key)
    assert MASK in scrubbed
    assert "Xq9" not in scrubbed


def test_a_cut_key_is_dropped_whole_when_its_first_character_recurs_in_it() -> None:
    # The first form that matched (longest first) won, however short its match: one
    # character dropped, ten of the key kept, past what `redact` can see.
    key = "Qk3/xT9+Lm2Qz"
    for cut in range(1, len(key)):
        assert drop_cut_secret("tail " + key[:cut], key) == "tail ", cut


@pytest.mark.parametrize("case", [str.upper, str.lower, str.swapcase])
def test_the_key_is_masked_in_any_letter_case(case: Callable[[str], str]) -> None:
    # A server that upper-cases what it quotes gives a hex key away whole.
    assert redact(f"bad key {case(KEY)}!", KEY) == f"bad key {MASK}!"
    assert drop_cut_secret("tail " + case(KEY)[:5], KEY) == "tail "


def test_a_cut_key_is_dropped_though_lower_casing_changes_its_length() -> None:
    key = "abcİdef0123"  # 'İ' lower-cases to two characters
    assert drop_cut_secret("... abcİ", key) == "... "


def test_a_key_with_quotes_is_masked_as_repr_escapes_it_once_or_twice() -> None:
    key = "k'ey\\x"
    assert redact(repr(key), key) == f"'{MASK}'" or MASK in redact(repr(key), key)
    assert key not in redact(repr(repr(key)), key)
    assert "ey\\\\x" not in redact(repr(repr(key)), key)


def test_an_empty_secret_masks_nothing() -> None:
    assert redact("anything", "") == "anything"


def test_clip_scrubs_before_it_cuts() -> None:
    text = "x" * 10 + KEY
    assert clip(text, KEY, 12) == "x" * 10 + MASK[:2]
    assert KEY[:2] not in clip(text, KEY, 12)


@pytest.mark.parametrize("cut", [1, 5, len(KEY) - 1])
def test_a_key_cut_at_the_end_of_a_text_is_dropped(cut: int) -> None:
    assert drop_cut_secret("tail " + KEY[:cut], KEY) == "tail "


def test_a_text_ending_with_no_part_of_the_key_is_kept() -> None:
    assert drop_cut_secret("tail zzz", KEY) == "tail zzz"


def test_header_text_reads_surrogate_escapes_as_latin_1() -> None:
    assert header_text("plain") == "plain"
    assert header_text("caf\udce9") == "café"  # b"caf\xe9" kept by aiohttp as a surrogate


def test_headers_are_masked_by_name_scrubbed_by_value_and_joined() -> None:
    headers = [
        ("Authorization", "Bearer x"),
        ("X-Echo", f"you sent {KEY}"),
        ("Set-Cookie", "a=1"),
        ("Via", "one"),
        ("via", "two"),
        ("X-My-Key-Header", "secret-value"),
    ]
    masked = masked_headers(headers, KEY, extra_sensitive=("X-My-Key-Header",))
    assert masked == {
        "authorization": MASK,
        "x-echo": f"you sent {MASK}",
        "set-cookie": MASK,
        "via": "one, two",
        "x-my-key-header": MASK,
    }


def test_the_log_filter_masks_a_key_until_its_last_client_closes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = "sk_test_filter_0123456789"
    logger = logging.getLogger("sms_status")
    scrub_logs(key)
    scrub_logs(key)  # two clients on one key
    release_logs(key)
    with caplog.at_level(logging.WARNING, logger="sms_status"):
        logger.warning("echoed %s", key)
    assert caplog.records[-1].getMessage() == f"echoed {MASK}"
    release_logs(key)
    assert key not in _redact._filter.secrets


def test_short_stand_in_keys_are_not_masked_in_logs() -> None:
    scrub_logs("k")
    assert "k" not in _redact._filter.secrets
