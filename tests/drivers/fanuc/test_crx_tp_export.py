"""TP export of a CRX-10iA/L trajectory: the file parses with our strict LS grammar, and every /POS
read back through the taught frames is the planned faceplate pose (FK) with the planned branch's
configuration string and FANUC turn numbers (from the controller joints of the CRX's convention)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from stamp_helpers import stamp_for_test
from test_joints import crx_fk_fanuc_convention
from test_tp_export import parse_ls

from weldcell.drivers.base import joint_move
from weldcell.drivers.fanuc.joints import controller_deg_from_q, joint_map, pose_from_xyzwpr
from weldcell.drivers.fanuc.tp_export import export_tp
from weldcell.trajectory import save_trajectory


def test_crx_joint_program_round_trip(tmp_path: Path) -> None:
    m = joint_map("crx10ial")
    # controller joints [deg]: J6 beyond -180° (turn number -1) and a wrist flip between the two ends
    a_deg = np.array([30.0, 10.0, -20.0, 15.0, -70.0, 40.0])
    b_deg = np.array([170.0, -15.0, 25.0, -40.0, 60.0, -200.0])
    qa, qb = np.radians(np.linalg.solve(m.matrix(), a_deg)), np.radians(np.linalg.solve(m.matrix(), b_deg))
    traj = joint_move("crx10ial", qa, qb, 0.008, speed_fraction=0.5)
    p = tmp_path / "crx.npz"
    save_trajectory(traj, p)
    stamp_for_test(p, traj)
    s = export_tp(p, tmp_path / "CRXJ.LS", stamp_key=None)
    _tree, pos = parse_ls((tmp_path / "CRXJ.LS").read_text(encoding="ascii"))
    assert len(pos) >= 2
    T_fworld_uf = pose_from_xyzwpr(np.array(s.uframe_xyzwpr))
    T_face_tcp = pose_from_xyzwpr(np.array(s.utool_xyzwpr))
    for lp in pos.values():
        deg = controller_deg_from_q(traj.q[lp.index], m)
        # the position read back = the faceplate by the URDF FK in FANUC's convention (world at J2)
        T_fworld_face = crx_fk_fanuc_convention(deg)
        T_fworld_face[2, 3] -= 0.245
        T_read = T_fworld_uf @ pose_from_xyzwpr(lp.xyzwpr) @ np.linalg.inv(T_face_tcp)
        np.testing.assert_allclose(T_read[:3, 3], T_fworld_face[:3, 3], atol=1e-4)
        np.testing.assert_allclose(T_read[:3, :3], T_fworld_face[:3, :3], atol=1e-4)
        assert lp.turns == tuple(int(np.floor((deg[i] + 180.0) / 360.0)) for i in (0, 3, 5))
    last = pos[max(pos)]
    assert last.index == traj.n_samples - 1 and last.turns == (0, 0, -1)
    assert pos[1].config != last.config  # J5 changed sign: N <-> F
