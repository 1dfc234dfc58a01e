"""DKIM signing (shopmail.domain.dkim), verified by dkimpy, the reference implementation."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

import dkim as dkimpy
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopmail.domain import dkim
from shopmail.domain.mime import Address, build_message


@cache
def _pem() -> str:
    return dkim.generate_key(2048)


def _signer() -> dkim.Signer:
    return dkim.Signer.from_pem("shop.example", "sm2026", _pem())


def _verify(signed: bytes, signer: dkim.Signer) -> bool:
    record = signer.dns_record().encode("ascii")

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == f"{signer.dns_name}.".encode() or name == signer.dns_name.encode()
        return record

    return bool(dkimpy.verify(signed, dnsfunc=dns))


def _message(
    subject: str = "Your order 1001 is confirmed", name: str = "Kari Nordmann", text: str = "Hello"
) -> bytes:
    return build_message(
        message_id="<1001.abc@shop.example>",
        from_=Address("orders@shop.example", "Shop"),
        to=[Address("kari@example.org", name)],
        subject=subject,
        text=text,
        html=f"<p>{text}</p>",
        date=datetime(2026, 12, 6, 12, 0, tzinfo=UTC),
        extra_headers=[
            ("List-Unsubscribe", "<https://shop.example/unsubscribe/abc>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ],
    )


def test_signature_verifies_with_dkimpy() -> None:
    signer = _signer()
    assert _verify(signer.sign(_message()), signer)


def test_signature_covers_the_headers_spec_names_and_oversigns_from() -> None:
    signed = _signer().sign(_message())
    header = signed.split(b"\r\n\r\n", 1)[0].decode()
    tags = dkim.parse_tags(header.split("\r\nDate:")[0].removeprefix("DKIM-Signature:"))
    assert tags["a"] == "rsa-sha256" and tags["c"] == "relaxed/relaxed"
    assert tags["h"].split(":") == [
        "from", "to", "subject", "date", "message-id", "mime-version", "content-type",
        "list-unsubscribe", "list-unsubscribe-post", "from",
    ]  # fmt: skip


def test_signature_lines_stay_within_78_columns() -> None:
    signed = _signer().sign(_message())
    head = signed.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 78


def test_a_changed_subject_or_body_fails_verification() -> None:
    signer = _signer()
    signed = signer.sign(_message())
    assert not _verify(signed.replace(b"Subject: Your order 1001", b"Subject: Your order 1002"), signer)
    assert not _verify(signed.replace(b"Hello", b"Hallo"), signer)


def test_an_added_from_header_fails_verification() -> None:
    signer = _signer()
    signed = signer.sign(_message())
    forged = signed.replace(b"\r\nFrom:", b"\r\nFrom: attacker@evil.example\r\nFrom:", 1)
    assert not _verify(forged, signer)


def test_relaxed_canonicalisation_survives_refolding_and_trailing_blanks() -> None:
    """What relays may do: unfold/refold headers, add blanks at line ends, drop empty final lines."""
    signer = _signer()
    signed = signer.sign(_message(subject="A long subject " * 8))
    head, body = signed.split(b"\r\n\r\n", 1)
    relayed = (
        head.replace(b"\r\n boundary=", b"   boundary=") + b"\r\n\r\n" + body.replace(b"\r\n", b"  \r\n")
    )
    assert _verify(relayed, signer)


def test_a_key_for_another_record_fails() -> None:
    signed = _signer().sign(_message())
    other = dkim.Signer.from_pem("shop.example", "sm2026", dkim.generate_key(1024))
    assert not _verify(signed, other)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    subject=st.text(min_size=1, max_size=300).filter(lambda s: s.strip()),
    name=st.text(max_size=120),
    text=st.text(max_size=2000),
)
def test_any_message_the_builder_makes_verifies(subject: str, name: str, text: str) -> None:
    signer = _signer()
    try:
        raw = _message(subject=subject, name=name, text=text)
    except ValueError:  # the builder refuses control characters in headers; nothing to sign
        return
    assert _verify(signer.sign(raw), signer)


def test_pkcs1_keys_are_accepted() -> None:
    key = serialization.load_pem_private_key(_pem().encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    pkcs1 = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    assert pkcs1.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    signer = dkim.Signer.from_pem("shop.example", "sm2026", pkcs1)
    assert _verify(signer.sign(_message()), signer)


@pytest.mark.parametrize(
    ("domain", "selector", "pem", "error"),
    [
        ("shop.example", "sm", "not a key", "not an unencrypted PEM key"),
        ("shop example", "sm", None, "domain"),
        ("localhost", "sm", None, "domain"),
        ("shop.example", "s m", None, "selector"),
        ("shop.example", "", None, "selector"),
    ],
)
def test_bad_settings_are_refused_with_the_reason(
    domain: str, selector: str, pem: str | None, error: str
) -> None:
    with pytest.raises(dkim.DkimError, match=error):
        dkim.Signer.from_pem(domain, selector, pem if pem is not None else _pem())


def test_a_non_rsa_key_is_refused() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(dkim.DkimError, match="RSA"):
        dkim.Signer.from_pem("shop.example", "sm", pem)


def test_txt_line_and_record_matching() -> None:
    signer = _signer()
    line = dkim.txt_line(signer)
    assert line.startswith("sm2026._domainkey.shop.example. IN TXT ")
    published = "".join(part for part in line.split('"')[1::2])
    assert dkim.record_matches(published, signer)
    assert dkim.record_matches(published.replace("; ", ";  "), signer)
    other = dkim.Signer.from_pem("shop.example", "sm2026", dkim.generate_key(1024))
    assert not dkim.record_matches(other.dns_record(), signer)
    assert not dkim.record_matches("v=spf1 -all", signer)
