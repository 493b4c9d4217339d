"""Which addresses the virtual controllers and the virtual power source may listen on.

A virtual controller accepts URScript and I/O commands from anyone who can reach it, so it binds a
loopback address (127.0.0.0/8, ::1, ``localhost``) unless the caller explicitly allows remote
access (CLI ``--allow-remote``).
"""

from __future__ import annotations

import ipaddress
import socket

from weldcell.errors import DriverConnectionError


def is_loopback(host: str) -> bool:
    """True if ``host`` (an IPv4/IPv6 address or a name) resolves only to loopback addresses."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    addrs = {str(info[4][0]) for info in infos}
    return bool(addrs) and all(ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in addrs)


def check_bind_address(host: str, allow_remote: bool, what: str, option: str = "--host") -> bool:
    """Refuse a non-loopback listen address unless ``allow_remote``.

    Args:
        host: Address or host name to bind.
        allow_remote: The caller explicitly allows other machines to connect.
        what: The server, for the message (e.g. ``"virtual UR controller"``).
        option: The option that set ``host``, for the message.

    Returns:
        True if the address is reachable from other machines (the caller should warn loudly).

    Raises:
        DriverConnectionError: ``host`` is not loopback and ``allow_remote`` is False.
    """
    if is_loopback(host):
        return False
    if not allow_remote:
        raise DriverConnectionError(
            f"{option} {host}: the {what} binds loopback addresses only (127.0.0.1 ... 127.255.255.254, "
            "::1, localhost); anyone who reaches it can run programs and switch outputs. Pass "
            "--allow-remote to listen on a network address anyway"
        )
    return True
