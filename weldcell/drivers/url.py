"""A parsed robot address (``scheme://HOST[:PORT][/PATH][?key=value&...]``).

Parsed by :func:`weldcell.drivers.registry.parse_robot_url`; defined here, below the registry and the
driver base class, so that drivers name it without importing the registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RobotUrl:
    """A parsed robot URL ``scheme://HOST[:PORT][/PATH][?key=value&...]``.

    Attributes:
        url: The URL as given.
        scheme: Lower-case scheme (``"ur"``, ``"kuka-rsi"``, ...).
        host: Host name or address ("" if none).
        port: Port number, or None when the URL has none.
        path: Path without the leading ``/`` ("" if none).
        query: Query parameters as strings.
    """

    url: str
    scheme: str
    host: str
    port: int | None
    path: str = ""
    query: dict[str, str] = field(default_factory=dict)
