"""``weldcell calibrate tcp|frame|capture-virtual``: TCP and user/part frame calibration of a cell."""

from __future__ import annotations

from pathlib import Path

import typer

from weldcell.cli.common import console, exit_on_error


def _floats(text: str, n: int, option: str) -> list[float]:
    from weldcell.errors import InvalidValueError

    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != n:
        raise InvalidValueError(f"{option} {text!r}: expected {n} comma-separated numbers")
    return values


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
    ) -> None:
        """n-point TCP calibration: the wire tip at one fixed point from >= 4 orientations."""
        with exit_on_error():
            import numpy as np

            from weldcell.cell.calibration import calibrate_tcp, load_points, update_cell_config
            from weldcell.kinematics import load_torch

            pts = load_points(points)
            res = calibrate_tcp(pts)
            nominal = load_torch(torch).T_flange_tcp(stickout_mm * 1e-3)[:3, 3]
            t = res.p_flange_tcp
            console.print(
                f"TCP (flange frame): [{t[0] * 1e3:.3f}, {t[1] * 1e3:.3f}, {t[2] * 1e3:.3f}] mm from "
                f"{pts.q.shape[0]} orientations",
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
            if cell_config is not None:
                update_cell_config(cell_config, tcp_xyz=t)
                console.print(f"written to {cell_config} (calibration.tcp_xyz_mm)", highlight=False)

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
            pts = capture_tcp_points_virtual(
                robot, T_real, np.array(_floats(point_mm, 3, "--point-mm")) * 1e-3, n=n
            )
            t = T_real[:3, 3]
            save_points(
                output,
                pts,
                comment=f"virtual cell, real TCP [{', '.join(f'{v * 1e3:.4f}' for v in t)}] mm (the answer)",
            )
            console.print(f"{n} orientations captured -> {output}", highlight=False)
            console.print(
                f"the virtual torch's real TCP: [{', '.join(f'{v * 1e3:.4f}' for v in t)}] mm (flange frame)",
                highlight=False,
            )
