"""The outputs of a run folder: H.264 writer, CJK text, render, clips and privacy (the report: test_report.py).

Synthetic run folders (``synthetic_run.py``) give answers known by
construction; tests marked ``real`` run MediaPipe on ../shared/media.
"""
from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import synthetic_run as syn
from vision import cli_outputs
from vision.review.clips import ClipOptions, ClipsError, clip_name, clip_names, clip_window, make_clips, select_events
from vision.io.events import read_events
from vision.review.overlay import make_layout
from vision.review.privacy import FaceBlurrer, boxes_to_blur, subject_box
from vision.review.render import RenderOptions, render
from vision.io.run_meta import read_run_json
from vision.io.run_folder import RunFolderError, SubjectPoints, active_events, load_run
from vision.review.text import CANDIDATES, FontMissing, TextPainter, find_cjk_font, glyph_mask
from vision.io.video_out import H264Writer, fps_fraction

REPO = Path(__file__).resolve().parent.parent
MEDIA = REPO.parent / "shared" / "media"
needs_font = pytest.mark.skipif(not any(Path(p).is_file() for p in CANDIDATES),
                                reason="no CJK font: apt-get install -y fonts-wqy-microhei")


def probe(path: Path) -> dict:
    """Codec, pixel format, frame count (decoded), rate and size of a video, read back with PyAV."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frames = sum(1 for _ in c.decode(video=0))
        return {"codec": s.codec_context.name, "pix_fmt": s.codec_context.pix_fmt, "frames": frames,
                "rate": s.average_rate, "size": (s.width, s.height), "duration_s": frames / s.average_rate}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return syn.make_run(tmp_path_factory.mktemp("runs") / "run")


# --- H.264 writer ---------------------------------------------------------------------
def test_fps_is_kept_as_a_fraction():
    """29.97 stays 30000/1001 and a GIF's 16.67 stays 50/3: never rounded to a whole number."""
    assert fps_fraction(30000 / 1001) == Fraction(30000, 1001)
    assert fps_fraction(16.666666666666668) == Fraction(50, 3)
    assert fps_fraction(25.0) == 25


def test_h264_writer_round_trip(tmp_path):
    """Written frames come back as H.264 yuv420p with the same count, size and frame rate."""
    path = tmp_path / "t.mp4"
    with H264Writer(path, 30000 / 1001, (64, 48)) as w:
        for i in range(12):
            w.write(np.full((48, 64, 3), 20 * i, np.uint8))
    p = probe(path)
    assert (p["codec"], p["pix_fmt"], p["frames"], p["size"]) == ("h264", "yuv420p", 12, (64, 48))
    assert p["rate"] == Fraction(30000, 1001)
    assert not list(tmp_path.glob("*.part.mp4"))


def test_h264_writer_refuses_odd_size_and_drops_a_failed_file(tmp_path):
    """yuv420p needs even sides; an exception inside the block leaves no file behind."""
    with pytest.raises(ValueError, match="even"):
        H264Writer(tmp_path / "odd.mp4", 25, (65, 48))
    with pytest.raises(RuntimeError):
        with H264Writer(tmp_path / "x.mp4", 25, (64, 48)) as w:
            w.write(np.zeros((48, 64, 3), np.uint8))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


# --- CJK text ---------------------------------------------------------------------------
@needs_font
def test_chinese_banner_text_is_really_drawn():
    """Chinese changes the banner's pixels, and two different strings draw differently (not as boxes)."""
    painter = TextPainter()
    empty = np.zeros((40, 300, 3), np.uint8)
    a, b = empty.copy(), empty.copy()
    painter.draw(a, "用手触摸面部", (4, 4), 22)
    painter.draw(b, "身体后仰靠在椅背上", (4, 4), 22)
    assert (a != empty).any(axis=2).sum() > 100
    assert not np.array_equal(a, b)
    font = painter.font(22)
    assert not np.array_equal(glyph_mask(font, "用"), glyph_mask(font, "坐"))


def test_missing_cjk_font_is_a_one_line_error(monkeypatch):
    """No CJK font on the system: one line naming the Debian package."""
    monkeypatch.delenv("CONDUCT_COACH_FONT", raising=False)
    monkeypatch.setattr("vision.review.text.CANDIDATES", ["/nonexistent/font.ttc"])
    monkeypatch.setattr("vision.review.text.fontconfig_cjk_fonts", lambda: [])
    with pytest.raises(FontMissing) as exc:
        find_cjk_font()
    assert "fonts-wqy-microhei" in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.skipif(not Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").is_file(), reason="no DejaVu font")
def test_font_without_chinese_glyphs_is_refused():
    """A Latin-only font would draw every Chinese character as the same box: refused."""
    with pytest.raises(FontMissing, match="no Chinese glyphs"):
        TextPainter("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


# --- landmarks on video frames -------------------------------------------------------------
def test_video_frame_uses_nearest_analysed_frame_at_or_before(run_dir):
    """Analysed every 3rd frame: video frame 4 shows frame 3's landmarks, 2 shows 0's; none once stale."""
    run = load_run(run_dir, need_source=False)
    pts = SubjectPoints(run.track, run.pixels)
    assert [pts.analysed_frame(i) for i in (0, 1, 2, 3, 4, 5, 6)] == [0, 0, 0, 3, 3, 3, 6]
    assert pts.analysed_frame(42 + pts.stale_frames + 1) is None
    assert pts.at_video_frame(4).frame_index == 3


def test_active_events_span_is_inclusive(run_dir):
    """An event is shown from its start frame through its end frame, inclusive."""
    evs = [e for e in read_events(run_dir / "events.jsonl") if e.rule == "gesture.face_touch"]
    assert [e.start_frame for e in active_events(evs, 21)] == [9]
    assert active_events(evs, 24) == [] and active_events(evs, None) == []


# --- render ---------------------------------------------------------------------------------
@needs_font
def test_render_round_trip(run_dir, tmp_path):
    """The annotated video is H.264, as long as the source, at its frame rate, in the layout's size."""
    res = render(run_dir, RenderOptions(out=tmp_path / "a.mp4", privacy="off"))
    p = probe(res.path)
    layout = make_layout((syn.W, syn.H), 2)  # face touch and smile overlap: two banner lines
    assert (p["codec"], p["pix_fmt"]) == ("h264", "yuv420p")
    assert p["frames"] == syn.N_FRAMES == res.frames
    assert p["rate"] == 15 and p["duration_s"] == pytest.approx(syn.N_FRAMES / syn.FPS)
    assert p["size"] == layout.frame_wh
    assert read_run_json(run_dir)["outputs"]["annotated"] == str((tmp_path / "a.mp4").resolve())


@needs_font
def test_render_banner_changes_with_the_active_rules(run_dir, tmp_path):
    """The banner under the picture differs between a frame with no rule active and one with two."""
    res = render(run_dir, RenderOptions(out=tmp_path / "a.mp4", privacy="off"))
    layout = make_layout((syn.W, syn.H), 2)
    with av.open(str(res.path)) as c:
        frames = [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]
    banner = slice(layout.video_wh[1], layout.video_wh[1] + 2 * layout.line_h)
    idle, busy = frames[31][banner], frames[15][banner]  # 31: nothing active; 15: face touch + smile
    assert np.abs(idle.astype(int) - busy.astype(int)).max() > 100


@needs_font
def test_render_still_image_gives_png(tmp_path):
    """A still image's run renders to an annotated PNG of the layout's size."""
    d = syn.make_run(tmp_path / "still", [syn.event("gesture.face_touch", 0, 0)], still=True)
    res = render(d, RenderOptions(privacy="off"))
    img = cv2.imread(str(res.path))
    assert res.path.name == "annotated.png" and img.shape[1::-1] == make_layout((syn.W, syn.H), 1).frame_wh


def test_render_says_when_the_source_is_gone(tmp_path):
    """A moved source video is a one-line user error suggesting --video."""
    d = syn.make_run(tmp_path / "gone")
    Path(json.loads((d / "run.json").read_text())["input"]["path"]).unlink()
    with pytest.raises(RunFolderError, match="--video"):
        render(d, RenderOptions(privacy="off"))


# --- clips -----------------------------------------------------------------------------------
def test_clip_names_sort_by_time_then_rule():
    """Zero-padded start seconds, then the rule id; unsafe characters replaced, duplicates numbered."""
    e = syn.event("gesture.face_touch", 48, 60, fps=15.0)
    assert clip_name(e) == "0003.20s_gesture.face_touch.mp4"
    bad = syn.event("../<b>x", 0, 3)
    assert clip_name(bad) == "0000.00s_b_x.mp4"
    evs = [syn.event("a", 0, 3), syn.event("a", 0, 3), syn.event("b", 150, 160, fps=1.0)]
    names = clip_names(evs, duration_s=12000.0)
    assert names == ["00000.00s_a.mp4", "00000.00s_a_2.mp4", "00150.00s_b.mp4"] and names == sorted(names)


def test_clip_window_is_pre_event_post_clipped_to_the_video():
    """The window runs pre-roll before the start to post-roll after the (inclusive) end, within the video."""
    e = syn.event("r", 30, 36)
    assert clip_window(e, 15.0, 45, 1.0, 0.4) == (15, 42)
    assert clip_window(e, 15.0, 40, 3.0, 2.0) == (0, 39)


def test_select_events_by_rule_severity_duration_and_cap():
    """Filters combine; violations only unless kinds say otherwise; --max-per-rule keeps the longest;
    an unknown rule gets a suggestion."""
    evs = [syn.event("gesture.face_touch", 0, 6), syn.event("gesture.face_touch", 20, 40),
           syn.event("gesture.eating", 10, 30, severity="high"), syn.event("face.smile", 0, 40, kind="desired")]
    pick = lambda **kw: [(e.rule, e.start_frame) for e in select_events(evs, ClipOptions(**kw))]  # noqa: E731
    assert pick(rules=["gesture.*"]) == [("gesture.face_touch", 0), ("gesture.eating", 10), ("gesture.face_touch", 20)]
    assert pick(severities=["high"]) == [("gesture.eating", 10)]
    assert pick(min_duration_s=1.0) == [("gesture.eating", 10), ("gesture.face_touch", 20)]
    assert pick(min_duration_s=1.0, kinds=()) == [("face.smile", 0), ("gesture.eating", 10),
                                                  ("gesture.face_touch", 20)]
    assert pick(rules=["gesture.face_touch"], max_per_rule=1) == [("gesture.face_touch", 20)]
    assert pick(kinds=["desired"]) == [("face.smile", 0)]
    with pytest.raises(ClipsError, match="did you mean gesture.face_touch"):
        pick(rules=["gesture.face_tuch"])


@needs_font
def test_clips_round_trip(run_dir, tmp_path):
    """Each clip is H.264, lasts pre + event + post (clipped to the video), in the layout's size."""
    pre, post = 1.0, 0.5
    res = make_clips(run_dir, ClipOptions(out_dir=tmp_path / "clips", pre_s=pre, post_s=post, privacy="off",
                                          kinds=()))
    names = [c.path.name for c in res.clips]
    assert names == ["0000.00s_face.smile.mp4", "0000.60s_gesture.face_touch.mp4", "0002.20s_gesture.face_touch.mp4"]
    size = make_layout((syn.W, syn.H), 3).frame_wh
    video_s = syn.N_FRAMES / syn.FPS
    for c in res.clips:
        e, p = c.event, probe(c.path)
        expected = min(e.end_s + 1 / syn.FPS + post, video_s) - max(e.start_s - pre, 0.0)
        assert (p["codec"], p["pix_fmt"], p["size"]) == ("h264", "yuv420p", size)
        assert p["duration_s"] == pytest.approx(expected, abs=1.01 / syn.FPS), c.path.name  # pre, post rounded to frames
        assert p["frames"] == c.frames
    index = json.loads((tmp_path / "clips" / "clips.json").read_text(encoding="utf-8"))
    assert [c["file"] for c in index["clips"]] == names


@needs_font
def test_clip_marks_the_offending_moment(run_dir, tmp_path):
    """While the event holds, the touched region is outlined in the event's colour; before it, not."""
    res = make_clips(run_dir, ClipOptions(out_dir=tmp_path, rules=["gesture.face_touch"], max_per_rule=1,
                                          pre_s=0.6, post_s=0.0, privacy="off", kinds=["violation"]))
    clip = next(c for c in res.clips if c.event.start_frame == 9)
    layout = make_layout((syn.W, syn.H), 3)
    with av.open(str(clip.path)) as c:
        frames = [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]
    orange = np.array([36, 146, 240])  # medium severity, BGR

    def orange_px(img):
        v = img[:layout.video_wh[1]].astype(int)
        return int((np.abs(v - orange).sum(axis=2) < 60).sum())

    before, peak = frames[0], frames[clip.event.peak["frame"] - clip.first_frame]
    assert orange_px(peak) > 10 * max(1, orange_px(before))


def test_clips_with_no_matching_event_write_an_empty_index(run_dir, tmp_path):
    res = make_clips(run_dir, ClipOptions(out_dir=tmp_path, severities=["high"], privacy="off"))
    assert res.clips == [] and json.loads((tmp_path / "clips.json").read_text())["clips"] == []


# --- privacy ------------------------------------------------------------------------------------
def test_subject_face_is_the_box_holding_the_subject_landmarks():
    boxes = np.array([[0, 0, 10, 10], [50, 50, 70, 70]], np.float32)
    pts = np.array([[55, 60], [65, 58], [2, 2]], np.float32)
    assert subject_box(boxes, pts) == 1
    assert subject_box(boxes, np.zeros((0, 2), np.float32)) is None
    assert subject_box(boxes, np.array([[200, 200]], np.float32)) is None


def test_blur_modes():
    """auto blurs only when several faces are in frame; others always; off never; unknown subject: all."""
    assert boxes_to_blur(1, None, "auto") == [] and boxes_to_blur(3, 1, "auto") == [0, 2]
    assert boxes_to_blur(2, None, "auto") == [0, 1]
    assert boxes_to_blur(1, None, "others") == [0] and boxes_to_blur(1, 0, "others") == []
    assert boxes_to_blur(3, 0, "off") == []


def test_blurrer_hides_the_bystander_and_keeps_the_subject(run_dir):
    """With a stand-in detector: the box holding the subject's face points is untouched, the other blurred."""
    run = load_run(run_dir, need_source=False)
    pts = SubjectPoints(run.track, run.pixels).at_video_frame(0)
    subject = [0.42 * syn.W, 0.2 * syn.H, 0.58 * syn.W, 0.4 * syn.H]  # around the face ring at (0.5, 0.3)
    other = [0.05 * syn.W, 0.05 * syn.H, 0.25 * syn.W, 0.35 * syn.H]

    class Fake:
        def detect(self, _img):
            return np.array([subject, other], np.float32), np.array([0.9, 0.9], np.float32)

        def close(self):
            pass

    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (syn.H, syn.W, 3), dtype=np.uint8)
    out = img.copy()
    with FaceBlurrer("auto", detector_factory=Fake) as b:
        assert b.apply(out, pts) == 1
    sx0, sy0, sx1, sy1 = (int(v) for v in subject)
    ox0, oy0, ox1, oy1 = (int(v) for v in other)
    assert np.array_equal(out[sy0 + 4:sy1 - 4, sx0 + 12:sx1 - 4], img[sy0 + 4:sy1 - 4, sx0 + 12:sx1 - 4])
    assert out[oy0:oy1, ox0:ox1].std() < 0.5 * img[oy0:oy1, ox0:ox1].std()


# --- command line ----------------------------------------------------------------------------------------
def test_cli_user_errors_are_one_line(tmp_path, capsys):
    """A missing run folder: exit 2 and one line on stderr, no traceback."""
    assert cli_outputs.main(["render", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err
    assert all(issubclass(c, Exception) for c in cli_outputs.USER_ERRORS)


def test_register_adds_three_commands():
    import argparse

    p = argparse.ArgumentParser()
    handlers = cli_outputs.register(p.add_subparsers(dest="command"))
    assert sorted(handlers) == ["clips", "render", "report"]
    args = p.parse_args(["clips", "RUN", "--pre", "1", "--rule", "gesture.*", "--max-per-rule", "2"])
    assert (args.pre, args.rule, args.max_per_rule) == (1.0, ["gesture.*"], 2)


# --- real models and media ------------------------------------------------------------------------------
def _analyze(src: Path, out: Path) -> Path:
    subprocess.run([sys.executable, "-m", "vision", "analyze", str(src), "--out", str(out), "--quiet"],
                   cwd=REPO, check=True, capture_output=True)
    return out


@pytest.mark.real
@needs_font
def test_real_gif_render_clips_report(tmp_path):
    """On the chin-on-hands GIF: the face-touch clip exists, is H.264 and the report links it."""
    src = MEDIA / "face_touch" / "woman_chin_on_hands_then_hand_on_head.gif"
    if not src.is_file():
        pytest.skip(f"{src} missing")
    d = _analyze(src, tmp_path / "gif")
    assert cli_outputs.main(["render", str(d), "--quiet"]) == 0
    p = probe(d / "annotated.mp4")
    info = json.loads((d / "run.json").read_text())
    assert p["codec"] == "h264" and p["rate"] == fps_fraction(info["input"]["fps"])
    assert p["frames"] == info["input"]["frame_count"]
    assert cli_outputs.main(["clips", str(d), "--rule", "gesture.face_touch", "--quiet"]) == 0
    clips = sorted((d / "clips").glob("*_gesture.face_touch.mp4"))
    assert clips and probe(clips[0])["codec"] == "h264"
    assert cli_outputs.main(["report", str(d)]) == 0
    assert f'href="clips/{clips[0].name}"' in (d / "report.html").read_text(encoding="utf-8")


@pytest.mark.real
@needs_font
def test_real_bystander_faces_are_blurred_subject_kept(tmp_path):
    """Three people in a photo: the two faces that are not the subject's lose their detail; the subject's stays."""
    src = MEDIA / "standing" / "three_business_people_standing.jpg"
    if not src.is_file():
        pytest.skip(f"{src} missing")
    from vision.detect.face_boxes import FaceBoxDetector
    from vision.review.privacy import subject_points

    d = _analyze(src, tmp_path / "three")
    run = load_run(d)
    image = cv2.imread(str(src))
    with FaceBoxDetector() as det:
        boxes, _ = det.detect(image)
    assert len(boxes) >= 2
    subj = subject_box(boxes, subject_points(SubjectPoints(run.track, run.pixels).at_video_frame(0)))
    assert subj is not None
    out = image.copy()
    with FaceBlurrer("auto") as b:
        b.apply(out, SubjectPoints(run.track, run.pixels).at_video_frame(0))

    def sharp(img, box):
        x0, y0, x1, y1 = (int(v) for v in box)
        return cv2.Laplacian(cv2.cvtColor(img[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()

    for i, box in enumerate(boxes):
        if i == subj:
            assert sharp(out, box) == pytest.approx(sharp(image, box))
        else:
            assert sharp(out, box) < 0.2 * sharp(image, box)


def test_a_briefly_missed_bystander_face_stays_blurred():
    """The detector loses the bystander for a frame: their last box is still blurred, for hold_frames only."""
    subject, other = [60, 20, 100, 60], [5, 5, 40, 45]
    found = {0: [subject, other], 1: [subject], 2: [subject], 9: [subject]}

    class Fake:
        frame = 0

        def detect(self, _img):
            return np.array(found[Fake.frame], np.float32).reshape(-1, 4), np.ones(len(found[Fake.frame]))

        def close(self):
            pass

    pts = np.array([[80, 40], [75, 35]], np.float32)
    points = type("P", (), {"face_xy": pts, "pose_xy": np.full((33, 2), np.nan, np.float32)})()
    blurred = {}
    with FaceBlurrer("auto", detector_factory=Fake, hold_frames=3) as b:
        for f in (0, 1, 2, 9):
            Fake.frame = f
            blurred[f] = b.apply(np.zeros((80, 120, 3), np.uint8), points, f)
    assert blurred == {0: 1, 1: 1, 2: 1, 9: 0}


def test_clips_default_to_violations_and_all_means_every_kind():
    """`clips` without --kind cuts violations only; --kind all (or a list) brings desired states back."""
    from vision.cli_outputs import _kinds

    assert _kinds([]) == ("violation",) and _kinds(["all"]) == () and _kinds(["desired"]) == ("desired",)
    assert _kinds(["desired", "violation", "desired"]) == ("desired", "violation")
