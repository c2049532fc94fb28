"""The report's opening section: who was tracked, who was judged, and how to judge someone else.

One thumbnail per tracked person (run.json ``people``), a body crop from the
source at the analysed frame where that person is largest and most fully
seen, labelled trainee / customer / other (学员 / 客户 / 其他) with their
seconds on screen. Faces are blurred in every thumbnail but the trainee's:
the other people's heads by track (:class:`vision.review.privacy.TrackedFaces`)
plus the face detector's net, as in the videos; a non-trainee whose face was
never located gets the top of their crop blurred instead (a thumbnail is
shown to everyone who opens the report). ``--privacy off`` blurs nothing.

Under the strip: why this subject (``subject.reason``, ``customer.reason``)
and the command that judges another person, from the landmark cache where it
holds that person's face and hands, else with the models run again.
"""
from __future__ import annotations

import base64
import shlex
from dataclasses import dataclass
from typing import Dict, List, Optional

import cv2
import numpy as np

from vision.io.run_folder import RunFolder, SubjectPoints, track_pixels
from vision.io.video_in import iter_frames
from vision.review.privacy import FaceBlurrer, TrackedFaces, head_box, pixelate
from vision.review.report_svg import esc

THUMB_H = 180
ROLE_LABEL = {"trainee": "学员 trainee", "customer": "客户 customer", "other": "其他 other"}
#: The body crop is the box around the person's seen points (and head) grown by this share of its size.
CROP_PAD = 0.12
#: A person whose face was never located: this top share of their crop is blurred in their thumbnail.
BLIND_HEAD_SHARE = 0.3
STYLE = """
.people{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0}
.person{border:1px solid #ddd;border-radius:6px;padding:6px;margin:0;font-size:13px;background:#fff;text-align:center}
.person img{height:180px;display:block;margin:0 auto 4px;border-radius:4px} .person.trainee{border:2px solid rgb(70,180,100)}
.person.customer{border:2px solid rgb(60,170,230)} pre.cmd{background:#f6f6f6;padding:6px 8px;font-size:12px;white-space:pre-wrap}
"""


@dataclass
class PersonView:
    """One tracked person as the report shows them."""

    id: int
    role: str
    seconds_on_screen: float
    row: Optional[int]  # the analysed frame of the thumbnail (None: never seen)
    crop_xyxy: Optional[np.ndarray]  # source pixels
    face_in_cache: bool  # face mesh or hand landmarks cached: face and hand rules can be re-run from the cache
    head_known: bool  # a head box exists on the thumbnail's frame


def _visible_box(pose: np.ndarray, head: Optional[np.ndarray]) -> Optional[np.ndarray]:
    pts = pose[np.isfinite(pose[:, 0])]
    if head is not None:
        pts = np.concatenate([pts, head.reshape(2, 2)])
    if len(pts) < 2:
        return None
    return np.concatenate([pts.min(0), pts.max(0)])


def person_views(run: RunFolder) -> List[PersonView]:
    """Every person of run.json's ``people`` (trainee first), with the frame and crop of their thumbnail."""
    people = sorted(run.people, key=lambda p: (p.get("role") != "trainee", p.get("role") != "customer",
                                               int(p.get("id", 0))))
    out = []
    for p in people:
        pid = int(p["id"])
        track = run.tracks.get(pid)
        view = PersonView(pid, run.role_of(pid), float(p.get("seconds_on_screen") or 0.0), None, None, False, False)
        out.append(view)
        if track is None:
            continue
        pose, face = track_pixels(track)
        view.face_in_cache = bool(np.isfinite(face[..., 0]).any() or np.isfinite(track.left_hand_xyz[..., 0]).any()
                                  or np.isfinite(track.right_hand_xyz[..., 0]).any())
        best = (-1.0, False)
        for row in np.flatnonzero(np.isfinite(pose[:, :, 0]).sum(1) >= 3):
            head = head_box(pose[row], face[row])
            box = _visible_box(pose[row], head)
            if box is None:
                continue
            seen = int(np.isfinite(pose[row, :, 0]).sum())
            score = seen * float(np.sqrt(max(1.0, (box[2] - box[0]) * (box[3] - box[1]))))
            key = (head is not None or view.role == "trainee", score)  # a frame that shows where the face is
            if key > best:
                best, view.row, view.head_known = key, int(row), head is not None
                view.crop_xyxy = box
    return out


def _crop(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    H, W = image.shape[:2]
    w, h = box[2] - box[0], box[3] - box[1]
    pad = CROP_PAD * max(w, h, 0.1 * H)
    x0, y0 = int(max(0, box[0] - pad)), int(max(0, box[1] - pad))
    x1, y1 = int(min(W, box[2] + pad)), int(min(H, box[3] + pad))
    return image[y0:y1, x0:x1] if x1 - x0 >= 2 and y1 - y0 >= 2 else image


def person_thumbnails(run: RunFolder, views: List[PersonView], privacy: str) -> Dict[int, str]:
    """Person id -> JPEG data URI of their body crop, faces blurred but the trainee's (``privacy`` off: none)."""
    rows = {v.id: v.row for v in views if v.row is not None and v.crop_xyxy is not None}
    if not rows or run.track is None or not run.source.exists():
        return {}
    points = SubjectPoints(run.track, run.pixels)
    frame_rows: Dict[int, int] = {int(points.frame_index[r]): r for r in rows.values()}
    out: Dict[int, str] = {}
    with FaceBlurrer(privacy, tracked=TrackedFaces.of_run(run)) as blurrer:
        for idx, image in iter_frames(run.source, run.kind, frame_rows.__contains__, max(frame_rows)):
            blurrer.apply(image, points.at_row(frame_rows[idx]), idx)
            for v in views:
                if v.id not in rows or int(points.frame_index[rows[v.id]]) != idx:
                    continue
                crop = _crop(image, v.crop_xyxy).copy()
                if privacy != "off" and v.role != "trainee" and not v.head_known:
                    pixelate(crop, np.array([[0, 0, crop.shape[1], BLIND_HEAD_SHARE * crop.shape[0]]]))
                scale = THUMB_H / crop.shape[0]
                small = cv2.resize(crop, (max(1, int(round(crop.shape[1] * scale))), THUMB_H),
                                   interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
                ok, jpg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 85])
                if ok:
                    out[v.id] = "data:image/jpeg;base64," + base64.b64encode(jpg.tobytes()).decode("ascii")
    return out


def rerun_commands(run: RunFolder, view: PersonView) -> List[str]:
    """Shell commands that judge ``view``'s person instead: from the cache, and with the models when needed."""
    q = shlex.quote
    new = q(f"{run.dir}-person{view.id}")
    cmds = [f"conduct-coach analyze --from-landmarks {q(str(run.dir))} --out {new} --subject {view.id}"]
    if not view.face_in_cache:
        source = run.info.get("input", {}).get("path") or str(run.source)
        cmds.append(f"conduct-coach analyze {q(str(source))} --out {new} --subject {view.id}")
    return cmds


def people_section(run: RunFolder, privacy: str, thumbnails: bool = True) -> str:
    """The HTML of the section: the strip of people, the reasons, the re-run commands."""
    views = person_views(run)
    thumbs = person_thumbnails(run, views, privacy) if thumbnails else {}
    cards = []
    for v in views:
        img = thumbs.get(v.id)
        pic = (f'<img class="person-thumb" alt="person {v.id}" src="{img}">' if img
               else '<div class="noimg muted">no picture</div>')
        cards.append(f'<figure class="person {esc(v.role)}" data-person="{v.id}" data-role="{esc(v.role)}">{pic}'
                     f'<figcaption><b>{esc(ROLE_LABEL.get(v.role, v.role))}</b> · id {v.id}<br>'
                     f'<span class="muted">{v.seconds_on_screen:.1f} s on screen 在画面中</span></figcaption></figure>')
    subject, customer = run.info.get("subject") or {}, run.info.get("customer") or {}
    parts = [f'<div class="people">{"".join(cards)}</div>',
             f'<p class="reason">judged 评估对象: <b>id {run.subject_id}</b> ({esc(subject.get("how", "auto"))}) — '
             f'{esc(subject.get("reason", ""))}</p>']
    if customer.get("id") is not None:
        parts.append(f'<p class="reason">customer 客户: <b>id {customer["id"]}</b> — {esc(customer.get("reason", ""))}</p>')
    others = [v for v in views if v.id != run.subject_id and v.row is not None]
    if others:
        lines = []
        for v in others:
            cmds = rerun_commands(run, v)
            note = ("" if v.face_in_cache else
                    f'<br><span class="muted">id {v.id}: face and hands are not in the landmark cache, so face and hand '
                    'rules need the models to run again (second command) 面部和手部规则需重新运行模型</span>')
            lines.append(f'<pre class="cmd" data-person="{v.id}">{esc(chr(10).join(cmds))}</pre>{note}')
        parts.append('<p>Judge someone else 评估其他人: re-run with <code>--subject ID</code>:</p>' + "".join(lines))
    return "".join(parts)
