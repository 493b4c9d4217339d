"""``weldcell calibrate tcp|frame|capture-virtual``: TCP and user/part frame calibration of a cell."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from weldcell.cli.common import console, exit_on_error

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from weldcell.spatial.registration import TcpOrientation

    NDArrayF = npt.NDArray[np.float64]


def _floats(text: str, n: int, option: str) -> list[float]:
    from weldcell.errors import InvalidValueError

    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != n:
        raise InvalidValueError(f"{option} {text!r}: expected {n} comma-separated numbers")
    return values


def _print_orientation(orient: TcpOrientation, R_nominal: NDArrayF, torch: str, warn_deg: float) -> None:
    """The measured TCP orientation, its residual and its difference to the torch model's."""
    import numpy as np

    from weldcell.spatial import xyz_rpy_from_se3

    T = np.eye(4)
    T[:3, :3] = orient.R_flange_tcp
    rpy = np.rad2deg(xyz_rpy_from_se3(T)[1])
    D = R_nominal.T @ orient.R_flange_tcp
    angle = float(np.rad2deg(np.arccos(np.clip((np.trace(D) - 1.0) / 2.0, -1.0, 1.0))))
    console.print(
        f"orientation (flange frame): rpy [{', '.join(f'{v:.3f}' for v in rpy)}]°; {angle:.3f}° from the "
        f"nominal {torch} orientation",
        highlight=False,
    )
    err = float(np.rad2deg(orient.orthogonality_error))
    console.print(
        f"orientation residual: x and z measured {err:.3f}° off perpendicular (levers "
        f"{orient.lever_x * 1e3:.1f} / {orient.lever_z * 1e3:.1f} mm)",
        highlight=False,
    )
    if err > warn_deg:
        console.print(
            f"[yellow]warning:[/] the orientation residual {err:.3f}° is above {warn_deg}°: the reference "
            "point was not on the tool's x or z axis; capture the x and z points again (longer levers help)",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Add ``weldcell calibrate`` to ``app``."""
    cal = typer.Typer(help="Calibrate the torch TCP and user/part frames of a cell.", no_args_is_help=True)
    app.add_typer(cal, name="calibrate")

    @cal.command("tcp")
    def tcp_cmd(
        points: Path = typer.Argument(..., help="Points file (weldcell.points/1): >= 4 torch orientations."),
        torch: str = typer.Option(
            "torch_mig_22", "--torch", help="Torch model (its TCP is the nominal one)."
        ),
        stickout_mm: float = typer.Option(
            15.0, "--stickout-mm", help="Wire stick-out of the nominal TCP [mm]."
        ),
        cell_config: Path | None = typer.Option(
            None, "--cell-config", help="Write the calibrated TCP into this cell configuration."
        ),
        warn_mm: float = typer.Option(0.5, "--warn-mm", help="Warn when the RMS residual exceeds this [mm]."),
        warn_deg: float = typer.Option(
            0.3,
            "--warn-deg",
            help="Warn when the measured tool x and z directions are further than this from "
            "perpendicular [deg].",
        ),
    ) -> None:
        """n-point TCP calibration: the wire tip at one fixed point from >= 4 orientations; with a
        point of role x (the reference point on the tool's +x axis) and one of role z (on its +z
        axis), also the TCP orientation."""
        with exit_on_error():
            import numpy as np

            from weldcell.cell.calibration import (
                calibrate_tcp,
                calibrate_tcp_orientation,
                load_points,
                update_cell_config,
            )
            from weldcell.kinematics import load_torch

            pts = load_points(points)
            res = calibrate_tcp(pts)
            orient = calibrate_tcp_orientation(pts, res)
            T_nominal = load_torch(torch).T_flange_tcp(stickout_mm * 1e-3)
            nominal = T_nominal[:3, 3]
            t = res.p_flange_tcp
            console.print(
                f"TCP (flange frame): [{t[0] * 1e3:.3f}, {t[1] * 1e3:.3f}, {t[2] * 1e3:.3f}] mm from "
                f"{len(pts.indices('point'))} orientations",
                highlight=False,
            )
            console.print(
                f"residual: RMS {res.rms * 1e3:.3f} mm, max {res.max_residual * 1e3:.3f} mm; "
                f"fixed point [{', '.join(f'{v * 1e3:.2f}' for v in res.p_base_point)}] mm (base frame)",
                highlight=False,
            )
            diff = t - nominal
            console.print(
                f"difference to the nominal {torch} TCP: [{', '.join(f'{v * 1e3:+.3f}' for v in diff)}] mm "
                f"({np.linalg.norm(diff) * 1e3:.3f} mm)",
                highlight=False,
            )
            if res.rms * 1e3 > warn_mm:
                console.print(
                    f"[yellow]warning:[/] RMS residual {res.rms * 1e3:.3f} mm is above {warn_mm} mm: "
                    "the tip did not meet the point the same way every time; capture again",
                    highlight=False,
                )
            if orient is not None:
                _print_orientation(orient, T_nominal[:3, :3], torch, warn_deg)
            else:
                console.print(
                    "orientation: not measured (no points of role x and z); the torch model's is kept",
                    highlight=False,
                )
            if cell_config is not None:
                rotation = None if orient is None else orient.R_flange_tcp
                update_cell_config(cell_config, tcp_xyz=t, tcp_rotation=rotation)
                fields = "calibration.tcp_xyz_mm" + (", calibration.tcp_rpy_deg" if orient else "")
                console.print(f"written to {cell_config} ({fields})", highlight=False)

    @cal.command("frame")
    def frame_cmd(
        name: str = typer.Argument(..., help="Frame name, stored per cell."),
        points: Path | None = typer.Option(
            None, "--points", help="Points file with 3 points: origin, on +x, in the xy plane."
        ),
        from_log: Path | None = typer.Option(
            None, "--from-log", help="Take the frame from a touch result in this weld log."
        ),
        job: int | None = typer.Option(None, "--job", help="Job of the touch result (default: newest)."),
        part: str | None = typer.Option(None, "--part", help="Touched part (default: the job's first)."),
        cell_config: Path = typer.Option(
            ..., "--cell-config", help="Cell configuration to store the frame in."
        ),
        torch: str = typer.Option("torch_mig_22", "--torch", help="Torch model (nominal TCP)."),
        stickout_mm: float = typer.Option(15.0, "--stickout-mm", help="Wire stick-out [mm]."),
    ) -> None:
        """A user/part frame from 3 points or from a touch result, stored in the cell configuration."""
        with exit_on_error():
            import numpy as np

            from weldcell.cell.calibration import frame_from_points, load_points, update_cell_config
            from weldcell.cell.cellconfig import load_cell_config
            from weldcell.errors import CalibrationError
            from weldcell.kinematics import load_torch
            from weldcell.spatial import xyz_rpy_from_se3

            if (points is None) == (from_log is None):
                raise CalibrationError("give either --points FILE or --from-log LOG")
            if points is not None:
                T_flange_tcp = load_torch(torch).T_flange_tcp(stickout_mm * 1e-3)
                if cell_config.exists():
                    setup = load_cell_config(cell_config)
                    if setup.tcp_xyz is not None:
                        T_flange_tcp = T_flange_tcp.copy()
                        T_flange_tcp[:3, 3] = setup.tcp_xyz
                T = frame_from_points(load_points(points), np.eye(4), T_flange_tcp)
            else:
                from weldcell.cell.weldlog import WeldLog

                assert from_log is not None  # mypy
                with WeldLog(from_log, readonly=True) as log:
                    job_id = job if job is not None else log.latest_job().id
                    recs = [r for r in log.part_offsets(job_id) if part is None or r.part == part]
                if not recs:
                    raise CalibrationError(f"{from_log}: job {job_id} has no touch result for part {part!r}")
                T = np.array(recs[0].T_world_part, dtype=np.float64)
            update_cell_config(cell_config, frame=(name, T))
            xyz, rpy = xyz_rpy_from_se3(T)
            console.print(
                f"frame {name!r}: xyz [{', '.join(f'{v * 1e3:.3f}' for v in xyz)}] mm, "
                f"rpy [{', '.join(f'{np.rad2deg(v):.4f}' for v in rpy)}]° -> {cell_config}",
                highlight=False,
            )

    @cal.command("capture-virtual")
    def capture_cmd(
        output: Path = typer.Argument(..., help="Points file to write."),
        robot: str = typer.Option("ur5e", "--robot", help="Robot model."),
        torch: str = typer.Option("torch_mig_22", "--torch", help="Torch model."),
        stickout_mm: float = typer.Option(15.0, "--stickout-mm", help="Wire stick-out [mm]."),
        point_mm: str = typer.Option(
            "450,100,150", "--point-mm", help="Reference point x,y,z [mm], base frame."
        ),
        tcp_error_mm: str = typer.Option(
            "0,0,0", "--tcp-error-mm", help="Real TCP error x,y,z [mm], flange."
        ),
        tcp_error_deg: str = typer.Option("0,0,0", "--tcp-error-deg", help="Real TCP rotation error [deg]."),
        n: int = typer.Option(6, "--n", help="Number of orientations (>= 4)."),
        orientation: bool = typer.Option(
            False,
            "--orientation/--position-only",
            help="Also capture the x and z points of the TCP orientation.",
        ),
        lever_mm: float = typer.Option(
            100.0, "--lever-mm", help="Distance of the x and z points' tip from the reference point [mm]."
        ),
    ) -> None:
        """Capture TCP points on the virtual cell, whose torch has a known TCP error."""
        with exit_on_error():
            import numpy as np

            from weldcell.cell.calibration import capture_tcp_points_virtual, save_points, tcp_with_error
            from weldcell.kinematics import load_torch

            T_nom = load_torch(torch).T_flange_tcp(stickout_mm * 1e-3)
            T_real = tcp_with_error(
                T_nom,
                np.array(_floats(tcp_error_mm, 3, "--tcp-error-mm")) * 1e-3,
                np.deg2rad(_floats(tcp_error_deg, 3, "--tcp-error-deg")),
            )
            if not 10.0 <= lever_mm <= 500.0:
                from weldcell.errors import InvalidValueError

                raise InvalidValueError(f"--lever-mm {lever_mm}: expected 10 to 500 mm")
            pts = capture_tcp_points_virtual(
                robot,
                T_real,
                np.array(_floats(point_mm, 3, "--point-mm")) * 1e-3,
                n=n,
                orientation=orientation,
                lever=lever_mm * 1e-3,
            )
            t = T_real[:3, 3]
            save_points(
                output,
                pts,
                comment=f"virtual cell, real TCP [{', '.join(f'{v * 1e3:.4f}' for v in t)}] mm (the answer)",
            )
            from weldcell.spatial import xyz_rpy_from_se3

            rpy = np.rad2deg(xyz_rpy_from_se3(T_real)[1])
            extra = " + x and z points" if orientation else ""
            console.print(f"{n} orientations{extra} captured -> {output}", highlight=False)
            console.print(
                f"the virtual torch's real TCP: [{', '.join(f'{v * 1e3:.4f}' for v in t)}] mm, "
                f"rpy [{', '.join(f'{v:.4f}' for v in rpy)}]° (flange frame)",
                highlight=False,
            )
