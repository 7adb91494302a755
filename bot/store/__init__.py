"""Everything the bot keeps, on SQLite or PostgreSQL: `Store` owns the connections (bot.store.db);
the modules beside it hold small synchronous functions over the one interface both engines
implement (bot.store.engine), which `Store.run` sends off the event loop."""

from bot.store.db import Store

__all__ = ["Store"]
