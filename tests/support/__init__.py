"""What the test folders share: settings for a bot under test, clocks, logging isolation.

Fixtures that every folder may use are defined once in tests/conftest.py (or a folder's
conftest.py); the plain helpers they build on live here, importable by name."""
