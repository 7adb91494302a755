"""`/ops` quotes what the person typed literally: no mention, link or bidi control in it
works. (issue 11, "Hostile or broken platforms"; the families are in test_literal_text.py)"""

from __future__ import annotations

import pytest

from tests.e2e.helpers import reply_to, texts
from tests.e2e.test_literal_text import EVIL, assert_literal


@pytest.mark.parametrize(
    "text", [f"link '{EVIL}'", f"digest add dss '{EVIL}'", f"digest add '{EVIL}' daily 09:00"]
)
async def test_ops_echoes_the_persons_text_literally(driver, slack, bot, text):
    reply = await reply_to(driver, slack, "alice", "/ops", text, expect="channel")
    # Quoted back clipped, or only up to where it stopped making sense: but literally.
    assert_literal(f"{reply.text}\n{texts(reply.blocks)}", shown="`&lt;!channel&gt; &lt;")
