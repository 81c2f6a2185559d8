"""Apprise URLs: a json:// and a form:// service on a real local HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
from pydantic import SecretStr

from alerting_fixtures import WebhookReceiver
from support import make_settings
from whmcs_monitor.errors import ConfigError
from whmcs_monitor.notify.apprise_channel import AppriseChannel, AppriseConfig
from whmcs_monitor.notify.errors import DeliveryError
from whmcs_monitor.notify.message import Message

TOKEN = "XXXXSECRETTOKEN"
TOKEN_URL = f"hooks.slack.com/services/T000/B000/{TOKEN}"  # no scheme: apprise cannot use it
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


def test_an_apprise_url_apprise_cannot_use_is_refused_when_the_config_loads() -> None:
    urls = ["json://127.0.0.1/notify", TOKEN_URL, "nosuchservice://token@host"]
    with pytest.raises(ConfigError) as caught:
        make_settings(
            "sqlite://", alerting={"receivers": [{"name": "chat", "apprise": {"urls": urls}}]}
        )
    assert caught.value.problems == [
        "alerting.receivers[0].apprise.urls[1]: has no service scheme like slack:// or tgram:// "
        "in front",
        "alerting.receivers[0].apprise.urls[2]: is not a nosuchservice:// URL apprise can use "
        "(an unknown service, or a part missing or wrong)",
    ]
    assert TOKEN not in str(caught.value)


def test_only_the_scheme_of_an_apprise_url_is_ever_shown(
    server: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    """The rest of the URL holds the token, so describe() (the receivers list, `notify test`)
    and every error show the scheme, or "(invalid URL)" for a URL without one."""
    good = AppriseChannel(AppriseConfig(urls=[f"json://127.0.0.1:{_port(server)}/{TOKEN}"]))
    assert good.describe() == "apprise json"
    server.statuses.append(500)
    with pytest.raises(DeliveryError) as refused:
        good.send(MESSAGE, delivery_id="5")
    # A config checked by another apprise version (or a service disabled since) is built here
    # without the check it would fail now.
    unusable = [SecretStr("nosuchservice://token@host"), SecretStr(TOKEN_URL)]
    bad = AppriseChannel(AppriseConfig.model_construct(urls=unusable))
    assert bad.describe() == "apprise (invalid URL), nosuchservice"
    with pytest.raises(DeliveryError) as caught:
        bad.send(MESSAGE, delivery_id="4")
    assert caught.value.permanent and str(caught.value) == (
        "apprise URL 1 is not a nosuchservice:// URL apprise can use "
        "(an unknown service, or a part missing or wrong)"
    )
    assert TOKEN not in str(refused.value) + caplog.text
