"""bot/blocks/weblink.py: the reply to `/ops link` that carries the one-time URL."""

from __future__ import annotations

from bot.blocks.weblink import link_message
from tests.blocks.kit import message_text

URL = "https://switchboard.example.test/link/Zm9vYmFy-token"


def test_the_reply_links_the_url_says_how_long_it_works_and_escapes_the_instance():
    text, blocks = link_message(title="Dataiku DSS", instance="pre<prod>&", url=URL, minutes=10)
    shown = message_text(blocks)
    assert (
        f"Open <{URL}|this link> to link your Dataiku DSS account (pre&lt;prod&gt;&amp;)" in shown
    )
    assert "expires in 10 minutes and works once" in shown
    assert "It never appears in Slack." in shown
    # The notification fallback has the URL in plain text, and the same escaped instance.
    assert URL in text and "(pre&lt;prod&gt;&amp;)" in text and "<prod>" not in text


def test_without_an_instance_no_parentheses():
    text, blocks = link_message(title="Atoti Limits", instance=None, url=URL, minutes=5)
    assert "your Atoti Limits account. It expires in 5 minutes" in message_text(blocks)
    assert text.startswith(f"Open this link to link your Atoti Limits account: {URL} ")
