"""scripts/augment_eval.py: the copies it analyses keep every frame's time, and change each picture as named."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from vision.io.frames import FrameSource
from vision.io.video_out import H264Writer

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "augment_eval.py"


def _script():
    spec = importlib.util.spec_from_file_location("augment_eval", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _clip(path: Path, n: int = 12, fps: float = 12.5) -> None:
    """A clip whose left half is bright and right half dark, with a frame counter in a square that moves."""
    with H264Writer(path, fps, (64, 48)) as w:
        for i in range(n):
            im = np.zeros((48, 64, 3), np.uint8)
            im[:, :32] = 200
            im[20:28, 2 + 4 * i:10 + 4 * i] = 90
            w.write(im)


@pytest.mark.parametrize("aug", ["none", "flip", "half", "dark", "far"])
def test_a_copy_keeps_each_frames_time_and_changes_the_picture_as_named(tmp_path, aug):
    mod = _script()
    src, dst = tmp_path / "a.mp4", tmp_path / "out" / "a.mp4"
    _clip(src)
    assert mod.write_video(src, dst, mod.transform(aug)) == 12
    with FrameSource(src) as a, FrameSource(dst) as b:
        fa, fb = list(a), list(b)
    assert [f.timestamp_s for f in fb] == pytest.approx([f.timestamp_s for f in fa], abs=1e-3)
    first, copy = fa[0].image_bgr.astype(float), fb[0].image_bgr.astype(float)
    if aug == "half":
        assert copy.shape[:2] == (24, 32)
        assert copy[:, :16].mean() > 150 and copy[:, 16:].mean() < 50
    elif aug == "flip":
        assert copy[:, 32:].mean() > 150 and copy[:, :32].mean() < 50
    elif aug == "dark":
        assert copy[:, :32].mean() == pytest.approx(200 * 0.45, abs=6)
    elif aug == "far":  # 0.4 of the size (26 x 19) in the middle of a grey frame of the same size
        assert copy.shape[:2] == (48, 64)
        assert np.abs(copy[:12] - 128).mean() < 3 and np.abs(copy[:, :16] - 128).mean() < 3
        assert copy[16:30, 21:30].mean() > 150 and copy[16:30, 35:44].mean() < 50
    else:
        assert np.abs(copy - first).mean() < 3


def test_an_unknown_change_is_refused():
    with pytest.raises(ValueError, match="unknown --aug"):
        _script().transform("rotate")
