"""Apprise URLs: a json:// and a form:// service on a real local HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest

from alerting_fixtures import WebhookReceiver
from whmcs_monitor.notify.apprise_channel import AppriseChannel, AppriseConfig
from whmcs_monitor.notify.errors import DeliveryError
from whmcs_monitor.notify.message import Message

MESSAGE = Message(
    title="[ERROR] main: module create failed",
    text="cPanel said no",
    html="",
    document={},
    severity="error",
)


@pytest.fixture
def server() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def _port(server: WebhookReceiver) -> int:
    return int(server.server.server_address[1])


def test_an_apprise_json_url_posts_title_and_body(server: WebhookReceiver) -> None:
    AppriseChannel(AppriseConfig(urls=[f"json://127.0.0.1:{_port(server)}/notify"])).send(
        MESSAGE, delivery_id="1"
    )
    (post,) = server.received
    doc = post.json()
    assert (post.path, doc["title"], doc["message"], doc["type"]) == (
        "/notify",
        MESSAGE.title,
        "cPanel said no",
        "failure",
    )


def test_an_apprise_form_url_posts_a_form(server: WebhookReceiver) -> None:
    AppriseChannel(AppriseConfig(urls=[f"form://127.0.0.1:{_port(server)}/form"])).send(
        MESSAGE, delivery_id="2"
    )
    (post,) = server.received
    assert parse_qs(post.body.decode())["title"] == [MESSAGE.title]


def test_a_refused_apprise_post_is_a_temporary_failure_without_the_url(
    server: WebhookReceiver,
) -> None:
    server.statuses.append(500)
    url = f"json://127.0.0.1:{_port(server)}/secret-path-token"
    with pytest.raises(DeliveryError) as caught:
        AppriseChannel(AppriseConfig(urls=[url])).send(MESSAGE, delivery_id="3")
    assert not caught.value.permanent
    assert str(caught.value) == "apprise json: the service refused or was unreachable"


def test_an_apprise_url_it_does_not_know_is_permanent() -> None:
    with pytest.raises(DeliveryError) as caught:
        AppriseChannel(AppriseConfig(urls=["nosuchservice://token@host"])).send(
            MESSAGE, delivery_id="4"
        )
    assert (
        caught.value.permanent
        and str(caught.value) == "apprise does not accept the nosuchservice:// URL"
    )
