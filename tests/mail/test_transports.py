"""Transports against the real fixture SMTP server (tests/fixtures/smtp.py): no mocks."""

import asyncio
import email
import email.policy
import stat
from pathlib import Path

import pytest

from shopmail.domain.retry import Outcome
from shopmail.mail.transports import (
    CaptureTransport,
    Envelope,
    Rejection,
    SendmailTransport,
    SmtpTransport,
    TransportConfigError,
    make_transport,
    parse_smtp_url,
)
from shopmail.mail.transports import smtp as smtp_module
from shopmail.mail.transports.detect import detect


def envelope(n: int, *rcpt: str, sender: str = "shop@example.com") -> Envelope:
    recipients = rcpt or ("ann@example.com",)
    data = (
        f"From: Shop <{sender}>\r\n"
        f"To: {', '.join(recipients)}\r\n"
        f"Subject: Order {n} confirmed\r\n"
        f"Message-ID: <order-{n}@shop.example>\r\n"
        "\r\n"
        f"Thank you for order {n}.\r\n"
        ".a line that starts with a dot\r\n"
    ).encode()
    return Envelope(key=f"order_confirmed:{n}", mail_from=sender, rcpt_to=recipients, data=data)


def transport(server, security="none", **options) -> SmtpTransport:
    options.setdefault("timeout", 5.0)
    return SmtpTransport(server.host, server.port, security, local_hostname="shop.test", **options)


def send(smtp: SmtpTransport, envelopes):
    async def run():
        try:
            return await smtp.send_many(envelopes)
        finally:
            await smtp.close()

    return asyncio.run(run())


# -- SMTP: the happy path and the pool --------------------------------------------------------


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "lockstep"])
@pytest.mark.parametrize("idle", [False, True], ids=["fresh", "idle"])
def test_pool_sends_in_parallel_and_reuses_connections(smtp_server, monkeypatch, pipelining, idle):
    smtp_server.pipelining = pipelining
    if idle:  # connections count as idle at once: checked with NOOP before reuse
        monkeypatch.setattr(smtp_module, "_FRESH", 0.0)
    smtp = transport(smtp_server, pool_size=3)
    first = [envelope(n) for n in range(12)]
    second = [envelope(n) for n in range(12, 20)]

    async def run():
        try:
            results = await smtp.send_many(first)
            connections = smtp_server.connection_count
            results += await smtp.send_many(second)
            return results, connections
        finally:
            await smtp.close()

    results, connections_after_first = asyncio.run(run())

    assert [r.key for r in results] == [e.key for e in first + second]
    assert {r.outcome for r in results} == {Outcome.SENT}
    assert {r.code for r in results} == {250}
    assert all(r.reply.startswith("250 2.0.0 OK queued as test-") for r in results)
    assert connections_after_first <= 3
    assert smtp_server.connection_count == connections_after_first  # reused, not reopened
    # a connection idle for a while is checked before reuse; one that just answered is not
    assert ("NOOP" in smtp_server.commands) is idle
    received = {m.message_id: m for m in smtp_server.messages}
    assert len(received) == 20
    for sent in first + second:
        message = received[f"<order-{sent.key.split(':')[1]}@shop.example>"]
        assert message.data == sent.data
        assert message.mail_from == "shop@example.com"
        assert message.rcpt_tos == ("ann@example.com",)


def test_a_connection_idle_in_the_pool_past_the_reply_timeout_stays_open(smtp_server):
    # the reply deadline covers a round trip, not the time a connection waits in the pool
    smtp = transport(smtp_server, pool_size=1, timeout=0.3)

    async def run():
        try:
            first = await smtp.send_many([envelope(1)])
            await asyncio.sleep(0.6)
            return first + await smtp.send_many([envelope(2)])
        finally:
            await smtp.close()

    results = asyncio.run(run())

    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.SENT]
    assert smtp_server.connection_count == 1


def test_empty_batch_is_fine(smtp_server):
    assert send(transport(smtp_server), []) == []
    assert smtp_server.connection_count == 0


# -- SMTP: per-message outcomes -----------------------------------------------------------------


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "lockstep"])
def test_451_at_rcpt_defers_then_the_retry_is_sent(smtp_server, pipelining):
    smtp_server.pipelining = pipelining
    smtp_server.fail("rcpt", 451, "4.7.1 Greylisted, try again", times=1)
    smtp = transport(smtp_server)

    async def run():
        try:
            first = await smtp.send_many([envelope(1)])
            retry = await smtp.send_many([envelope(1)])
            return first, retry
        finally:
            await smtp.close()

    [first], [retry] = asyncio.run(run())

    assert first.outcome is Outcome.DEFER
    assert first.code == 451
    assert "4.7.1 Greylisted" in first.reply
    assert retry.outcome is Outcome.SENT
    assert [m.message_id for m in smtp_server.messages] == ["<order-1@shop.example>"]


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "lockstep"])
def test_550_for_one_of_three_recipients_sends_to_the_others(smtp_server, pipelining):
    smtp_server.pipelining = pipelining
    smtp_server.reject_recipient("gone@example.com")
    message = envelope(1, "ann@example.com", "gone@example.com", "bob@example.com")

    [result] = send(transport(smtp_server), [message])

    assert result.outcome is Outcome.SENT
    assert result.code == 250
    assert result.rejected == (Rejection("gone@example.com", 550, "5.1.1 No such user"),)
    assert "gone@example.com: 550 5.1.1 No such user" in result.reply
    [received] = smtp_server.messages
    assert received.rcpt_tos == ("ann@example.com", "bob@example.com")
    assert received.data == message.data


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "lockstep"])
def test_all_recipients_rejected_fails(smtp_server, pipelining):
    smtp_server.pipelining = pipelining
    smtp_server.reject_recipient("gone@example.com")
    smtp_server.reject_recipient("left@example.com", 553, "5.1.3 Bad address")

    [result] = send(transport(smtp_server), [envelope(1, "gone@example.com", "left@example.com")])

    assert result.outcome is Outcome.FAIL
    assert result.code == 550
    assert "left@example.com: 553 5.1.3 Bad address" in result.reply
    assert smtp_server.messages == []


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "lockstep"])
def test_a_4xx_recipient_defers_the_whole_message_so_nobody_gets_it_twice(smtp_server, pipelining):
    smtp_server.pipelining = pipelining
    smtp_server.fail("rcpt", 452, "4.2.2 Mailbox full", times=1)

    [result] = send(transport(smtp_server), [envelope(1, "ann@example.com", "bob@example.com")])

    assert result.outcome is Outcome.DEFER
    assert result.code == 452
    assert smtp_server.messages == []
    assert "RSET" in smtp_server.commands


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "lockstep"])
def test_a_poison_message_does_not_block_the_others(smtp_server, pipelining):
    smtp_server.pipelining = pipelining
    smtp_server.fail("mail", 553, "5.1.7 Bad sender address", times=1)

    results = send(transport(smtp_server, pool_size=1), [envelope(1), envelope(2)])

    assert [(r.outcome, r.code) for r in results] == [(Outcome.FAIL, 553), (Outcome.SENT, 250)]
    assert [m.message_id for m in smtp_server.messages] == ["<order-2@shop.example>"]


@pytest.mark.parametrize(
    ("stage", "code", "outcome"),
    [
        ("mail", 451, Outcome.DEFER),
        ("rcpt", 421, Outcome.DEFER),
        ("data", 554, Outcome.FAIL),
        ("dot", 451, Outcome.DEFER),
        ("dot", 552, Outcome.FAIL),
    ],
)
@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "lockstep"])
def test_the_reply_code_decides_the_outcome(smtp_server, stage, code, outcome, pipelining):
    smtp_server.pipelining = pipelining
    smtp_server.fail(stage, code, "reason given by the server", times=1)

    results = send(transport(smtp_server, pool_size=1), [envelope(1), envelope(2)])

    assert (results[0].outcome, results[0].code) == (outcome, code)
    assert results[0].reply == f"{code} reason given by the server"
    assert results[1].outcome is Outcome.SENT
    assert [m.message_id for m in smtp_server.messages] == ["<order-2@shop.example>"]


def test_one_transport_can_serve_successive_event_loops(smtp_server):
    smtp = transport(smtp_server)
    assert send(smtp, [envelope(1)])[0].outcome is Outcome.SENT
    assert send(smtp, [envelope(2)])[0].outcome is Outcome.SENT
    assert len(smtp_server.messages) == 2


def test_421_at_greeting_defers(smtp_server):
    smtp_server.fail("connect", 421, "4.3.2 Too busy")

    results = send(transport(smtp_server), [envelope(1), envelope(2)])

    assert [(r.outcome, r.code) for r in results] == [(Outcome.DEFER, 421)] * 2
    assert "4.3.2 Too busy" in results[0].reply
    assert smtp_server.messages == []


def test_5xx_to_ehlo_falls_back_to_helo(smtp_server):
    smtp_server.fail("ehlo", 502, "5.5.1 EHLO not implemented", times=1)

    [result] = send(transport(smtp_server), [envelope(1)])

    assert result.outcome is Outcome.SENT
    assert smtp_server.commands[:2] == ["EHLO", "HELO"]


def test_no_reply_after_the_final_dot_defers_as_ambiguous(smtp_server):
    smtp_server.stall(seconds=3, stage="dot", times=1)
    smtp = transport(smtp_server, timeout=0.5)

    async def run():
        try:
            first = await smtp.send_many([envelope(1)])
            retry = await smtp.send_many([envelope(1)])
            return first, retry
        finally:
            await smtp.close()

    [first], [retry] = asyncio.run(run())

    assert first.outcome is Outcome.DEFER
    assert first.code is None
    assert "ambiguous" in first.reply
    assert retry.outcome is Outcome.SENT
    # The server did get the first copy: the retry is recognisable by its Message-ID.
    assert [m.message_id for m in smtp_server.messages] == ["<order-1@shop.example>"] * 2


def test_disconnect_at_data_defers_and_the_next_message_reconnects(smtp_server):
    smtp_server.disconnect(stage="data", times=1)

    results = send(transport(smtp_server, pool_size=1), [envelope(1), envelope(2)])

    assert results[0].outcome is Outcome.DEFER
    assert results[0].code is None
    assert results[1].outcome is Outcome.SENT
    assert smtp_server.connection_count == 2
    assert [m.message_id for m in smtp_server.messages] == ["<order-2@shop.example>"]


@pytest.mark.parametrize(
    ("stage", "outcomes"),
    [
        # While connecting, the server counts as unreachable: everything waits for later.
        ("connect", [Outcome.DEFER, Outcome.DEFER]),
        ("ehlo", [Outcome.DEFER, Outcome.DEFER]),
        # During a transaction, only that message waits; the next one gets a new connection.
        ("mail", [Outcome.DEFER, Outcome.SENT]),
        ("rcpt", [Outcome.DEFER, Outcome.SENT]),
        ("dot", [Outcome.DEFER, Outcome.SENT]),
    ],
)
@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "lockstep"])
def test_a_dropped_connection_defers(smtp_server, stage, outcomes, pipelining):
    smtp_server.pipelining = pipelining
    smtp_server.disconnect(stage, times=1)

    results = send(transport(smtp_server, pool_size=1), [envelope(1), envelope(2)])

    assert [r.outcome for r in results] == outcomes
    assert results[0].code is None
    assert len(smtp_server.messages) == outcomes.count(Outcome.SENT)


def test_a_server_that_never_greets_defers(smtp_server):
    smtp_server.stall(seconds=3, stage="connect")

    [result] = send(transport(smtp_server, timeout=0.3), [envelope(1)])

    assert result.outcome is Outcome.DEFER
    assert "Timed out" in result.reply


def test_server_down_defers_then_up_sends(smtp_server):
    smtp = transport(smtp_server, pool_size=2)

    async def run():
        try:
            before = await smtp.send_many([envelope(1)])
            smtp_server.stop()
            down = await smtp.send_many([envelope(2), envelope(3)])
            smtp_server.start()
            up = await smtp.send_many([envelope(2), envelope(3)])
            return before, down, up
        finally:
            await smtp.close()

    before, down, up = asyncio.run(run())

    assert [r.outcome for r in before] == [Outcome.SENT]
    assert [r.outcome for r in down] == [Outcome.DEFER, Outcome.DEFER]
    assert f"{smtp_server.host}:{smtp_server.port}" in down[0].reply
    assert [r.outcome for r in up] == [Outcome.SENT, Outcome.SENT]
    assert sorted(m.message_id for m in smtp_server.messages) == [
        "<order-1@shop.example>",
        "<order-2@shop.example>",
        "<order-3@shop.example>",
    ]


# -- SMTP: configuration errors -------------------------------------------------------------


def test_auth_with_the_right_password(smtp_server):
    smtp_server.require_auth("shop", "s3cret")

    [result] = send(transport(smtp_server, username="shop", password="s3cret"), [envelope(1)])

    assert result.outcome is Outcome.SENT
    assert smtp_server.messages[0].auth_user == "shop"


def test_wrong_password_is_a_configuration_error_and_nothing_is_marked(smtp_server):
    smtp_server.require_auth("shop", "s3cret")
    smtp = transport(smtp_server, username="shop", password="wrong")

    with pytest.raises(TransportConfigError, match="535") as caught:
        send(smtp, [envelope(1), envelope(2)])

    assert caught.value.results == [None, None]
    assert smtp_server.messages == []
    assert "MAIL" not in smtp_server.commands


def test_auth_required_but_not_configured_is_a_configuration_error(smtp_server):
    smtp_server.require_auth("shop", "s3cret")

    with pytest.raises(TransportConfigError, match="530") as caught:
        send(transport(smtp_server, pool_size=1), [envelope(1), envelope(2)])

    assert caught.value.results == [None, None]
    assert smtp_server.messages == []


def test_a_configuration_error_keeps_what_another_connection_already_sent(smtp_server):
    # The first MAIL FROM is slow but succeeds; the second, on the other connection, gets 530.
    smtp_server.stall(0.3, stage="mail", times=1)
    smtp_server.fail("mail", 530, "5.7.0 Authentication required", times=1)
    envelopes = [envelope(n) for n in range(6)]

    with pytest.raises(TransportConfigError, match=r"530 5\.7\.0") as caught:
        send(transport(smtp_server, pool_size=2), envelopes)

    results = caught.value.results
    assert len(results) == len(envelopes)
    [sent] = [r for r in results if r is not None]  # the others were not attempted: they stay queued
    assert sent.outcome is Outcome.SENT
    [received] = smtp_server.messages
    assert received.message_id == f"<order-{sent.key.split(':')[1]}@shop.example>"


def test_starttls_with_a_trusted_self_signed_certificate_and_auth(smtp_server):
    smtp_server.enable_tls("starttls")
    smtp_server.require_auth("shop", "s3cret")
    smtp = transport(smtp_server, "starttls", cafile=smtp_server.cafile, username="shop", password="s3cret")

    [result] = send(smtp, [envelope(1)])

    assert result.outcome is Outcome.SENT
    [received] = smtp_server.messages
    assert received.tls
    assert received.auth_user == "shop"
    commands = smtp_server.commands
    assert commands.index("STARTTLS") < commands.index("AUTH") < commands.index("MAIL")


def test_implicit_tls(smtp_server):
    smtp_server.enable_tls("implicit")

    [result] = send(
        transport(smtp_server, "tls", tls_context=smtp_server.client_tls_context()), [envelope(1)]
    )

    assert result.outcome is Outcome.SENT
    assert smtp_server.messages[0].tls


def test_starttls_configured_but_not_offered_sends_nothing_in_plain_text(smtp_server):
    with pytest.raises(TransportConfigError, match="server does not offer it") as caught:
        send(transport(smtp_server, "starttls"), [envelope(1)])

    assert caught.value.results == [None]
    assert smtp_server.messages == []
    assert "MAIL" not in smtp_server.commands


def test_untrusted_certificate_is_a_configuration_error(smtp_server):
    smtp_server.enable_tls("starttls")

    with pytest.raises(TransportConfigError, match="certificate verify failed"):
        send(transport(smtp_server, "starttls"), [envelope(1)])  # trusts only the system CAs

    assert "MAIL" not in smtp_server.commands


def test_implicit_tls_against_a_plain_server_is_a_configuration_error(smtp_server):
    with pytest.raises(TransportConfigError, match="TLS"):
        send(transport(smtp_server, "tls"), [envelope(1)])

    assert "MAIL" not in smtp_server.commands


# -- capture -----------------------------------------------------------------------------------


def test_capture_writes_parseable_eml_files_atomically(tmp_path):
    capture = CaptureTransport(tmp_path / "outbox")
    message = envelope(7, "ann@example.com", "bcc@example.com")

    [result] = asyncio.run(capture.send_many([message]))

    [path] = (tmp_path / "outbox").iterdir()  # no temporary files left behind
    assert result.outcome is Outcome.SENT
    assert result.reply == f"250 captured to {path}"
    assert path.name.endswith("-order_confirmed_7.eml")
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert parsed["Message-ID"] == "<order-7@shop.example>"
    assert parsed["Subject"] == "Order 7 confirmed"
    assert parsed["Return-Path"] == "<shop@example.com>"
    assert parsed.get_all("Delivered-To") == ["ann@example.com", "bcc@example.com"]
    assert path.read_bytes().endswith(message.data)


def test_capture_keeps_every_copy(tmp_path):
    capture = CaptureTransport(tmp_path)
    results = asyncio.run(capture.send_many([envelope(1), envelope(1), envelope(1)]))
    assert [r.outcome for r in results] == [Outcome.SENT] * 3
    assert len(list(tmp_path.glob("*.eml"))) == 3


# -- sendmail ----------------------------------------------------------------------------------


def fake_sendmail(tmp_path: Path, status: int, stderr: str = "") -> Path:
    script = tmp_path / "sendmail"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > "{tmp_path}/args"\n'
        f'cat > "{tmp_path}/stdin"\n'
        f'printf "%s" "{stderr}" >&2\n'
        f"exit {status}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_sendmail_success_passes_recipients_after_double_dash(tmp_path):
    sendmail = SendmailTransport(path=str(fake_sendmail(tmp_path, 0)))
    message = envelope(1, "ann@example.com", "bob@example.com")

    [result] = asyncio.run(sendmail.send_many([message]))

    assert result.outcome is Outcome.SENT
    args = (tmp_path / "args").read_text().splitlines()
    assert args == ["-i", "-f", "shop@example.com", "--", "ann@example.com", "bob@example.com"]
    assert (tmp_path / "stdin").read_bytes() == message.data.replace(b"\r\n", b"\n")


def test_sendmail_tempfail_defers(tmp_path):
    sendmail = SendmailTransport(path=str(fake_sendmail(tmp_path, 75, "queue is full")))
    [result] = asyncio.run(sendmail.send_many([envelope(1)]))
    assert result.outcome is Outcome.DEFER
    assert "queue is full" in result.reply


def test_sendmail_other_exit_status_fails_with_stderr(tmp_path):
    sendmail = SendmailTransport(path=str(fake_sendmail(tmp_path, 67, "user unknown")))
    [result] = asyncio.run(sendmail.send_many([envelope(1)]))
    assert result.outcome is Outcome.FAIL
    assert result.reply == "sendmail exit status 67: user unknown"


def test_sendmail_refuses_option_like_addresses_without_running(tmp_path):
    sendmail = SendmailTransport(path=str(fake_sendmail(tmp_path, 0)))
    results = asyncio.run(
        sendmail.send_many([envelope(1, "-oQ/tmp/evil"), envelope(2, sender="-bv"), envelope(3, "a@b\nc")])
    )
    assert [r.outcome for r in results] == [Outcome.FAIL] * 3
    assert not (tmp_path / "args").exists()


def test_missing_sendmail_is_a_configuration_error(tmp_path):
    sendmail = SendmailTransport(path=str(tmp_path / "no-such-sendmail"))
    with pytest.raises(TransportConfigError) as caught:
        asyncio.run(sendmail.send_many([envelope(1)]))
    assert caught.value.results == [None]


# -- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.com", ("mail.example.com", 587, "starttls", None, None)),
        ("smtp://mail.example.com?security=none", ("mail.example.com", 25, "none", None, None)),
        ("smtp://mail.example.com?security=tls", ("mail.example.com", 465, "tls", None, None)),
        ("smtps://mail.example.com", ("mail.example.com", 465, "tls", None, None)),
        (
            "smtp://u:p@mail.example.com:2525?security=starttls",
            ("mail.example.com", 2525, "starttls", "u", "p"),
        ),
        (
            "smtp://shop%40example.com:p%40ss%3Aw%2Frd@mx:26",
            ("mx", 26, "starttls", "shop@example.com", "p@ss:w/rd"),
        ),
        ("SMTP://[::1]:1025?security=none", ("::1", 1025, "none", None, None)),
        ("smtp://only-user@mx", ("mx", 587, "starttls", "only-user", None)),
    ],
)
def test_parse_smtp_url(url, expected):
    parsed = parse_smtp_url(url)
    assert (
        parsed["host"],
        parsed["port"],
        parsed["security"],
        parsed["username"],
        parsed["password"],
    ) == expected


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://mail.example.com", "scheme"),
        ("mail.example.com:25", "scheme"),
        ("smtp://", "no host"),
        ("smtp://mx:notaport", "bad SMTP URL"),
        ("smtp://mx:99999", "bad SMTP URL"),
        ("smtp://mx?security=ssl", "security must be"),
        ("smtp://mx?tls=1", "unknown parameter"),
        ("smtps://mx?security=none", "implicit TLS"),
        ("smtp://mx/inbox", "path"),
    ],
)
def test_parse_smtp_url_refuses_bad_urls(url, complaint):
    with pytest.raises(ValueError, match=complaint):
        parse_smtp_url(url)


def test_bad_url_error_does_not_show_the_password():
    with pytest.raises(ValueError) as caught:
        parse_smtp_url("smtp://shop:hunter2@mx:notaport")
    assert "hunter2" not in str(caught.value)


def test_make_transport(tmp_path, monkeypatch):
    smtp = make_transport({"kind": "smtp", "url": "smtp://u:p@mx.example.com", "pool_size": 2}, tmp_path)
    assert isinstance(smtp, SmtpTransport)
    assert (smtp.host, smtp.port, smtp.security, smtp.username, smtp.pool_size) == (
        "mx.example.com",
        587,
        "starttls",
        "u",
        2,
    )
    plain = make_transport({"kind": "smtp", "host": "localhost", "security": "none"}, tmp_path)
    assert isinstance(plain, SmtpTransport)
    assert plain.port == 25
    monkeypatch.setenv("SHOPMAIL_SENDMAIL", "/opt/bin/sendmail")
    sendmail = make_transport({"kind": "sendmail", "path": "/bin/rm"}, tmp_path)  # a stored path: ignored
    assert isinstance(sendmail, SendmailTransport)
    assert sendmail.path == "/opt/bin/sendmail"  # only the environment names the program
    capture = make_transport({"kind": "capture"}, tmp_path)
    assert isinstance(capture, CaptureTransport)
    assert capture.directory == tmp_path / "captured-mail"
    for transport_ in (smtp, sendmail, capture):
        assert transport_.name in {"smtp", "sendmail", "capture"}


@pytest.mark.parametrize(
    "config",
    [
        {"kind": "carrier-pigeon"},
        {"kind": "smtp"},
        {"kind": "smtp", "host": "mx", "pasword": "typo"},
        {"kind": "smtp", "host": "mx", "security": "ssl"},
        {"kind": "smtp", "host": "mx", "port": "25"},
        {"kind": "smtp", "host": "mx", "pool_size": 0},
        {"kind": "sendmail", "binary": "/usr/sbin/sendmail"},
    ],
)
def test_make_transport_refuses_bad_config(config, tmp_path):
    with pytest.raises(ValueError):
        make_transport(config, tmp_path)


# -- detection -----------------------------------------------------------------------------


def test_detect_reports_the_configured_server_and_its_capabilities(smtp_server, tmp_path, monkeypatch):
    smtp_server.enable_tls("starttls")
    smtp_server.require_auth("shop", "s3cret")
    monkeypatch.setenv("SHOPMAIL_SENDMAIL", str(fake_sendmail(tmp_path, 0)))
    config = {
        "kind": "smtp",
        "host": smtp_server.host,
        "port": smtp_server.port,
        "security": "starttls",
        "cafile": smtp_server.cafile,
        "username": "shop",
        "password": "s3cret",
    }

    found = {d.name: d for d in asyncio.run(detect(config))}

    assert found["smtp"].usable, found["smtp"].detail
    assert "STARTTLS ok" in found["smtp"].detail
    assert "login as shop ok" in found["smtp"].detail
    assert found["smtp STARTTLS"].usable
    assert found["smtp AUTH"].usable
    assert "PLAIN" in found["smtp AUTH"].detail
    assert found["smtp SMTPUTF8"].usable
    assert found["smtp 8BITMIME"].usable
    assert found["smtp SIZE"].detail == "offered: 33554432"
    assert found["smtp PIPELINING"].usable
    assert found["sendmail"].usable
    assert found["sendmail"].detail == str(tmp_path / "sendmail")
    assert "localhost:25" in found
    assert smtp_server.messages == []


def test_detect_explains_what_is_wrong(smtp_server):
    config = {"host": smtp_server.host, "port": smtp_server.port, "security": "starttls"}
    found = {d.name: d for d in asyncio.run(detect(config))}
    assert not found["smtp"].usable
    assert "STARTTLS is configured but not offered" in found["smtp"].detail
    assert not found["smtp STARTTLS"].usable

    smtp_server.stop()
    [smtp, *_] = asyncio.run(detect(config))
    assert not smtp.usable
    assert "connect failed" in smtp.detail


# -- SMTP: pipelining (RFC 2920) ---------------------------------------------------------------


def test_pipelined_commands_travel_together_one_round_trip_per_message(smtp_server):
    """With PIPELINING, a message's content and the next message's MAIL/RCPT/DATA share a write."""
    smtp = transport(smtp_server, pool_size=1)
    envelopes = [envelope(n) for n in range(30)]
    writes: list[bytes] = []

    async def run():
        original = smtp_module.Wire.write

        def spy(self, data):
            writes.append(data)
            original(self, data)

        smtp_module.Wire.write = spy
        try:
            return await smtp.send_many(envelopes)
        finally:
            smtp_module.Wire.write = original
            await smtp.close()

    results = asyncio.run(run())

    assert {r.outcome for r in results} == {Outcome.SENT}
    assert len(smtp_server.messages) == 30
    assert len(writes) == 31  # 30 messages: one write each, plus the last content on its own
    assert writes[0].startswith(b"MAIL FROM:<shop@example.com> SIZE=")
    assert writes[0].endswith(b"RCPT TO:<ann@example.com>\r\nDATA\r\n")
    assert b"\r\n.\r\nMAIL FROM:" in writes[1]


def test_a_long_pipelined_stream_gives_every_message_its_own_outcome(smtp_server):
    """One connection, 24 messages back to back: the usual replies are handled in the protocol
    callback (``_Cruise``); every other reply, anywhere in the stream, still decides only its
    own message, and the stream goes on over the same connection."""
    smtp_server.reject_recipient("gone@example.com")  # 550 at RCPT
    smtp_server.reject_recipient("full@example.com", 452, "4.2.2 Mailbox full")
    smtp_server.fail("dot", 554, "5.6.0 Content refused", times=1)  # the first message's content
    recipients = {
        5: ("gone@example.com",),
        9: ("full@example.com",),
        14: ("ann@example.com", "bob@example.com"),
    }
    envelopes = [envelope(n, *recipients.get(n, ())) for n in range(24)]
    envelopes[18] = Envelope(
        key="order_confirmed:18", mail_from="shop@example.com", rcpt_to=(), data=b"x\r\n"
    )
    smtp = transport(smtp_server, pool_size=1)

    results = send(smtp, envelopes)

    outcomes = {int(r.key.split(":")[1]): (r.outcome, r.code) for r in results}
    unusual = {
        0: (Outcome.FAIL, 554),
        5: (Outcome.FAIL, 550),
        9: (Outcome.DEFER, 452),
        18: (Outcome.FAIL, None),
    }
    assert outcomes == {n: unusual.get(n, (Outcome.SENT, 250)) for n in range(24)}
    sent = [n for n in range(24) if n not in unusual]
    assert [m.message_id for m in smtp_server.messages] == [f"<order-{n}@shop.example>" for n in sent]
    assert smtp_server.messages[sent.index(14)].rcpt_tos == ("ann@example.com", "bob@example.com")
    assert smtp_server.connection_count == 1
    assert all(m.data == envelopes[n].data for m, n in zip(smtp_server.messages, sent, strict=True))


@pytest.mark.parametrize(
    ("fault", "stage", "outcome"),
    [
        ("421", "mail", (Outcome.DEFER, 421)),
        ("421", "dot", (Outcome.DEFER, 421)),
        ("drop", "rcpt", (Outcome.DEFER, None)),
        ("drop", "dot", (Outcome.DEFER, None)),
        ("stall", "dot", (Outcome.DEFER, None)),
    ],
)
def test_a_fault_in_the_middle_of_a_pipelined_stream(smtp_server, fault, stage, outcome):
    """The server closes (421), drops the connection or stops answering at the 8th message of a
    stream: that message defers (once ambiguous at the dot), everything before it is sent,
    everything after it goes over a new connection, and nothing arrives twice."""
    if fault == "421":
        smtp_server.fail(stage, 421, "4.3.2 Shutting down", times=1, after=7)
    elif fault == "drop":
        smtp_server.disconnect(stage, times=1, after=7)
    else:
        smtp_server.stall(3.0, stage, times=1, after=7)
    envelopes = [envelope(n) for n in range(16)]

    results = send(transport(smtp_server, pool_size=1, timeout=0.5), envelopes)

    outcomes = {int(r.key.split(":")[1]): (r.outcome, r.code) for r in results}
    assert outcomes == {n: outcome if n == 7 else (Outcome.SENT, 250) for n in range(16)}
    arrived = [m.message_id for m in smtp_server.messages]
    assert len(arrived) == len(set(arrived))
    stalled_but_kept = fault == "stall"  # the server has it; the reply never came in time
    expected = [n for n in range(16) if n != 7 or stalled_but_kept]
    assert sorted(arrived) == sorted(f"<order-{n}@shop.example>" for n in expected)
    assert smtp_server.connection_count == 2


def test_message_content_is_dot_stuffed_and_line_ends_are_crlf():
    from shopmail.mail.transports.smtp_wire import message_content

    def content(data: bytes) -> bytes:
        return b"".join(message_content(data))

    assert content(b"a\r\nb\r\n") == b"a\r\nb\r\n.\r\n"
    assert content(b".lead\r\n.\r\nx") == b"..lead\r\n..\r\nx\r\n.\r\n"
    assert content(b"lf\nonly\rcr\r\n") == b"lf\r\nonly\r\ncr\r\n.\r\n"


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "lockstep"])
def test_lines_starting_with_a_dot_arrive_intact(smtp_server, pipelining):
    smtp_server.pipelining = pipelining
    data = (
        b"From: shop@example.com\r\nTo: ann@example.com\r\nSubject: dots\r\n"
        b"Message-ID: <dots@shop.example>\r\n\r\n.\r\n..two\r\n.three\r\nend\r\n"
    )
    [result] = send(transport(smtp_server), [Envelope("k", "shop@example.com", ("ann@example.com",), data)])

    assert result.outcome is Outcome.SENT
    [received] = smtp_server.messages
    assert received.data == data


def test_a_pooled_connection_that_died_quietly_is_replaced_without_losing_the_message(smtp_server):
    smtp = transport(smtp_server, pool_size=1)

    async def run():
        try:
            first = await smtp.send_many([envelope(1)])
            smtp_server.stop()  # drops the pooled connection while the client is not looking
            smtp_server.start()
            second = await smtp.send_many([envelope(2)])
            return first + second
        finally:
            await smtp.close()

    results = asyncio.run(run())

    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.SENT]
    assert [m.message_id for m in smtp_server.messages] == [
        "<order-1@shop.example>",
        "<order-2@shop.example>",
    ]


# -- the deadline (the worker's half lease) ----------------------------------------------------


def test_smtp_starts_no_message_after_the_deadline(smtp_server):
    import time

    smtp_server.stall(0.5, stage="dot", times=1)  # the first message's reply comes late
    envelopes = [envelope(n) for n in range(6)]
    smtp = transport(smtp_server, pool_size=1)

    async def run():
        try:
            return await smtp.send_many(envelopes, deadline=time.monotonic() + 0.2)
        finally:
            await smtp.close()

    results = asyncio.run(run())

    # what was on the wire when the deadline passed is finished; nothing after it is started
    assert 1 <= len(results) <= 2
    assert {r.outcome for r in results} == {Outcome.SENT}
    assert [r.key for r in results] == [e.key for e in envelopes[: len(results)]]
    assert len(smtp_server.messages) == len(results)


def test_capture_starts_nothing_after_the_deadline(tmp_path):
    import time

    capture = CaptureTransport(tmp_path)
    assert asyncio.run(capture.send_many([envelope(1)], deadline=time.monotonic() - 1)) == []
    assert not list(tmp_path.rglob("*.eml"))


def test_a_message_built_by_domain_mime_is_sent_as_it_is_and_arrives_intact(smtp_server):
    import datetime as dt

    from shopmail.domain import mime

    text = ".leading dot\n.\nFrom the shop\n" + "x" * 300 + "\n"
    data = mime.build_message(
        message_id="<mime-1@shop.example>",
        from_=mime.Address("shop@example.com", "Shop"),
        to=[mime.Address("ann@example.com", "Ann")],
        subject="Dots",
        text=text,
        html=f"<p>{text}</p>",
        date=dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC),
    )
    envelope = Envelope("k", "shop@example.com", ("ann@example.com",), data, wire_ready=True)

    [result] = send(transport(smtp_server), [envelope])

    assert result.outcome is Outcome.SENT
    [received] = smtp_server.messages
    assert received.data == data
    assert received.message.get_body(("plain",)).get_content().replace("\r\n", "\n") == text
