"""Pure functions from domain objects to Block Kit dicts, one module per family."""
