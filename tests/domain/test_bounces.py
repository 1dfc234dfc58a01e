"""domain/bounces.py on real-world reports (tests/fixtures/bounces/README.md names each source)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopmail.domain.bounces import RecipientStatus, parse_report

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "bounces"


def report(name: str):
    return parse_report((SAMPLES / name).read_bytes())


def test_postfix_dsn_is_a_hard_bounce_with_status_and_diagnostic():
    parsed = report("postfix-user-unknown.eml")
    assert parsed.kind == "bounce"
    [rcpt] = parsed.recipients
    assert rcpt.email == "r@p351355.pool.example.ne.jp" and rcpt.status == "5.1.1" and rcpt.permanent
    assert "No such user" in rcpt.diagnostic and "\n" not in rcpt.diagnostic


def test_every_recipient_of_a_multi_recipient_dsn():
    parsed = report("postfix-two-recipients.eml")
    assert [(r.email, r.status) for r in parsed.recipients] == [
        ("filtered@example.co.jp", "5.2.1"),
        ("userunknown@example.co.jp", "5.1.1"),
    ]
    assert all(r.permanent for r in parsed.failed) and len(parsed.failed) == 2


def test_a_dsn_with_a_broken_mime_structure_is_read_from_its_fields():
    parsed = report("sendmail-three-recipients-mixed.eml")
    assert parsed.kind == "bounce"
    assert {r.email: (r.action, r.status) for r in parsed.recipients} == {
        "kijitora@nyaan.example.com": ("failed", "5.0.0"),
        "sabatora@cat.example.net": ("delayed", "4.0.0"),
        "mikeneko@neko.example.or.jp": ("failed", "5.0.0"),
    }
    assert [r.email for r in parsed.failed] == ["kijitora@nyaan.example.com", "mikeneko@neko.example.or.jp"]
    assert "not a registered gateway user" in parsed.recipients[0].diagnostic


@pytest.mark.parametrize(
    ("name", "address", "status", "words"),
    [
        ("exim-plain-text.eml", "kijitora@example.ed.jp", "5.7.0", "Please use the smtp server of your ISP"),
        ("gmail-plain-text.eml", "userunknown@example.jp", "5.1.1", "User Unknown"),
        ("office365-no-status-part.eml", "kijitora@example.com", "5.1.10", "RecipientNotFound"),
    ],
)
def test_plain_text_bounces_give_recipient_status_and_the_servers_words(name, address, status, words):
    parsed = report(name)
    assert parsed.kind == "bounce"
    assert [(r.email, r.status) for r in parsed.recipients] == [(address, status)]
    assert words in parsed.recipients[0].diagnostic


def test_a_delay_notice_is_transient_not_a_bounce():
    parsed = report("opensmtpd-delayed.eml")
    assert parsed.kind == "delay" and parsed.failed == ()
    [rcpt] = parsed.recipients
    assert rcpt.status == "4.4.7" and rcpt.transient and not rcpt.permanent
    assert parsed.original_message_id == "<201612140903.uBE938DJ094645@nyaan.example.jp>"


def test_yahoo_feedback_report_is_a_complaint_naming_the_recipient_and_the_original():
    parsed = report("yahoo-arf-abuse.eml")
    assert parsed.kind == "complaint" and parsed.feedback_type == "abuse"
    assert [r.email for r in parsed.recipients] == ["this-local-part-does-not-exist-on-yahoo@yahoo.com"]
    assert parsed.original_message_id == "<000000000000000000000000.smtp@example.com>"


def test_an_opt_out_report_with_rfc822_headers_only():
    parsed = report("arf-opt-out.eml")
    assert parsed.kind == "complaint" and parsed.feedback_type == "opt-out"
    assert [r.email for r in parsed.recipients] == ["user@example.com"]


def test_an_ordinary_message_is_no_report():
    parsed = report("not-a-bounce.eml")
    assert parsed.kind == "unknown" and parsed.recipients == ()


def test_a_truncated_report_still_names_the_failed_recipient():
    parsed = report("postfix-truncated.eml")
    assert parsed.kind == "bounce"
    found = [(r.email, r.action, r.status) for r in parsed.recipients]
    assert found == [("r@p351355.pool.example.ne.jp", "failed", "")]


def test_a_dmarc_failure_report_is_not_a_complaint():
    raw = (SAMPLES / "yahoo-arf-abuse.eml").read_bytes()
    raw = raw.replace(b"Feedback-Type: abuse", b"Feedback-Type: auth-failure")
    parsed = parse_report(raw)
    assert parsed.kind == "unknown" and parsed.feedback_type == "auth-failure"


def test_status_decides_over_action():
    assert RecipientStatus("a@b.c", action="failed", status="4.2.2").transient
    assert not RecipientStatus("a@b.c", action="failed", status="4.2.2").permanent
    assert RecipientStatus("a@b.c", action="failed").permanent


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000) | st.text(max_size=3000).map(str.encode))
def test_any_bytes_give_a_report_never_an_exception(raw):
    assert parse_report(raw).kind in {"bounce", "delay", "complaint", "unknown"}


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 4000))
def test_every_prefix_of_a_real_report_is_read_without_error(cut):
    raw = (SAMPLES / "postfix-two-recipients.eml").read_bytes()[:cut]
    assert parse_report(raw).kind in {"bounce", "delay", "unknown"}
