"""Standard Webhooks signatures (https://www.standardwebhooks.com) and the check a receiver runs
on them; test_webhooks verifies real deliveries with the same check."""

import base64

import pytest

from workers.webhook_message import SignatureError, standard_signature, verify

SECRET = "webhook-secret-0123456789"
BODY = b'{"id":"change-7"}'
SENT = 1_700_000_000
# SENT in Arabic-Indic digits: str.isdigit() takes them, and int() would too.
ARABIC_DIGITS = "\u0661\u0667" + "\u0660" * 8


def signed(secret: str = SECRET, timestamp: int = SENT) -> dict[str, str]:
    return {
        "webhook-id": "change-7",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(secret, "change-7", str(timestamp), BODY),
    }


def test_the_specifications_example_signs_alike() -> None:
    """The vector the Standard Webhooks libraries test against, with a `whsec_` secret."""
    signature = standard_signature(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "1614265330",
        b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_free_text_secret_is_the_key_its_whsec_form_encodes() -> None:
    """What a receiver gives a Standard Webhooks library for a secret we sign with as text."""
    standard = "whsec_" + base64.b64encode(SECRET.encode()).decode()
    assert standard_signature(standard, "m", "1", BODY) == standard_signature(
        SECRET, "m", "1", BODY
    )


def test_a_signed_delivery_passes_with_any_header_case_and_among_other_signatures() -> None:
    headers = {name.upper(): value for name, value in signed().items()}
    verify(SECRET, headers, BODY, now=SENT)
    others = f"v1,b2xk v2,b2xk {signed('the-previous-secret-0123')['webhook-signature']}"
    with pytest.raises(SignatureError, match="no signature matches"):
        verify(SECRET, {**signed(), "webhook-signature": others}, BODY, now=SENT)
    rotated = f"{others} {signed()['webhook-signature']}"  # as while a secret is being rotated
    verify(SECRET, {**signed(), "webhook-signature": rotated}, BODY, now=SENT)


@pytest.mark.parametrize("now", [SENT - 301, SENT + 301, SENT + 86_400])
def test_a_timestamp_beyond_the_tolerance_either_way_is_refused(now: int) -> None:
    with pytest.raises(SignatureError, match="more than 300s away"):
        verify(SECRET, signed(), BODY, now=now)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_refused(missing: str) -> None:
    headers = signed()
    del headers[missing]
    with pytest.raises(SignatureError, match=f"no '{missing}' header"):
        verify(SECRET, headers, BODY, now=SENT)


@pytest.mark.parametrize(
    "timestamp", ["", "soon", "1.7e9", "-1700000000", ARABIC_DIGITS, "1" + "0" * 5000]
)
def test_a_timestamp_that_is_not_unix_seconds_is_refused(timestamp: str) -> None:
    headers = {**signed(), "webhook-timestamp": timestamp}
    with pytest.raises(SignatureError, match="not unix seconds"):
        verify(SECRET, headers, BODY, now=SENT)


@pytest.mark.parametrize(
    ("secret", "body", "headers"),
    [
        ("another-secret-0123456789", BODY, {}),
        (SECRET, BODY + b" ", {}),
        (SECRET, BODY, {"webhook-id": "change-8"}),
        (SECRET, BODY, {"webhook-timestamp": str(SENT + 1)}),
    ],
)
def test_another_secret_or_any_altered_part_is_refused(
    secret: str, body: bytes, headers: dict[str, str]
) -> None:
    with pytest.raises(SignatureError, match="no signature matches"):
        verify(secret, {**signed(), **headers}, body, now=SENT)
