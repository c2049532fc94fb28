"""Appearance checks (clause 1.2) on synthetic scenes whose answer is known by construction.

The builders below draw a flat, front-facing person (hair cap, face, fringe,
torso with a jacket) and place exactly the face-mesh and pose points that
:mod:`vision.judge.appearance` reads; every other landmark is NaN (not seen).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Dict, Optional, Tuple

import cv2
import numpy as np
import pytest

from vision.judge import appearance_measure as A
from vision.judge.appearance import AppearanceSampler, appearance_settings
from vision.judge.rules import RulesError, load_rules, parse_rules
from vision.io.events import Event
from vision.io.frames import Frame
from vision.detect.landmarks import N_POSE, PersonLandmarks

WH = (480, 720)
CX, CY, FH = 240.0, 190.0, 120.0  # face centre and height, px
FW = 0.8 * FH
SH_Y, HIP_Y, SW = 330.0, 630.0, 200.0  # shoulder line, hip line, shoulder width, px
# BGR colours
SKIN, GREY_BG = (140, 170, 220), (200, 200, 200)
HAIR = {"dark_brown": (30, 45, 70), "black": (20, 20, 22), "blond": (120, 190, 225), "grey": (160, 160, 158),
        "auburn": (30, 70, 150), "blue": (200, 90, 30), "green": (60, 200, 40), "purple": (170, 40, 130),
        "pink": (180, 105, 255), "bright_red": (40, 30, 230)}
NAVY, WHITE = (70, 40, 30), (235, 235, 235)


def face_points(yaw_deg: float = 0.0, roll_deg: float = 0.0, scale: float = 1.0) -> Dict[int, Tuple[float, float]]:
    """Pixel positions of the mesh points the appearance module reads, for a flat frontal face."""
    fh, fw = FH * scale, FW * scale
    pts = {A.TOP: (0, -fh / 2), A.CHIN: (0, fh / 2), A.SIDE_R: (-fw / 2, 0), A.SIDE_L: (fw / 2, 0),
           A.NOSE_TIP: (fw / 2 * math.sin(math.radians(yaw_deg)), 0.1 * fh)}
    for i, theta in zip(A.OVAL_TOP, np.linspace(150, 30, len(A.OVAL_TOP))):
        pts[i] = (fw / 2 * math.cos(math.radians(theta)), -fh / 2 * math.sin(math.radians(theta)))
    for side in (-1, 1):
        brow = A.BROW_UPPER[:5] if side < 0 else A.BROW_UPPER[5:][::-1]  # outer -> inner
        for j, i in enumerate(brow):
            pts[i] = (side * fw * (0.38 - 0.075 * j), -0.22 * fh)
        outer, inner, upper, lower = A.EYE_R if side < 0 else A.EYE_L
        pts.update({outer: (side * 0.36 * fw, -0.12 * fh), inner: (side * 0.12 * fw, -0.12 * fh),
                    upper: (side * 0.24 * fw, -0.15 * fh), lower: (side * 0.24 * fw, -0.09 * fh)})
    for i, (x, y) in zip(A.CHEEKS, [(-0.25, 0.08), (0.25, 0.08), (-0.18, 0.18), (0.18, 0.18)]):
        pts[i] = (x * fw, y * fh)
    c, s = math.cos(math.radians(roll_deg)), math.sin(math.radians(roll_deg))
    return {i: (CX + c * x - s * y, CY + s * x + c * y) for i, (x, y) in pts.items()}


def make_person(face: Dict[int, Tuple[float, float]], torso: bool = True,
                hand_xy: Optional[np.ndarray] = None) -> PersonLandmarks:
    """A PersonLandmarks with those face points, the shoulders and hips (and 21 right-hand points), normalised by WH."""
    wh = np.array(WH, np.float32)
    p = PersonLandmarks(0)
    for i, xy in face.items():
        p.face_xyz[i] = (*(np.array(xy) / wh), 0.0)
    p.pose_visibility[:] = 0.0
    if torso:
        body = {11: (CX + SW / 2, SH_Y), 12: (CX - SW / 2, SH_Y), 23: (CX + 70, HIP_Y), 24: (CX - 70, HIP_Y)}
        for i, xy in body.items():
            p.pose_xyz[i] = (*(np.array(xy) / wh), 0.0)
            p.pose_visibility[i] = 0.99
    if hand_xy is not None:
        p.right_hand_xyz[:, :2] = np.asarray(hand_xy) / wh
        p.right_hand_xyz[:, 2] = 0.0
    assert p.pose_xyz.shape == (N_POSE, 3)
    return p


def draw_scene(hair: Tuple[int, int, int] = HAIR["dark_brown"], background=GREY_BG, fringe_to: float = 0.0,
               jacket: str = "closed", hair_height: float = 0.3, seed: int = 0) -> np.ndarray:
    """The image: background, a hair cap ``hair_height`` face heights above the face, the face, a
    fringe covering ``fringe_to`` of the forehead (0 none, 1 down to the brows), and a torso:
    ``closed`` (shirt V above the button), ``open`` (a shirt strip down the centre line) or ``uniform``."""
    img = np.zeros((WH[1], WH[0], 3), np.uint8)
    img[:] = background
    cap = (int(FW / 2 + 0.1 * FH), int((0.45 + hair_height) * FH))
    cv2.ellipse(img, (int(CX), int(CY - 0.05 * FH)), cap, 0, 0, 360, hair, -1)
    face_mask = np.zeros(img.shape[:2], np.uint8)
    cv2.ellipse(face_mask, (int(CX), int(CY)), (int(FW / 2), int(FH / 2)), 0, 0, 360, 1, -1)
    img[face_mask.astype(bool)] = SKIN
    top_y, brow_y = CY - FH / 2, CY - 0.22 * FH
    if fringe_to > 0:
        rows = np.arange(img.shape[0])[:, None] < top_y + fringe_to * (brow_y - top_y) + 2
        img[face_mask.astype(bool) & rows] = hair
    for side in (-1, 1):  # brows (below the brow line the module reads) and eyes
        cv2.line(img, (int(CX + side * 0.38 * FW), int(brow_y + 4)), (int(CX + side * 0.08 * FW), int(brow_y + 4)),
                 HAIR["black"], 4)
        cv2.ellipse(img, (int(CX + side * 0.24 * FW), int(CY - 0.12 * FH)), (9, 4), 0, 0, 360, (40, 30, 30), -1)
    cv2.rectangle(img, (int(CX - 22), int(CY + FH / 2 - 5)), (int(CX + 22), int(SH_Y)), SKIN, -1)  # neck
    torso = np.array([(CX - 120, SH_Y), (CX + 120, SH_Y), (CX + 95, HIP_Y + 20), (CX - 95, HIP_Y + 20)], np.int32)
    cv2.fillPoly(img, [torso], NAVY)
    if jacket == "open":
        cv2.rectangle(img, (int(CX - 0.12 * SW), int(SH_Y)), (int(CX + 0.12 * SW), int(HIP_Y + 20)), WHITE, -1)
    elif jacket == "closed":
        v = np.array([(CX - 30, SH_Y), (CX + 30, SH_Y), (CX, SH_Y + 0.45 * (HIP_Y - SH_Y))], np.int32)
        cv2.fillPoly(img, [v], WHITE)
        cv2.circle(img, (int(CX), int(SH_Y + 0.65 * (HIP_Y - SH_Y))), 5, (20, 20, 20), -1)
    noise = np.random.default_rng(seed).normal(0, 3, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def judge(image: np.ndarray, person: Optional[PersonLandmarks] = None, sampler_settings=None,
          **kw) -> Dict[str, Event]:
    sampler = AppearanceSampler(sampler_settings or SETTINGS, **kw)
    assert sampler.offer(Frame(7, 1.5, image), person or make_person(face_points()), WH)
    return {e.rule: e for e in sampler.finish()}


# -- hair colour ------------------------------------------------------------------
@pytest.mark.parametrize("colour", ["blue", "green", "purple", "pink", "bright_red"])
def test_saturated_unusual_hair_colour_is_a_violation(colour):
    """Blue, green, purple, pink or bright red hair above the forehead: look.hair_colour is violated."""
    ev = judge(draw_scene(hair=HAIR[colour]))["look.hair_colour"]
    assert ev.kind == "violation" and ev.evidence["hair_unusual_share"] > 0.9


@pytest.mark.parametrize("colour", ["dark_brown", "black", "blond", "grey", "auburn"])
def test_natural_hair_colours_pass(colour):
    """Black, brown, blond, grey and auburn hair are natural: look.hair_colour is desired."""
    ev = judge(draw_scene(hair=HAIR[colour]))["look.hair_colour"]
    assert ev.kind == "desired" and ev.evidence["hair_unusual_share"] < 0.05


def test_saturated_background_above_short_natural_hair_is_skipped():
    """Short dark-brown hair before a blue wall: the wall fills most of the band but is skipped as background."""
    ev = judge(draw_scene(hair=HAIR["dark_brown"], background=(180, 110, 30), hair_height=0.1))["look.hair_colour"]
    assert ev.kind == "desired" and ev.evidence["hair_kept_share"] < 0.5


def test_bald_head_leaves_hair_colour_unjudged():
    """Skin above the forehead and grey wall above that: no hair to judge, so no event (NaN is not a pass)."""
    sampler = AppearanceSampler(SETTINGS)
    sampler.offer(Frame(0, 0.0, draw_scene(hair=SKIN)), make_person(face_points()), WH)
    assert "look.hair_colour" not in {e.rule for e in sampler.finish()}
    assert "hair" in sampler.skipped["look.hair_colour"]


# -- fringe -----------------------------------------------------------------------
def test_skin_forehead_passes_the_fringe_check():
    """A bare forehead (skin up to the hairline): fringe not past the brows, nor on the forehead."""
    for rule in ("brows", "forehead"):
        ev = judge(draw_scene(fringe_to=0.0), fringe_rule=rule)["look.fringe"]
        assert ev.kind == "desired", (rule, ev.evidence)
        assert ev.evidence["forehead_hair_share"] < 0.1


def test_fringe_down_to_the_brows_is_a_violation():
    """Hair covering the forehead down to the brows: 前发不过眉 is violated."""
    ev = judge(draw_scene(fringe_to=1.0))["look.fringe"]
    assert ev.kind == "violation" and ev.clause == "1.2 仪表: 前发不过眉"
    assert ev.evidence["brow_hair_share"] > 0.9


def test_fringe_on_the_upper_forehead_breaks_only_the_mens_rule():
    """Hair over the upper half of the forehead: clear of the brows, but on the forehead (前发不附额)."""
    image = draw_scene(fringe_to=0.55)
    assert judge(image, fringe_rule="brows")["look.fringe"].kind == "desired"
    ev = judge(image, fringe_rule="forehead")["look.fringe"]
    assert ev.kind == "violation" and ev.clause == "1.2 仪表: 前发不附额"


def test_fringe_is_not_judged_without_cheeks():
    """No cheek points seen (NaN): no skin reference, so no fringe event (NaN never becomes 0)."""
    face = {i: xy for i, xy in face_points().items() if i not in A.CHEEKS}
    sampler = AppearanceSampler(SETTINGS)
    sampler.offer(Frame(0, 0.0, draw_scene(fringe_to=1.0)), make_person(face), WH)
    rules = {e.rule for e in sampler.finish()}
    assert "look.fringe" not in rules and "look.fringe" in sampler.skipped


# -- jacket -----------------------------------------------------------------------
def test_open_jacket_showing_the_shirt_is_a_violation():
    """A white shirt strip down the centre of a navy torso: 不得敞怀 is violated."""
    ev = judge(draw_scene(jacket="open"))["look.jacket_closed"]
    assert ev.kind == "violation" and ev.evidence["centre_unlike_share"] > 0.9


@pytest.mark.parametrize("jacket", ["uniform", "closed"])
def test_uniform_or_buttoned_torso_passes(jacket):
    """A uniform torso, or a buttoned jacket whose shirt V ends above the sampled rows, passes."""
    ev = judge(draw_scene(jacket=jacket))["look.jacket_closed"]
    assert ev.kind == "desired" and ev.evidence["centre_unlike_share"] < 0.1


def test_hands_over_the_torso_centre_leave_the_jacket_unjudged():
    """Hands clasped over the sampled rows hide the centre line: no jacket event, a reason instead."""
    hand = np.stack([np.full(21, CX), SH_Y + np.linspace(0.5, 0.85, 21) * (HIP_Y - SH_Y)], axis=1)
    person = make_person(face_points(), hand_xy=hand)
    sampler = AppearanceSampler(SETTINGS)
    sampler.offer(Frame(0, 0.0, draw_scene(jacket="open")), person, WH)
    assert "look.jacket_closed" not in {e.rule for e in sampler.finish()}
    assert "torso" in sampler.skipped["look.jacket_closed"]


def test_no_torso_seen_leaves_the_jacket_unjudged():
    """Shoulders not seen (a head-only framing): the jacket is not judged."""
    events = judge(draw_scene(jacket="open"), make_person(face_points(), torso=False))
    assert set(events) == {"look.hair_colour", "look.fringe"}


# -- the sampler ------------------------------------------------------------------
def test_sampler_reports_on_the_most_frontal_frame():
    """Of frames turned 20, 3, 12 and 35 degrees, the 35-degree one is refused; the event points at 3 degrees."""
    image = draw_scene(hair=HAIR["blue"])
    sampler = AppearanceSampler(SETTINGS, k=5)
    for i, yaw in enumerate([20, 3, 12, 35]):
        sampler.offer(Frame(10 * i, 2.0 * i, image), make_person(face_points(yaw_deg=yaw)), WH)
    assert sampler.rejected["not frontal"] == 1 and len(sampler.kept) == 3
    events = sampler.finish()
    assert {e.rule for e in events} == {"look.hair_colour", "look.fringe", "look.jacket_closed"}
    for e in events:
        assert (e.start_frame, e.end_frame, e.start_s, e.end_s) == (10, 10, 2.0, 2.0)
        assert e.evidence["frame"] == 10 and e.evidence["views"]["frames"][0] == 10


def test_sampler_memory_is_bounded_to_k_small_crops():
    """Forty frames offered, at most k crops kept, each small and not a view of the frame."""
    sampler = AppearanceSampler(SETTINGS, k=3, crop_face_px=100, max_crop_px=256)
    rng = np.random.default_rng(1)
    frames = []
    for i in range(40):
        image = draw_scene(seed=i)
        frame = Frame(i, i * 1.0, image)
        frames.append(frame)
        sampler.offer(frame, make_person(face_points(yaw_deg=float(rng.uniform(0, 24)))), WH)
        assert len(sampler.kept) <= 3
    for v in sampler.kept:
        assert max(v.crop_bgr.shape[:2]) <= 256 and np.linalg.norm(v.face_px[A.TOP] - v.face_px[A.CHIN]) <= 101
        assert not any(np.shares_memory(v.crop_bgr, f.image_bgr) for f in frames)
    assert sum(v.crop_bgr.nbytes for v in sampler.kept) <= 3 * 256 * 256 * 3


def test_frames_close_in_time_replace_each_other():
    """Two frontal frames 0.2 s apart (min_gap_s = 1): only the better one is kept."""
    sampler = AppearanceSampler(SETTINGS, k=5)  # min_gap_s 1.0 in rules.yaml
    image = draw_scene()
    assert sampler.offer(Frame(0, 0.0, image), make_person(face_points(yaw_deg=10)), WH)
    assert sampler.offer(Frame(1, 0.2, image), make_person(face_points(yaw_deg=2)), WH)
    assert not sampler.offer(Frame(2, 0.4, image), make_person(face_points(yaw_deg=15)), WH)
    assert [v.frame_index for v in sampler.kept] == [1]


def test_nothing_frontal_gives_no_events_and_a_reason():
    """Turned, rolled, tiny or missing faces: no events, and the reason says why for the run log."""
    sampler = AppearanceSampler(SETTINGS)
    image = draw_scene()
    sampler.offer(Frame(0, 0.0, image), make_person(face_points(yaw_deg=40)), WH)
    sampler.offer(Frame(1, 1.0, image), make_person(face_points(roll_deg=30)), WH)
    sampler.offer(Frame(2, 2.0, image), make_person(face_points(scale=0.3)), WH)
    sampler.offer(Frame(3, 3.0, image), PersonLandmarks(0), WH)
    assert sampler.finish() == []
    assert "no frontal face in 4 offered frames" in sampler.reason
    assert sampler.rejected == {"no face mesh": 1, "face outside the frame": 0, "not frontal": 2, "face too small": 1}
    assert sampler.log()["kept_frames"] == []


def test_events_carry_clause_evidence_and_survive_json():
    """Every event: severity low, the clause's Chinese phrase, thresholds, the frame, experimental; strict JSON."""
    events = judge(draw_scene(hair=HAIR["pink"], fringe_to=1.0, jacket="open"))
    assert {r: e.clause for r, e in events.items()} == {
        "look.hair_colour": "1.2 仪表: 不得染奇异颜色", "look.fringe": "1.2 仪表: 前发不过眉",
        "look.jacket_closed": "1.2 仪表: 不得敞怀"}
    for e in events.values():
        assert e.kind == "violation" and e.severity == "low" and e.message_zh and e.message_en
        assert e.evidence["experimental"] is True and e.evidence["frame"] == 7 and "threshold" in e.evidence
        text = json.dumps(e.to_json(), ensure_ascii=False, allow_nan=False)
        assert Event.from_json(json.loads(text)) == e
    assert events["look.hair_colour"].evidence["thresholds"]["hair_natural_hue_deg"] == [5.0, 50.0]
    assert events["look.jacket_closed"].evidence["thresholds"] == {"jacket_delta_e": 20.0, "jacket_rows": [0.55, 0.8]}


def test_bad_thresholds_name_the_field():
    """A negative or inverted threshold is refused with the field's name."""
    text = REPO_RULES.read_text(encoding="utf-8")
    with pytest.raises(RulesError, match="jacket_delta_e"):
        appearance_settings(parse_rules(text.replace("jacket_delta_e: 20.0", "jacket_delta_e: -1"), "r.yaml"))
    with pytest.raises(RulesError, match="jacket_rows"):
        appearance_settings(parse_rules(text.replace("jacket_rows: [0.55, 0.80]", "jacket_rows: [0.8, 0.5]"), "r.yaml"))
    with pytest.raises(ValueError, match="fringe_rule"):
        AppearanceSampler(SETTINGS, fringe_rule="women")


def test_appearance_thresholds_and_texts_come_from_the_rules_file():
    """look.* options, messages and severity are read from rules.yaml: a typo gets a did-you-mean naming the
    entry; an edited message and a disabled check reach the events."""
    text = REPO_RULES.read_text(encoding="utf-8")
    with pytest.raises(RulesError, match=r"detectors\[\d\] \(look\.jacket_closed\)\.options\.jacket_delta: unknown key; "
                                         r"did you mean 'jacket_delta_e'"):
        appearance_settings(parse_rules(text.replace("jacket_delta_e: 20.0", "jacket_delta: 20.0"), "r.yaml"))
    with pytest.raises(RulesError, match=r"appearance: missing 'skin_delta_e'"):
        appearance_settings(parse_rules(text.replace("  skin_delta_e: 16.0", ""), "r.yaml"))
    edited = text.replace("ok: {zh: 外衣未敞怀, en: No open jacket seen}", "ok: {zh: 外衣已扣好, en: Jacket closed}")
    edited = edited.replace("  - id: look.hair_colour\n", "  - id: look.hair_colour\n    enabled: false\n")
    settings = appearance_settings(parse_rules(edited, "r.yaml"))
    events = judge(draw_scene(jacket="closed"), sampler_settings=settings)
    assert "look.hair_colour" not in events
    assert events["look.jacket_closed"].message_en == "Jacket closed"


REPO_RULES = Path(__file__).resolve().parents[1] / "rules.yaml"
SETTINGS = appearance_settings(load_rules(REPO_RULES))


# -- real media -------------------------------------------------------------------
MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"
STILLS = ["standing/three_business_people_standing.jpg", "sitting/two_men_seated_bench_hands_clasped.jpg",
          "hands_gesture/hagrid_four_gesture_man_kitchen.jpg"]


@pytest.mark.real
@pytest.mark.skipif(not MEDIA.exists(), reason="../shared/media is not checked out beside the repo")
def test_real_stills_natural_hair_is_not_flagged(capsys):
    """MediaPipe on three real photos: natural hair is never an unusual colour; the buttoned suit is not open."""
    from vision.detect.holistic import HolisticDetector

    results = {}
    with HolisticDetector(still_images=True) as det:
        for name in STILLS:
            image = cv2.imread(str(MEDIA / name))
            people = det.detect(image, 0.0)
            assert people, name
            sampler = AppearanceSampler(SETTINGS)
            sampler.offer(Frame(0, 0.0, image), people[0], (image.shape[1], image.shape[0]))
            results[name] = {e.rule: e for e in sampler.finish()}
            with capsys.disabled():
                print(f"\n{name}: {sampler.log()}")
                for e in results[name].values():
                    print(f"  {e.rule} {e.kind} {e.peak['feature']}={e.peak['value']} {e.evidence}")
    for name, events in results.items():
        hair = events.get("look.hair_colour")
        assert hair is None or hair.kind == "desired", (name, hair.evidence)
    assert results[STILLS[0]]["look.hair_colour"].kind == "desired"
    assert results[STILLS[0]]["look.jacket_closed"].kind == "desired"
