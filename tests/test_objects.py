"""vision.detect.objects: crops around the hands and mouth, and the COCO detector finding a phone in them."""
from pathlib import Path

import numpy as np
import pytest

from vision.detect.landmarks import PersonLandmarks
from vision.detect.objects import CROP_SW, ObjectHit, best_scores, crop_boxes, default_model_path

WH = (640, 480)
MEDIA = Path(__file__).resolve().parent.parent.parent / "shared" / "media"


def _person(points_px, hidden=()):
    """A pose with the given pose indices at pixel positions (visible), everything else NaN."""
    p = PersonLandmarks(0)
    for i, (x, y) in points_px.items():
        p.pose_xyz[i] = (x / WH[0], y / WH[1], 0.0)
        p.pose_visibility[i] = 0.05 if i in hidden else 0.99
    return p


SHOULDERS = {11: (380, 200), 12: (260, 200)}  # 120 px apart
MOUTH = {9: (310, 150), 10: (330, 150)}


def test_crops_are_centred_on_the_hands_and_sized_by_the_shoulders():
    """A right hand at chest height (200, 260) gets a square crop of 1.2 shoulder widths centred there (and no lap
    crop: the hand is not below the chest)."""
    p = _person({**SHOULDERS, **MOUTH, 16: (200, 260), 18: (200, 260), 20: (200, 260), 22: (200, 260)})
    boxes = crop_boxes(p, WH)
    assert set(boxes) == {"right_hand", "mouth"}
    x0, y0, x1, y1 = boxes["right_hand"]
    assert (x0 + x1) / 2 == pytest.approx(200, abs=1) and (y0 + y1) / 2 == pytest.approx(260, abs=1)
    assert x1 - x0 == pytest.approx(CROP_SW["right_hand"] * 120, abs=2)


def test_a_given_body_scale_sizes_the_crops_in_profile():
    """In profile the shoulders overlap: the caller's body scale (pixels) sizes the crop instead."""
    p = _person({11: (300, 200), 12: (302, 200), **MOUTH, 15: (320, 300)})
    assert crop_boxes(p, WH, scale_px=100.0)["left_hand"][2] - crop_boxes(p, WH, scale_px=100.0)["left_hand"][0] \
        == pytest.approx(120, abs=2)


def test_no_crop_for_what_was_not_seen():
    """A hand outside the picture or below visibility has no crop; no shoulders and no scale: no crops at all."""
    p = _person({**SHOULDERS, **MOUTH, 15: (700, 300), 16: (200, 300)}, hidden={16})
    assert crop_boxes(p, WH) == {"mouth": crop_boxes(p, WH)["mouth"]}
    assert crop_boxes(_person({**MOUTH, 15: (300, 300)}), WH) == {}


def test_crops_are_clipped_to_the_frame():
    p = _person({**SHOULDERS, 15: (5, 470)})
    x0, y0, x1, y1 = crop_boxes(p, WH)["left_hand"]
    assert x0 == 0 and y1 == WH[1] and x1 > x0 and y1 > y0


def test_best_scores_keep_the_highest_per_group_and_crop():
    hits = [ObjectHit("cell phone", "phone", 0.4, (0, 0, 1, 1), "left_hand"),
            ObjectHit("remote", "phone", 0.6, (0, 0, 1, 1), "left_hand"),
            ObjectHit("cup", "drink", 0.5, (0, 0, 1, 1), "mouth")]
    assert best_scores(hits) == {"phone@left_hand": 0.6, "drink@mouth": 0.5}
    with pytest.raises(ValueError, match="box_xyxy"):
        ObjectHit("cup", "drink", 0.5, (2, 0, 1, 1), "mouth")


@pytest.mark.real
def test_a_phone_at_the_ear_is_found_in_the_hand_crop_not_on_the_whole_frame():
    """The real detector on a real photo: the phone held at the ear is found around the hand, missed whole-frame."""
    import cv2

    from vision.detect.holistic import HolisticDetector
    from vision.detect.objects import ObjectDetector

    image = cv2.imread(str(MEDIA / "face_touch" / "hagrid_call_gesture_man_hand_at_ear.jpg"))
    model = default_model_path()  # shipped in the package (models/)
    assert model is not None
    with HolisticDetector(still_images=True) as det, ObjectDetector(model) as objects:
        person = det.detect(image, 0.0)[0]
        crops = crop_boxes(person, (image.shape[1], image.shape[0]))
        in_crops = best_scores(objects.detect(image, crops))
        whole = best_scores(objects.detect(image, {"whole": (0, 0, image.shape[1], image.shape[0])}))
    assert max(v for k, v in in_crops.items() if k.startswith("phone@")) >= 0.3
    assert not any(k.startswith("phone@") for k in whole)


def test_both_ways_is_the_mean_of_each_groups_best_score_with_the_better_box():
    """Per crop and group: the mean of the best score as it is and mirrored (0 where a way found none), the label
    and box of the better look; a cell phone one way and a remote the other are one phone."""
    from vision.detect.objects import mean_both_ways

    plain = [ObjectHit("cell phone", "phone", 0.7, (10, 10, 20, 20), "right_hand"),
             ObjectHit("cell phone", "phone", 0.4, (50, 50, 60, 60), "right_hand"),
             ObjectHit("cup", "drink", 0.6, (0, 0, 5, 5), "mouth")]
    mirrored = [ObjectHit("remote", "phone", 0.3, (11, 10, 21, 20), "right_hand"),
                ObjectHit("cell phone", "phone", 0.9, (30, 30, 40, 40), "left_hand")]
    got = {(h.crop, h.group): h for h in mean_both_ways(plain, mirrored)}
    assert set(got) == {("right_hand", "phone"), ("mouth", "drink"), ("left_hand", "phone")}
    assert got["right_hand", "phone"].score == pytest.approx(0.5)
    assert got["right_hand", "phone"].box_xyxy == (10, 10, 20, 20) and got["right_hand", "phone"].label == "cell phone"
    assert got["mouth", "drink"].score == pytest.approx(0.3)
    assert got["left_hand", "phone"].score == pytest.approx(0.45) and got["left_hand", "phone"].label == "cell phone"


@pytest.mark.real
def test_looking_both_ways_gives_a_mirrored_picture_the_same_scores_and_mirrored_boxes():
    """The real detector on a real photo and on the photo mirrored, with the mirrored crop: looked at one way the
    scores differ (the detector is not symmetric); looked at both ways they are equal and the boxes mirror."""
    import cv2

    from vision.detect.objects import ObjectDetector

    image = cv2.imread(str(MEDIA / "face_touch" / "hagrid_call_gesture_man_hand_at_ear.jpg"))
    flipped = np.ascontiguousarray(image[:, ::-1])
    w = image.shape[1]
    x0, y0, x1, y1 = 0, 0, w * 2 // 3, image.shape[0] * 2 // 3
    crop, crop_f = {"right_hand": (x0, y0, x1, y1)}, {"right_hand": (w - x1, y0, w - x0, y1)}
    with ObjectDetector(default_model_path()) as both, ObjectDetector(default_model_path(), both_ways=False) as one:
        a, b = both.detect(image, crop), both.detect(flipped, crop_f)
        one_a, one_b = best_scores(one.detect(image, crop)), best_scores(one.detect(flipped, crop_f))
    assert a, "the detector finds something in this crop"
    assert one_a != one_b
    assert best_scores(a) == pytest.approx(best_scores(b), abs=1e-6)
    by_group = {h.group: h for h in b}
    for h in a:
        m = by_group[h.group].box_xyxy
        assert (w - m[2], m[1], w - m[0], m[3]) == pytest.approx(h.box_xyxy, abs=1.0)


def test_encode_hits_keeps_the_best_per_group_and_crop_and_says_where_it_did_not_look():
    """Crops looked at score 0 where nothing was found; a crop not looked at stays NaN (not run); boxes normalised."""
    from vision.detect.objects import CROP_NAMES, GROUP_NAMES, encode_hits

    hits = [ObjectHit("remote", "phone", 0.4, (64, 48, 128, 96), "right_hand"),
            ObjectHit("cell phone", "phone", 0.7, (0, 0, 64, 48), "right_hand")]
    looked = {"right_hand": (0, 0, 200, 200), "mouth": (0, 0, 100, 100)}
    enc = encode_hits(hits, looked, WH)
    phone, rh = GROUP_NAMES.index("phone"), CROP_NAMES.index("right_hand")
    assert enc[phone, rh].tolist() == pytest.approx([0.7, 0.0, 0.0, 0.1, 0.1])
    assert enc[GROUP_NAMES.index("drink"), CROP_NAMES.index("mouth"), 0] == 0.0
    assert np.isnan(enc[:, CROP_NAMES.index("left_hand")]).all()


def test_object_hits_survive_the_landmark_cache(tmp_path):
    """Written with the landmarks and read back unchanged; a cache written without them reads back as NaN."""
    from vision.detect.landmarks import FrameLandmarks
    from vision.io.cache import LandmarkCacheWriter, load_tracks

    p = _person({**SHOULDERS, **MOUTH})
    p.objects[0, 1] = (0.8, 0.1, 0.2, 0.3, 0.4)
    w = LandmarkCacheWriter(tmp_path, WH)
    w.append(FrameLandmarks(0, 0.0, [p]))
    w.close()
    back = load_tracks(tmp_path)[0].objects[0]
    assert np.array_equal(back, p.objects, equal_nan=True)
    part = next((tmp_path / "landmarks").glob("part-*.npz"))
    with np.load(part) as z:
        old = {k: z[k] for k in z.files if k != "objects"}
    np.savez_compressed(part, **old)
    assert np.isnan(load_tracks(tmp_path)[0].objects).all()


def test_a_cache_from_before_the_lap_crop_reads_back_with_the_lap_not_run(tmp_path):
    """A cache written with 3 object crops (hands, mouth): its hits read back in place, the lap crop NaN (not run),
    and the object pass can write the 4-crop array over it."""
    from vision.detect.landmarks import FrameLandmarks
    from vision.detect.objects import CROP_NAMES
    from vision.io.cache import LandmarkCacheWriter, load_tracks, store_person_array

    p = _person({**SHOULDERS, **MOUTH})
    w = LandmarkCacheWriter(tmp_path, WH)
    w.append(FrameLandmarks(0, 0.0, [p]))
    w.close()
    part = next((tmp_path / "landmarks").glob("part-*.npz"))
    with np.load(part) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["objects"] = np.full(arrays["objects"].shape[:2] + (3, 5), np.nan, np.float32)
    arrays["objects"][:, 0, 1] = (0.8, 0.1, 0.2, 0.3, 0.4)
    np.savez_compressed(part, **arrays)
    back = load_tracks(tmp_path)[0].objects[0]
    assert back.shape[1] == len(CROP_NAMES) and np.isnan(back[:, CROP_NAMES.index("lap")]).all()
    assert back[0, 1, 0] == pytest.approx(0.8)
    new = np.zeros((1,) + back.shape, np.float32)
    store_person_array(tmp_path, 0, "objects", new)
    assert np.array_equal(load_tracks(tmp_path)[0].objects, new)


@pytest.mark.real
def test_the_object_pass_runs_on_a_still_and_is_named_in_run_json(media_runs):
    """The mimed call sign (tune, no phone): the detector ran on the still, its phone-like call stays below the
    phone threshold, no phone event; run.json names the detector file with its sha256."""
    import json

    from vision.features.objects import MIN_SCORE
    from vision.io.cache import load_tracks
    from vision.io.events import read_events

    run = media_runs / "face_touch__hagrid_call_gesture_man_hand_at_ear.jpg"
    objects = load_tracks(run)[0].objects[0]
    assert (objects[..., 0] >= 0).any()  # looked at least at one crop
    assert np.nanmax(objects[0, :, 0]) < MIN_SCORE["phone"]
    assert "gesture.phone" not in {e.rule for e in read_events(run / "events.jsonl")}
    entry = json.loads((run / "run.json").read_text())["models"]["files"]["objects"]
    assert entry["file"].endswith(".tflite") and len(entry["sha256"]) == 64 and entry["both_ways"] is True


@pytest.mark.real
def test_a_phone_call_and_a_phone_held_up_are_found_by_their_object(media_runs):
    """Tune clips: the landline call and the woman looking at her phone give gesture.phone with the phone vote
    as evidence; the presenter holding a clicker at her waist does not."""
    from vision.io.events import read_events

    for name in ("phone__suzie_closeup_landline_phone_call.mp4",
                 "phone__pexels_woman_red_wall_holding_looking_at_phone.mp4"):
        phones = [e for e in read_events(media_runs / name / "events.jsonl") if e.rule == "gesture.phone"]
        assert phones and max(e.evidence.get("phone_vote_2s", 0) for e in phones) >= 0.5, name
    clicker = media_runs / "standing__ted_woman_hands_clasped_then_open_palm_gestures.mp4" / "events.jsonl"
    assert "gesture.phone" not in {e.rule for e in read_events(clicker)}


@pytest.mark.real
def test_no_phone_is_claimed_where_there_is_none_on_either_split(media_runs):
    """Precision first (a coach forgives a miss sooner than a false accusation): on the tune and check splits,
    every gesture.phone event overlaps a labelled phone episode."""
    from vision.evaluate import evaluate

    for split in ("tune", "check"):
        phone = evaluate(MEDIA / "labels.yaml", media_runs, split=split)["rules"].get("gesture.phone", {})
        assert phone.get("fp", 0) == 0, (split, phone)
