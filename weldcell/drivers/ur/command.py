"""``weldcell controller ur``: a virtual UR controller (RTDE, Dashboard, URScript ports), registered in
``plugin.py``."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from weldcell.drivers.command_support import console, warn_remote
from weldcell.errors import WeldcellError

if TYPE_CHECKING:
    from weldcell.kinematics.safety import SafetyLimits


def controller_ur(
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Address to bind (127.0.0.1 or another 127.0.0.N; others need --allow-remote).",
    ),
    allow_remote: bool = typer.Option(
        False,
        "--allow-remote",
        help="Allow a non-loopback --host: anyone on that network can then run URScript and switch outputs.",
    ),
    cb3: bool = typer.Option(
        False, "--cb3", help="Advertise a CB3 controller (3.15, 125 Hz) instead of e-Series."
    ),
    arm: str = typer.Option("", "--arm", help="Arm model (ur3e, ur5e, ur10e, ur16e, ur3, ur5, ur10)."),
    version: str = typer.Option("", "--version", help="Advertised software version, e.g. 5.11.1.108318."),
    power_off: bool = typer.Option(
        False, "--power-off", help="Boot with the arm powered off (as after power-up)."
    ),
    q_home: str = typer.Option(
        "", "--q-home", help="Initial joint positions [rad], six comma-separated numbers."
    ),
    rtde_port: int = typer.Option(30004, "--rtde-port"),
    dashboard_port: int = typer.Option(29999, "--dashboard-port"),
    primary_port: int = typer.Option(30001, "--primary-port"),
    secondary_port: int = typer.Option(30002, "--secondary-port"),
    realtime_port: int = typer.Option(30003, "--realtime-port"),
    program_dir: Path | None = typer.Option(
        None, "--program-dir", help="Folder that dashboard 'load' reads from."
    ),
    arc_loopback: str = typer.Option(
        "", "--arc-loopback", help="DO:DI:DELAY - input DI follows output DO after DELAY s (simulated arc)."
    ),
    safety_config: Path | None = typer.Option(
        None,
        "--safety-config",
        help="YAML file with the safety limits (tool_speed_mm_s, elbow_speed_mm_s, power_w, ...); "
        "default: UR's default safety preset.",
    ),
) -> None:
    """Run a virtual UR controller (RTDE, Dashboard, URScript ports) until Ctrl-C."""
    from weldcell.drivers.bind import check_bind_address
    from weldcell.drivers.realtime import configure_thread
    from weldcell.drivers.ur.virtual.controller import Ports, VirtualController
    from weldcell.drivers.ur.virtual.core import CoreConfig
    from weldcell.drivers.ur.virtual.dashboard_server import TEST_COMMANDS
    from weldcell.drivers.ur.virtual.net import CYCLE_PRIORITY, SERVER_PRIORITY

    if check_bind_address(host, allow_remote, "virtual UR controller"):
        warn_remote(host, "virtual UR controller", "run URScript, move the arm and switch its outputs")

    ver = (3, 15, 7, 106331) if cb3 else (5, 11, 1, 108318)
    if version:
        try:
            parts = tuple(int(x) for x in version.split("."))
        except ValueError as err:
            raise WeldcellError(f"--version {version!r}: expected four numbers like 5.11.1.108318") from err
        if len(parts) != 4:
            raise WeldcellError(f"--version {version!r}: expected four numbers like 5.11.1.108318")
        ver = parts
    loop: tuple[int, int, float] | None = None
    if arc_loopback:
        try:
            do, di, delay = arc_loopback.split(":")
            loop = (int(do), int(di), float(delay))
        except ValueError as err:
            raise WeldcellError(
                f"--arc-loopback {arc_loopback!r}: expected DO:DI:DELAY, e.g. 0:0:0.2"
            ) from err
    from weldcell.drivers.ur.models import ARMS

    arm_name = arm or ("ur5" if ver[0] < 5 else "ur5e")
    if arm_name not in ARMS:
        raise WeldcellError(f"--arm {arm_name!r} is not known; choose from {sorted(ARMS)}")
    home = CoreConfig().q_home
    if q_home:
        try:
            home = tuple(float(x) for x in q_home.split(","))
        except ValueError as err:
            raise WeldcellError(f"--q-home {q_home!r}: expected six numbers in rad, comma-separated") from err
        if len(home) != 6:
            raise WeldcellError(f"--q-home {q_home!r}: expected six joint positions, got {len(home)}")
    safety = _load_safety_config(safety_config, arm_name) if safety_config is not None else None
    config = CoreConfig(
        arm=arm_name, version=ver, powered=not power_off, arc_loopback=loop, q_home=home, safety=safety
    )
    ports = Ports(rtde_port, dashboard_port, primary_port, secondary_port, realtime_port)
    # this process is the controller's own: real-time cycle and server threads, as in the process
    # that start_virtual_controller() spawns (no driver shares its GIL)
    vc = VirtualController(
        host,
        config,
        ports,
        program_dir,
        allow_remote=allow_remote,
        cycle_priority=CYCLE_PRIORITY,
        server_priority=SERVER_PRIORITY,
    )
    configure_thread(SERVER_PRIORITY)  # the waiting main thread, too (it wakes every 0.5 s)
    with vc:
        console.print(
            f"virtual UR controller [bold]{arm_name}[/] (software {'.'.join(map(str, ver))}, "
            f"{round(1 / vc.core.cycle)} Hz) on {host}: RTDE {vc.ports.rtde}, "
            f"dashboard {vc.ports.dashboard}, "
            f"scripts {vc.ports.primary}/{vc.ports.secondary}/{vc.ports.realtime}"
        )
        lim = vc.core.safety.limits
        console.print(
            f"safety configuration: tool {lim.tcp_speed * 1000:.0f} mm/s, "
            f"elbow {lim.elbow_speed * 1000:.0f} mm/s, "
            f"power {lim.power:.0f} W, momentum {lim.momentum:.0f} kg·m/s, stopping time "
            f"{lim.stopping_time * 1000:.0f} ms ({lim.source})"
        )
        console.print("test commands on the dashboard port: " + "; ".join(TEST_COMMANDS))
        console.print("Ctrl-C to stop")
        with contextlib.suppress(KeyboardInterrupt):
            while not vc.wait(0.5):
                pass
    console.print("virtual controller stopped")


def _load_safety_config(path: Path, arm_name: str) -> SafetyLimits:
    """The safety configuration in ``path`` over UR's default preset for ``arm_name``."""
    import yaml

    from weldcell.drivers.ur.models import ARMS
    from weldcell.drivers.ur.virtual.safety import default_for_arm
    from weldcell.kinematics.safety import limits_from_mapping
    from weldcell.program.yamlio import safe_load_yaml

    try:
        data = safe_load_yaml(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise WeldcellError(f"--safety-config {path}: cannot read the file ({err.strerror})") from err
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise WeldcellError(f"--safety-config {path}: not a YAML file ({err})") from err
    limits = limits_from_mapping(data, default_for_arm(ARMS[arm_name]), str(path))  # InvalidValueError
    if limits.joint_speed and len(limits.joint_speed) != 6:
        raise WeldcellError(
            f"{path}: field 'joint_speed_deg_s': expected 6 numbers, got {len(limits.joint_speed)}"
        )
    return limits
