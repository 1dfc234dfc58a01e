"""The JSON log formatter: one object per line, a line per message for a record that names several."""

from __future__ import annotations

import json
import logging

from shopmail.logs import JsonFormatter


def record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("shopmail.worker", logging.INFO, __file__, 1, msg, args, None)
    made.__dict__.update(extra)
    return made


def test_a_record_is_one_json_object_with_its_extra_fields():
    line = JsonFormatter().format(record("message %s held", 7, message_id=7, status="held"))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["msg"] == "message 7 held" and entry["message_id"] == 7 and entry["status"] == "held"
    assert entry["level"] == "info" and entry["logger"] == "shopmail.worker"
    assert entry["ts"].endswith("+00:00")


def test_each_makes_one_line_per_message_id():
    text = JsonFormatter().format(record("message %s sent", each=[3, 5, 11], status="sent", code=250))
    entries = [json.loads(line) for line in text.split("\n")]
    assert [e["message_id"] for e in entries] == [3, 5, 11]
    assert [e["msg"] for e in entries] == ["message 3 sent", "message 5 sent", "message 11 sent"]
    assert all(e["status"] == "sent" and e["code"] == 250 and "each" not in e for e in entries)
    assert len({e["ts"] for e in entries}) == 1


def test_a_percent_in_a_plain_message_is_left_alone():
    entry = json.loads(JsonFormatter().format(record("100% done")))
    assert entry["msg"] == "100% done"


def test_each_line_escapes_every_value_as_json_does():
    awkward = ['say "hi"\\now', "tab\there", "ünï\u2028code", 7]
    text = JsonFormatter().format(record("message %s sent", each=awkward, status='a "quoted" status'))
    entries = [json.loads(line) for line in text.split("\n")]
    assert [e["message_id"] for e in entries] == awkward
    assert [e["msg"] for e in entries] == [f"message {value} sent" for value in awkward]
    assert all(e["status"] == 'a "quoted" status' for e in entries)


def test_tokens_and_secrets_are_redacted_whoever_logs_them():
    from django.test import RequestFactory

    request = RequestFactory().post("/account/reset/AbCdEf123456789xyz/", HTTP_COOKIE="sessionid=s3ss10n")
    line = JsonFormatter().format(
        record(
            "Bad Request: %s",
            "/account/reset/AbCdEf123456789xyz/",
            request=request,
            status_code=400,
            auth="Bearer sk_live_abcdef123456",
        )
    )
    entry = json.loads(line)
    assert "AbCdEf123456789xyz" not in line and "sk_live_abcdef123456" not in line and "s3ss10n" not in line
    assert entry["msg"] == "Bad Request: /account/reset/[redacted]/"
    assert entry["request"] == "POST /account/reset/[redacted]/" and entry["status_code"] == 400
    lines = JsonFormatter().format(record("sent %s via /account/invite/Zz9-aaaaaaaa/", each=[1, 2]))
    assert "Zz9-aaaaaaaa" not in lines and len(lines.splitlines()) == 2
