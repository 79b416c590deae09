"""Fivetran Connector SDK connector for the Xurrent (formerly 4me) REST API.

The package is deployed next to connector.py; its name avoids the PyPI package ``xurrent``.
"""

__version__ = "0.1.0"
