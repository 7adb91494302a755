"""All SQLite access: `Store` owns the database on one thread; the modules beside it hold
small synchronous functions over `sqlite_utils.Database` that `Store.run` sends there."""

from bot.store.db import Store

__all__ = ["Store"]
