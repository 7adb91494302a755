"""End to end: the real bot served over HTTP, Slack-signed requests from the driver, platform
emulators on 127.0.0.1, a real SQLite file (or a real PostgreSQL database, for the tests marked
`on_both_engines`). Tests assert on what the Slack emulator received, which is what a person
would see.

The fixtures (slack, dss, platforms, settings, bot, driver) are shared with the abuse, faults
and weblink suites: tests/conftest.py defines them; tests/support/bot.py has make_settings."""
