"""The overlay's version, on its own so that any module can name it without importing the
package's face (`sms_status/__init__.py`, which sits above everything it re-exports).
Written by hand; tests/client/test_client_options.py holds it to pyproject.toml."""

__version__ = "0.1.0"
"""This distribution's version (`sms_status.__version__`); each request's User-Agent says it."""
