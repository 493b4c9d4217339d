"""Robot driver registry: choose a driver by the scheme of a robot URL (python-can's interface table).

``connect_robot("ur://192.168.0.10")`` builds the driver registered for the scheme and connects it;
``driver_for_url`` only builds it. Drivers are imported lazily: the table maps a scheme to a
``"module:attribute"`` string and nothing is imported until that scheme is asked for, so a vendor's
protocol code (and its dependencies) costs nothing for a cell that does not use it.

The attribute is either a :class:`~weldcell.drivers.base.RobotDriver` subclass with a
``from_url(url: RobotUrl, **options)`` class method, or a factory function with the same signature.

Third-party drivers register themselves through the entry-point group ``weldcell.robot_drivers``
(name = scheme, value = ``"package.module:Attribute"``), e.g. in their ``pyproject.toml``::

    [project.entry-points."weldcell.robot_drivers"]
    fanuc-sm = "weldcell_fanuc.driver:FanucDriver"

Built-in schemes win over entry points of the same name (a plug-in cannot hijack ``ur://``).

**Vendors.** A vendor package (``weldcell/drivers/<vendor>/``) registers everything it brings in one
:class:`~weldcell.drivers.vendor.Vendor` value: its URL schemes and drivers, its virtual controller
command (``weldcell controller <name>``), its export formats (``weldcell export --format``) and its
virtual cell for ``weldcell demo --robot <vendor>``. :data:`BUILTIN_VENDORS` lists the built-in ones
(one line each); third-party packages add theirs through the entry-point group
``weldcell.vendors`` (value ``"package.plugin:VENDOR"``). The command line and the application layer
look them up with :func:`vendors`, :func:`vendor` and :func:`export_formats`.
"""

from __future__ import annotations

import functools
import importlib
import logging
import sys
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import parse_qsl, urlsplit

from weldcell.drivers.url import RobotUrl as RobotUrl  # the parsed address, defined beside the drivers
from weldcell.drivers.vendor import ProgramFormat, Vendor
from weldcell.errors import DriverError, WeldcellError

if TYPE_CHECKING:
    from weldcell.drivers.base import RobotDriver
    from weldcell.drivers.positioner.base import PositionerPort

log = logging.getLogger(__name__)

#: Entry-point group third-party robot drivers register under (name = URL scheme).
ENTRY_POINT_GROUP = "weldcell.robot_drivers"

#: Entry-point group third-party vendor packages register under (value = ``"module:VENDOR"``).
VENDOR_ENTRY_POINT_GROUP = "weldcell.vendors"

#: Built-in vendor packages: name -> "module:attribute" of their :class:`Vendor` (one line per vendor).
BUILTIN_VENDORS: dict[str, str] = {
    "ur": "weldcell.drivers.ur.plugin:VENDOR",
    "kuka": "weldcell.drivers.kuka.plugin:VENDOR",
    "fanuc": "weldcell.drivers.fanuc.plugin:VENDOR",
    "abb": "weldcell.drivers.abb.plugin:VENDOR",
}

#: The vendor of the command line's defaults: ``weldcell demo --robot`` and ``weldcell export --format``
#: (its first format).
DEFAULT_VENDOR = "ur"

#: Built-in drivers of no vendor: URL scheme -> "module:attribute" (imported only when used). The
#: vendors' schemes come from their :class:`Vendor` (see :func:`driver_table`).
BUILTIN_DRIVERS: dict[str, str] = {
    "virtual": "weldcell.drivers.virtual:VirtualRobot",
}


class DriverFactory(Protocol):
    """What a registry entry resolves to: a callable building an unconnected driver from a URL."""

    def __call__(self, url: RobotUrl, /, **options: Any) -> RobotDriver: ...


def parse_robot_url(url: str) -> RobotUrl:
    """Split ``url`` into a :class:`RobotUrl`.

    Raises:
        DriverError: no ``scheme://`` part, a port that is not a number in 1 … 65535.
    """
    if "://" not in url:
        raise DriverError(
            f"robot address {url!r}: expected SCHEME://HOST[:PORT] "
            f"(known schemes: {', '.join(known_schemes())})"
        )
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as err:
        text = parts.netloc.rpartition(":")[2]
        if text.isdigit():
            raise DriverError(f"robot address {url!r}: port {text} is outside 1 … 65535") from err
        raise DriverError(f"robot address {url!r}: the port {text!r} is not a number in 1 … 65535") from err
    if port is not None and not 1 <= port <= 65535:
        raise DriverError(f"robot address {url!r}: port {port} is outside 1 … 65535")
    return RobotUrl(
        url=url,
        scheme=parts.scheme.lower(),
        host=parts.hostname or "",
        port=port,
        path=parts.path.lstrip("/"),
        query=dict(parse_qsl(parts.query)),
    )


def _plugin_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for ep in _installed(ENTRY_POINT_GROUP):
        table[ep.name.lower()] = ep.value
    return table


@functools.lru_cache(maxsize=4)
def _scan(path: tuple[str, ...]) -> dict[str, tuple[EntryPoint, ...]]:
    """weldcell's entry points of the distributions on ``path`` (``sys.path``), by group."""
    found = entry_points()
    return {g: tuple(found.select(group=g)) for g in (ENTRY_POINT_GROUP, VENDOR_ENTRY_POINT_GROUP)}


def _installed(group: str) -> tuple[EntryPoint, ...]:
    """The installed entry points of ``group``.

    Reading every distribution's metadata costs 10-30 ms, and one command asks up to three times
    (``weldcell --help``: the vendors' commands, the export formats and the default format), so
    the scan is kept per ``sys.path``: a distribution added on a new path is seen at once, one
    installed into an already scanned folder by the next process (issue #14).
    """
    return _scan(tuple(sys.path))[group]


def resolve_target(target: str, what: str) -> Any:
    """Import ``"module:attribute"`` and return the attribute.

    Raises:
        DriverError: a malformed target, a module that cannot be imported, a missing attribute
            (``what`` names the registration in the message).
    """
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise DriverError(f"{what} is registered as {target!r}: expected 'module:attribute'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise DriverError(f"{what}: cannot import {module_name!r} ({err})") from err
    try:
        return getattr(module, attr)
    except AttributeError as err:
        raise DriverError(f"{what}: module {module_name!r} has no attribute {attr!r}") from err


def _load_vendor(name: str, target: str) -> Vendor:
    spec = resolve_target(target, f"vendor {name!r}")
    if not isinstance(spec, Vendor):
        raise DriverError(f"vendor {name!r}: {target} is {type(spec).__name__}, not a weldcell Vendor")
    if spec.name != name:
        raise DriverError(f"vendor {name!r}: {target} describes vendor {spec.name!r}")
    return spec


def _builtin_vendors() -> dict[str, Vendor]:
    return {name: _load_vendor(name, target) for name, target in BUILTIN_VENDORS.items()}


def vendors() -> dict[str, Vendor]:
    """All vendors by name: the built-in ones plus installed plug-ins (built-ins win on a name clash).

    Raises:
        DriverError: a registration that cannot be loaded.
    """
    table: dict[str, Vendor] = {}
    for ep in _installed(VENDOR_ENTRY_POINT_GROUP):
        name = ep.name.lower()
        if name in BUILTIN_VENDORS:
            log.warning(
                "entry point %r of %s is ignored: the vendor is built in", name, VENDOR_ENTRY_POINT_GROUP
            )
            continue
        table[name] = _load_vendor(name, ep.value)
    table.update(_builtin_vendors())
    return table


def vendor(name: str) -> Vendor:
    """The vendor registered as ``name``.

    Raises:
        DriverError: no such vendor (the message lists the known ones).
    """
    table = vendors()
    if name not in table:
        raise DriverError(f"vendor {name!r}: expected one of {', '.join(sorted(table))}")
    return table[name]


def default_export_format() -> str:
    """The default of ``weldcell export --format``: the first format of :data:`DEFAULT_VENDOR`."""
    return vendor(DEFAULT_VENDOR).exports[0].name


def vendor_of_model(robot: str) -> Vendor | None:
    """The vendor whose arms include the weldcell robot model ``robot`` (its ``models``), or None.

    A vendor whose model list cannot be loaded is skipped (logged).
    """
    for v in vendors().values():
        if not v.models:
            continue
        try:
            models = resolve_target(v.models, f"vendor {v.name!r} models")()
        except WeldcellError as err:
            log.warning("vendor %r: %s", v.name, err)
            continue
        if robot in models:
            return v
    return None


def export_formats() -> dict[str, ProgramFormat]:
    """All offline program formats by name, from the registered vendors.

    Raises:
        DriverError: two vendors register the same format name.
    """
    formats: dict[str, ProgramFormat] = {}
    owner: dict[str, str] = {}
    for v in vendors().values():
        for fmt in v.exports:
            if fmt.name in formats:
                raise DriverError(
                    f"export format {fmt.name!r} is registered by both {owner[fmt.name]!r} and {v.name!r}"
                )
            formats[fmt.name] = fmt
            owner[fmt.name] = v.name
    return formats


def driver_table() -> dict[str, str]:
    """All known schemes -> ``"module:attribute"``: the built-ins, the vendors' and installed plug-ins."""
    table = _plugin_table()
    builtin = dict(BUILTIN_DRIVERS)
    for v in _builtin_vendors().values():
        builtin.update(v.drivers)
    for scheme in table.keys() & builtin.keys():
        log.warning("entry point %r of %s is ignored: the scheme is built in", scheme, ENTRY_POINT_GROUP)
    for name, v in vendors().items():
        if name not in BUILTIN_VENDORS:
            for scheme, target in v.drivers.items():
                table.setdefault(scheme, target)
    table.update(builtin)
    return table


def known_schemes() -> list[str]:
    """Sorted list of the URL schemes a driver is registered for."""
    return sorted(driver_table())


def url_forms() -> list[str]:
    """The address forms of the vendors' drivers, for messages (``"ur://HOST[:RTDE_PORT]"``, ...):
    built-in vendors first, in :data:`BUILTIN_VENDORS` order. Imports the drivers."""
    table = vendors()
    names = [*(n for n in BUILTIN_VENDORS if n in table), *sorted(table.keys() - BUILTIN_VENDORS.keys())]
    forms: list[str] = []
    for name in names:
        for scheme in table[name].drivers:
            try:
                form = getattr(driver_target(scheme), "url_form", "")
            except DriverError as err:  # a broken plug-in does not hide the others
                log.warning("driver %r: %s", scheme, err)
                continue
            forms.append(form or f"{scheme}://HOST[:PORT]")
    return forms


def _resolve(scheme: str, target: str) -> DriverFactory:
    obj = resolve_target(target, f"robot driver {scheme!r}")
    from weldcell.drivers.base import RobotDriver

    if isinstance(obj, type):
        if not issubclass(obj, RobotDriver):
            raise DriverError(f"robot driver {scheme!r}: {target} is not a RobotDriver subclass")
        from_url = getattr(obj, "from_url", None)
        if from_url is None:
            raise DriverError(
                f"robot driver {scheme!r}: {target} has no from_url(url, **options) class method"
            )
        return cast(DriverFactory, from_url)
    if not callable(obj):
        raise DriverError(f"robot driver {scheme!r}: {target} is neither a driver class nor a factory")
    return cast(DriverFactory, obj)


def driver_target(scheme: str) -> Any:
    """The driver class or factory registered for ``scheme`` (imported now; nothing is built).

    Raises:
        DriverError: an unknown scheme (the message lists the known ones) or a bad registration.
    """
    table = BUILTIN_DRIVERS if scheme in BUILTIN_DRIVERS else driver_table()
    if scheme not in table:
        raise DriverError(f"no driver for scheme {scheme!r}; known schemes: {', '.join(sorted(table))}")
    return resolve_target(table[scheme], f"robot driver {scheme!r}")


def check_url_settings(url: RobotUrl) -> None:
    """Check the settings of a parsed robot URL with its driver, if the driver can (``check_url``).

    Nothing connects; the driver class is imported.

    Raises:
        DriverError: what the driver finds wrong with the URL.
    """
    check = getattr(driver_target(url.scheme), "check_url", None)
    if check is not None:
        check(url)


def default_connect_timeout(scheme: str, fallback: float) -> float:
    """The connection time-out [s] the driver of ``scheme`` asks for (``default_connect_timeout``),
    else ``fallback``."""
    value = getattr(driver_target(scheme), "default_connect_timeout", None)
    return fallback if value is None else float(value)


def waiting_for(url: RobotUrl) -> str | None:
    """What connecting to ``url`` waits for, for the operator (the driver's ``waiting_for``), or None."""
    describe = getattr(driver_target(url.scheme), "waiting_for", None)
    return None if describe is None else cast("str | None", describe(url))


def driver_for_url(url: str, **options: Any) -> RobotDriver:
    """Build (but do not connect) the driver registered for the scheme of ``url``.

    Args:
        url: Robot address, e.g. ``ur://192.168.0.10``, ``kuka-rsi://0.0.0.0:59152``, ``virtual://ur5e``.
        **options: Driver settings passed to the driver's factory (e.g. ``robot="ur10e"``).

    Raises:
        DriverError: an unknown scheme (the message lists the known ones), a driver that cannot be
            imported, or options the driver rejects.
    """
    parsed = parse_robot_url(url)
    # the vendor-less built-ins first: building a virtual robot loads no vendor package at all
    target = BUILTIN_DRIVERS.get(parsed.scheme)
    table = BUILTIN_DRIVERS if target is not None else driver_table()
    target = table.get(parsed.scheme)
    if target is None:
        raise DriverError(
            f"robot address {url!r}: no driver for scheme {parsed.scheme!r}; known schemes: "
            f"{', '.join(sorted(table))} (third-party drivers register under the entry-point group "
            f"{ENTRY_POINT_GROUP!r})"
        )
    factory = _resolve(parsed.scheme, target)
    try:
        driver = factory(parsed, **options)
    except TypeError as err:
        raise DriverError(
            f"robot address {url!r}: the {parsed.scheme!r} driver rejects the options: {err}"
        ) from err
    from weldcell.drivers.base import RobotDriver

    if not isinstance(driver, RobotDriver):
        raise DriverError(
            f"robot driver {parsed.scheme!r}: {target} returned {type(driver).__name__}, not a RobotDriver"
        )
    return driver


def connect_robot(url: str, *, timeout: float | None = 10.0, **options: Any) -> RobotDriver:
    """Build the driver for ``url`` (see :func:`driver_for_url`) and connect it.

    Args:
        url: Robot address (``SCHEME://HOST[:PORT]``).
        timeout: Connection time-out [s].
        **options: Driver settings.

    Returns:
        The connected driver; close it (or use it as a context manager) when done.
    """
    driver = driver_for_url(url, **options)
    driver.connect(timeout)
    return driver


# --- how the cell connects a driver (per-driver hooks, so that cell code names no vendor) ------


def cell_driver_options(url: RobotUrl, robot: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The driver options the cell connects ``url`` with, for a job planned for ``robot``.

    Asks the driver (its ``cell_options(url, robot, settings)``, see
    :meth:`~weldcell.drivers.base.RobotDriver.cell_options`); a factory without one gets the job's
    robot model unless the URL names it (:func:`~weldcell.drivers.base.default_cell_options`).

    Args:
        url: The parsed robot address.
        robot: The weldcell robot model the job was planned for.
        settings: The cell's connection settings (``q0``, ``power_on``, ``dashboard_port``, ...; a
            driver takes what applies to it).

    Raises:
        DriverError: an unknown scheme, or settings the driver rejects (another robot model in the URL).
    """
    hook = getattr(driver_target(url.scheme), "cell_options", None)
    if hook is None:
        from weldcell.drivers.base import default_cell_options

        return default_cell_options(url, robot)
    return cast("dict[str, Any]", hook(url, robot, settings))


def driver_options(scheme: str) -> Mapping[str, str]:
    """The connection options the driver of ``scheme`` accepts from the cell: option name -> what it
    does (the driver's ``driver_options``; a driver or plug-in factory that declares none takes none).

    These are the per-driver entries of ``RunOptions.driver_options`` (``weldcell cell run
    --driver-option NAME=VALUE``); the generic options (robot model, start ``q0``, timeout) are not
    among them.

    Raises:
        DriverError: an unknown scheme.
    """
    declared = getattr(driver_target(scheme), "driver_options", None)
    return dict(declared) if isinstance(declared, Mapping) else {}


def check_cell_settings(url: RobotUrl, settings: Mapping[str, Any]) -> None:
    """Check the cell's connection settings with the driver of ``url`` (``check_cell_settings``), if it
    has such a check; nothing connects.

    Raises:
        DriverError: a setting the driver rejects (a port out of range, ...).
    """
    check = getattr(driver_target(url.scheme), "check_cell_settings", None)
    if check is not None:
        check(url, settings)


def probe_robot(url: RobotUrl, timeout: float = 3.0) -> None:
    """Check quickly that the controller at ``url`` answers, if its driver can (``probe``): an
    unreachable robot is then reported before a slow planning. Drivers the robot connects to
    (RSI, EGM) have nothing to probe.

    Raises:
        DriverConnectionError: the controller does not answer within ``timeout`` [s].
    """
    probe = getattr(driver_target(url.scheme), "probe", None)
    if probe is not None:
        probe(url, timeout)


def runs_programs(scheme: str) -> bool:
    """Whether the driver of ``scheme`` runs a whole job as one controller program (``execute_program``,
    the cell's program mode)."""
    return callable(getattr(driver_target(scheme), "execute_program", None))


def program_mode_vendors() -> dict[str, str]:
    """URL scheme -> vendor title of the registered drivers that run programs (:func:`runs_programs`),
    for messages. Imports the vendors' drivers."""
    found: dict[str, str] = {}
    for v in vendors().values():
        for scheme in v.drivers:
            try:
                if runs_programs(scheme):
                    found[scheme] = v.title
            except DriverError as err:  # a broken plug-in does not hide the others
                log.warning("driver %r: %s", scheme, err)
    return found


def program_mode_needs() -> str:
    """What the cell's program mode needs, for an error message: ``"it needs a UR robot (ur://HOST)"``."""
    found = program_mode_vendors()
    if not found:
        return "none of the registered robot drivers runs programs"
    titles = " or ".join(sorted(set(found.values())))
    return f"it needs a {titles} robot ({', '.join(f'{s}://HOST' for s in sorted(found))})"


# --- positioners (external servo axes the cell streams in sync with the robot) ----------------

#: Built-in positioner drivers: URL scheme -> "module:attribute" (a class with ``from_url(url)``).
BUILTIN_POSITIONERS: dict[str, str] = {
    "modbus-positioner": "weldcell.drivers.positioner.modbus:ModbusPositioner",
}


def positioner_for_url(url: str, **options: Any) -> PositionerPort:
    """Build (but do not connect) the positioner driver for the scheme of ``url``.

    Args:
        url: Positioner address, e.g. ``modbus-positioner://192.168.0.30:502``.
        **options: Driver settings (``watchdog=0.2``, ...).

    Raises:
        DriverError: an unknown scheme (the message lists the known ones) or a bad address.
    """
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    target = BUILTIN_POSITIONERS.get(scheme)
    if target is None:
        raise DriverError(
            f"positioner address {url!r}: expected SCHEME://HOST[:PORT] with a scheme in "
            f"{', '.join(sorted(BUILTIN_POSITIONERS))}"
        )
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    try:
        return cast("PositionerPort", cls.from_url(url, **options))
    except TypeError as err:
        raise DriverError(f"positioner address {url!r}: the driver rejects the options: {err}") from err


def connect_positioner(url: str, *, timeout: float | None = 5.0, **options: Any) -> PositionerPort:
    """Build the positioner driver for ``url`` (:func:`positioner_for_url`) and connect it."""
    port = positioner_for_url(url, **options)
    port.connect(timeout)
    return port
