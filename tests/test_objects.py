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
    """A right hand at (200, 300) gets a square crop of 1.2 shoulder widths centred there."""
    p = _person({**SHOULDERS, **MOUTH, 16: (200, 300), 18: (200, 300), 20: (200, 300), 22: (200, 300)})
    boxes = crop_boxes(p, WH)
    assert set(boxes) == {"right_hand", "mouth"}
    x0, y0, x1, y1 = boxes["right_hand"]
    assert (x0 + x1) / 2 == pytest.approx(200, abs=1) and (y0 + y1) / 2 == pytest.approx(300, abs=1)
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
