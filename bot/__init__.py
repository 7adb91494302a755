"""Switchboard.

sqlite-utils imports pandas and numpy at import time when they are installed, only to map
their types to columns, which the bot never stores; in a process that has not imported them
for its own reasons they cost about 77 MB and 0.3 s of start-up (the test extras install
them). Importing sqlite-utils here, first, with both marked absent (a None entry in
sys.modules makes `import` raise ImportError, which sqlite-utils expects), keeps them out.
"""

import sys

_HIDDEN = [name for name in ("pandas", "numpy") if name not in sys.modules]
for _name in _HIDDEN:
    sys.modules[_name] = None  # type: ignore[assignment]  # None blocks an import; typeshed: modules only
try:
    import sqlite_utils  # noqa: F401 (imported for the above, with both hidden)
finally:
    for _name in _HIDDEN:
        if sys.modules.get(_name, ...) is None:
            del sys.modules[_name]
