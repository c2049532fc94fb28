"""Outputs of a roleplay run (several tracked people): privacy by track, the customer drawn, the people strip.

Built on synthetic run folders (``synthetic_run.make_people_run``): the
trainee (id 2, face mesh) in the middle, the customer (id 5, pose only) on
the right, a bystander (id 7, pose only) on the left whose face points the
pose model stops seeing from frame 24 on. Every face in the video is a patch
of fine texture, so blurring shows as lost detail. The face detector is
replaced by one that finds nothing: what is blurred here is blurred by track.
"""
from __future__ import annotations

import base64
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

import synthetic_run as syn
from vision.io.run_folder import load_run, track_pixels
from vision.review import privacy
from vision.review.render import RenderOptions, render
from vision.review.report import ReportOptions, build_report

SUBJECT, CUSTOMER, OTHER = syn.TRIO


class NoFaces:
    """A face detector that finds nothing: only the tracks can blur."""

    def __init__(self, *_a, **_k):
        pass

    def detect(self, _img):
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)

    def close(self):
        pass


@pytest.fixture(autouse=True)
def no_face_detector(monkeypatch):
    import vision.detect.face_boxes as fb
    monkeypatch.setattr(fb, "FaceBoxDetector", NoFaces)


@pytest.fixture(scope="module")
def people_run(tmp_path_factory) -> Path:
    evs = [syn.event("gesture.face_touch", 9, 21, person=SUBJECT.id),
           syn.event("gesture.face_touch", 30, 40, person=CUSTOMER.id)]
    return syn.make_people_run(tmp_path_factory.mktemp("people") / "run", events=evs)


def sharpness(img: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def read_video(path: Path) -> list:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    return frames


def face_patch(frame: np.ndarray, actor, scale: float) -> np.ndarray:
    x0, y0, x1, y1 = (int(round(v * scale)) for v in syn.head_box_px(actor))
    return frame[y0:y1, x0:x1]


def test_head_box_from_pose_face_points_covers_the_head_and_needs_a_face_point():
    """Pose-only head box: holds the face the points belong to, is wider than the ears; no face point: no box."""
    pose = np.full((33, 2), np.nan, np.float32)
    pose[[0, 2, 5, 7, 8, 9, 10]] = [(100, 100), (95, 95), (105, 95), (88, 98), (112, 98), (96, 108), (104, 108)]
    pose[[11, 12]] = [(70, 150), (130, 150)]
    face = np.full((478, 2), np.nan, np.float32)
    box = privacy.head_box(pose, face)
    assert box[0] < 88 - 5 and box[2] > 112 + 5  # wider than ear to ear
    assert box[1] < 95 - 15 and box[3] > 108 + 10  # hair above the eyes, chin below the mouth
    no_face = pose.copy()
    no_face[:11] = np.nan
    assert privacy.head_box(no_face, face) is None


def test_track_pixels_drop_pose_points_seen_below_visibility(people_run):
    """A bystander's face points located with low visibility are NaN in pixels, so no head box is made from them."""
    run = load_run(people_run)
    pose, _ = track_pixels(run.tracks[OTHER.id])
    row_seen, row_unseen = 0, int(np.searchsorted(run.track.frame_index, 24))
    face_points = [0, 2, 5, 7, 8, 9, 10]  # the ones the builder places
    assert np.isfinite(pose[row_seen, face_points, 0]).all()
    assert np.isnan(pose[row_unseen, :11, 0]).all() and np.isfinite(pose[row_unseen, 11:13, 0]).all()


@pytest.mark.parametrize("hold_s,held", [(2.0, True), (0.3, False)])
def test_render_blurs_the_other_faces_by_track_and_keeps_the_trainees(people_run, tmp_path, monkeypatch, hold_s, held):
    """Rendered frames: the customer's and the bystander's faces lose their detail, the trainee's keeps it.
    Once the bystander's face points are no longer seen (last at 1.4 s) their face stays blurred where it was
    for HOLD_S (a short occlusion), and after that it is not blurred on a guess."""
    monkeypatch.setattr("vision.review.privacy.HOLD_S", hold_s)
    res = render(people_run, RenderOptions(out=tmp_path / "a.mp4", privacy="auto"))
    frames = read_video(res.path)
    source = read_video(load_run(people_run).source)
    assert len(frames) == len(source) == syn.N_FRAMES
    scale = 360 / syn.H  # the video area of an output frame is the source scaled to 360 px high
    for i in (3, 12, 21, 30, 42):
        src = cv2.resize(source[i], None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        ratio = {a.role: sharpness(face_patch(frames[i], a, scale)) / sharpness(face_patch(src, a, scale))
                 for a in syn.TRIO}
        assert ratio["trainee"] > 0.6, (i, ratio)
        assert ratio["customer"] < 0.15, (i, ratio)
        if i < 24 or held:
            assert ratio["other"] < 0.15, (i, ratio)
        else:  # frames 30 and 42: 0.6 s and 1.4 s after the last sight, beyond a 0.3 s hold
            assert ratio["other"] > 0.6, (i, ratio)


def test_privacy_off_blurs_no_tracked_face(people_run, tmp_path):
    """--privacy off: the tracked people's faces keep their detail."""
    res = render(people_run, RenderOptions(out=tmp_path / "off.mp4", privacy="off"))
    frame = read_video(res.path)[12]
    src = read_video(load_run(people_run).source)[12]
    scale = 360 / syn.H
    src = cv2.resize(src, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    assert sharpness(face_patch(frame, CUSTOMER, scale)) > 0.6 * sharpness(face_patch(src, CUSTOMER, scale))


def test_a_single_person_run_has_no_tracked_faces(tmp_path):
    """One person in the cache (single-person and old runs): only the detector's net acts, as before."""
    run = load_run(syn.make_run(tmp_path / "one"))
    assert not privacy.TrackedFaces.of_run(run)


def test_the_subjects_face_is_never_blurred_even_under_anothers_box():
    """Another person's padded head box overlapping the subject's face: the subject's face pixels are kept."""
    img = np.random.default_rng(0).integers(0, 255, (100, 100, 3), dtype=np.uint8)
    out = img.copy()
    subject_pts = np.array([[40, 40], [60, 40], [50, 60]], np.float32)
    privacy.pixelate(out, np.array([[30, 20, 90, 80]], np.float32), keep=privacy.tight_face_box(subject_pts))
    assert np.array_equal(out[40:60, 40:60], img[40:60, 40:60])
    assert out[20:80, 75:90].std() < 0.5 * img[20:80, 75:90].std()


def test_render_draws_the_customer_skeleton_in_its_own_colour(people_run, tmp_path):
    """The customer's shoulder line is drawn in the customer colour; nothing is drawn for the bystander."""
    res = render(people_run, RenderOptions(out=tmp_path / "c.mp4", privacy="off"))
    frame = read_video(res.path)[6].astype(int)
    scale = 360 / syn.H
    colour = np.array(privacy_free_customer_bgr())

    def near_colour(x0, x1, y):
        band = frame[int(y * scale) - 2:int(y * scale) + 3, int(x0 * scale):int(x1 * scale)]
        return int((np.abs(band - colour).sum(-1) < 120).sum())

    y = 0.5 * syn.H  # shoulders
    customer = near_colour((0.42 + CUSTOMER.dx) * syn.W, (0.58 + CUSTOMER.dx) * syn.W, y)
    bystander = near_colour((0.42 + OTHER.dx) * syn.W, (0.58 + OTHER.dx) * syn.W, y)
    assert customer > 10 and bystander == 0, (customer, bystander)


def privacy_free_customer_bgr():
    from vision.review.overlay import CUSTOMER_BGR
    return CUSTOMER_BGR


def _thumbs(page: str) -> dict:
    out = {}
    for m in re.finditer(r'<figure class="person (\w+)" data-person="(\d+)" data-role="(\w+)">'
                         r'<img class="person-thumb" alt="[^"]*" src="data:image/jpeg;base64,([^"]+)">', page):
        img = cv2.imdecode(np.frombuffer(base64.b64decode(m.group(4)), np.uint8), cv2.IMREAD_COLOR)
        out[int(m.group(2))] = (m.group(3), img)
    return out


def test_report_opens_with_a_labelled_thumbnail_per_person_faces_blurred_but_the_trainees(people_run):
    """One thumbnail per person, trainee first, labelled in zh and en; the trainee's face keeps its detail,
    the customer's and the bystander's are blurred."""
    page = build_report(people_run, ReportOptions(privacy="auto")).read_text(encoding="utf-8")
    assert page.index("People 人物") < page.index("Rules 规则")
    thumbs = _thumbs(page)
    assert {pid: role for pid, (role, _) in thumbs.items()} == {2: "trainee", 5: "customer", 7: "other"}
    assert list(thumbs) == [SUBJECT.id, CUSTOMER.id, OTHER.id]
    for label in ("学员 trainee", "客户 customer", "其他 other"):
        assert label in page

    def detail(img):  # the texture of a face is the sharpest thing in a crop
        return max(sharpness(img[y:y + 16, x:x + 16]) for y in range(0, img.shape[0] - 16, 8)
                   for x in range(0, img.shape[1] - 16, 8))

    d = {pid: detail(img) for pid, (_, img) in thumbs.items()}
    assert d[SUBJECT.id] > 5 * d[CUSTOMER.id] and d[SUBJECT.id] > 5 * d[OTHER.id], d


def test_report_rerun_command_names_the_run_folder_and_ids(people_run):
    """The re-run commands name this run folder and each other person's id; without their face in the cache,
    the command that runs the models again names the source."""
    page = build_report(people_run, ReportOptions(privacy="off", thumbnails=False)).read_text(encoding="utf-8")
    cmds = dict(re.findall(r'<pre class="cmd" data-person="(\d+)">(.*?)</pre>', page, re.S))
    assert set(cmds) == {str(CUSTOMER.id), str(OTHER.id)}
    for pid, text in cmds.items():
        assert f"conduct-coach analyze --from-landmarks {people_run} --out " in text
        assert text.count(f"--subject {pid}") == 2
        assert str(load_run(people_run).source) in text  # pose-only people need the models again
    assert "on screen longest, most frontal (synthetic)" in page


def test_event_cards_name_the_person_only_when_several_were_judged(people_run, tmp_path):
    """Two people judged: each card names its person and role; one person judged: no person line."""
    page = build_report(people_run, ReportOptions(privacy="off", thumbnails=False)).read_text(encoding="utf-8")
    assert re.findall(r'<div class="who" data-person="(\d+)">', page) == [str(SUBJECT.id), str(CUSTOMER.id)]
    one = syn.make_people_run(tmp_path / "one")
    page = build_report(one, ReportOptions(privacy="off", thumbnails=False)).read_text(encoding="utf-8")
    assert 'class="who"' not in page


def test_measure_privacy_counts_frames_with_an_unblurred_other_face(people_run, tmp_path, monkeypatch):
    """scripts/measure_privacy.py with a stand-in detector that sees the three faces: with no hold after a person
    is lost, the bystander's face is left unblurred exactly on the frames where their face points were not seen
    (24 to the end), the trainee's is never counted."""
    monkeypatch.setattr("vision.review.privacy.HOLD_S", 0.0)
    import importlib.util
    spec = importlib.util.spec_from_file_location("measure_privacy", Path(__file__).parents[1] / "scripts" /
                                                  "measure_privacy.py")
    mp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mp)

    class AllFaces(NoFaces):
        def detect(self, _img):
            boxes = np.array([syn.head_box_px(a) for a in syn.TRIO], np.float32)
            return boxes, np.ones(len(boxes), np.float32)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

    monkeypatch.setattr(mp, "FaceBoxDetector", AllFaces)
    run = tmp_path / "run"
    import shutil
    shutil.copytree(people_run, run)

    class MeshSeesNothing(AllFaces):  # the second opinion: no face mesh in any box (a detector false positive)
        def __init__(self, **_kw):
            pass

        def detect(self, _img, _t=0.0):
            return []

    monkeypatch.setattr(mp, "HolisticDetector", MeshSeesNothing)
    got = mp.measure(run, "auto")
    assert got["frames"] == syn.N_FRAMES
    assert got["frames_with_other_face"] == syn.N_FRAMES
    assert got["frames_unblurred"] == syn.N_FRAMES - 24
    assert got["frames_unblurred_confirmed"] == 0  # none confirmed by the mesh: counted apart, not dropped
    assert {u["box"][0] for u in got["unblurred"]} == {syn.head_box_px(OTHER)[0]}
    assert not any(u["face_mesh_confirms"] for u in got["unblurred"])
