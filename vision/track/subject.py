"""Which tracked person is the trainee (the subject), which is the customer, and run.json's account of it.

:func:`summarise` turns tracked frames (:func:`vision.track.tracker.track_frames`)
into one :class:`TrackSummary` per person: time on screen, mean position,
size and how frontal the body is. :func:`choose_subject` and
:func:`choose_customer` pick among them as the user asked (``auto``, ``left``,
``right``, ``largest`` or an id) and say why; :func:`roles` writes run.json's
``subject``, ``customer`` and ``people`` (schema_version 2). :func:`follow`
does it all for a clip's detected frames.

``left`` and ``right`` are as seen in the picture, not the person's own sides.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from vision.detect.landmarks import FrameLandmarks
from vision.track.tracker import TrackerOptions, seen_mask, track_frames

#: ``auto``: people on screen at least this share of the longest-seen person's time are the main people;
#: the trainee is one of them (a roleplay keeps both parties in view; a passer-by is seen briefly).
MAIN_SHARE = 0.6
#: ``auto`` says it was a near tie when the runner-up's prominence is above this share of the winner's:
#: on the four multi-person stills of ../shared/media (``split: tune``) the pick was wrong in three (two or
#: three similar people side by side), the runner-up at 85 % to 94 % of the winner; right in the fourth at 92 %.
NEAR_TIE = 0.8
HOW_SUBJECT = ("auto", "left", "right", "largest")


@dataclass(frozen=True)
class TrackSummary:
    """One tracked person over a clip. ``x``: mean horizontal centre (0 left, 1 right of the picture);
    ``size``: mean square root of the box around the seen points, in image heights; ``frontal``: mean
    shoulder width over shoulder-to-hip length (about 0.7 facing the camera, near 0 in profile;
    NaN if never measurable); ``centrality``: 1 when centred, 0 in a corner."""

    id: int
    frames: int
    seconds_on_screen: float
    first_s: float
    last_s: float
    x: float
    size: float
    frontal: float
    centrality: float

    @property
    def prominence(self) -> float:
        """Size, weighed up by frontality and centrality (each factor 0.5 to 1): the ``auto`` tie-break."""
        frontal = 0.0 if np.isnan(self.frontal) else min(self.frontal / 0.7, 1.0)
        return self.size * (0.5 + 0.5 * frontal) * (0.5 + 0.5 * self.centrality)


@dataclass(frozen=True)
class Choice:
    """A chosen person (``id`` None: nobody) with how it was asked for and why it was chosen."""

    id: Optional[int]
    how: str
    reason: str

    def as_dict(self) -> Dict[str, object]:
        return {"id": self.id, "how": self.how, "reason": self.reason}


def summarise(frames: Sequence[FrameLandmarks], image_wh: Tuple[int, int]) -> List[TrackSummary]:
    """One summary per person id in ``frames``, in id order. A frame counts for the typical frame step
    (median gap between frames; 0 for a single still)."""
    aspect = image_wh[0] / image_wh[1]
    times = np.array([fl.timestamp_s for fl in frames], np.float64)
    step = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
    rows: Dict[int, List[Tuple[float, float, float, float, float]]] = {}
    for fl in frames:
        for p in fl.people:
            seen = seen_mask(p)
            if seen.sum() < 2:
                continue
            xy = p.pose_xyz[seen, :2] * np.array([aspect, 1.0])
            lo, hi = xy.min(0), xy.max(0)
            centre = (lo + hi) / 2
            off = np.hypot(*(centre - (aspect / 2, 0.5))) / np.hypot(aspect / 2, 0.5)
            frontal = np.nan
            if seen[[11, 12, 23, 24]].all():
                sq = p.pose_xyz[:, :2] * np.array([aspect, 1.0])
                torso = np.linalg.norm(sq[[11, 12]].mean(0) - sq[[23, 24]].mean(0))
                frontal = float(np.linalg.norm(sq[11] - sq[12]) / max(torso, 1e-6))
            rows.setdefault(p.person_id, []).append(
                (fl.timestamp_s, centre[0] / aspect, float(np.sqrt(np.prod(hi - lo))), frontal, 1.0 - off))
    out = []
    for pid in sorted(rows):
        r = np.array(rows[pid], np.float64)
        fr = r[:, 3][np.isfinite(r[:, 3])]
        out.append(TrackSummary(pid, len(r), len(r) * step, float(r[:, 0].min()), float(r[:, 0].max()),
                                float(r[:, 1].mean()), float(r[:, 2].mean()),
                                float(fr.mean()) if len(fr) else float("nan"), float(r[:, 4].mean())))
    return out


def _by_id(tracks: Sequence[TrackSummary], how: str, role: str) -> TrackSummary:
    ids = [t.id for t in tracks]
    try:
        wanted = int(how)
    except ValueError:
        raise ValueError(f"{role}: expected an id or one of the words offered, got {how!r}") from None
    match = [t for t in tracks if t.id == wanted]
    if not match:
        raise ValueError(f"{role} {wanted}: no such person; the people tracked are {ids}")
    return match[0]


def _main(tracks: Sequence[TrackSummary]) -> List[TrackSummary]:
    longest = max(t.frames for t in tracks)
    return [t for t in tracks if t.frames >= MAIN_SHARE * longest]


def choose_subject(tracks: Sequence[TrackSummary], how: str = "auto") -> Choice:
    """The trainee. ``how``: ``auto`` (the most prominent of the people on screen about as long as the
    longest-seen), ``left`` / ``right`` (the left- or rightmost of those, as seen in the picture),
    ``largest`` (largest of those) or a person id. Nobody tracked: ``Choice(None, how, ...)``."""
    how = str(how).strip().lower()
    if not tracks:
        return Choice(None, how, "nobody tracked")
    if how not in HOW_SUBJECT:
        t = _by_id(tracks, how, "subject")
        return Choice(t.id, how, f"asked for person {t.id}")
    if len(tracks) == 1:
        return Choice(tracks[0].id, how, "one person tracked")
    main = _main(tracks)
    n = f"{len(main)} people on screen at least {MAIN_SHARE:.0%} as long as the longest-seen"
    if how == "left":
        t = min(main, key=lambda t: t.x)
        return Choice(t.id, how, f"leftmost (mean x {t.x:.2f}) of the {n}")
    if how == "right":
        t = max(main, key=lambda t: t.x)
        return Choice(t.id, how, f"rightmost (mean x {t.x:.2f}) of the {n}")
    if how == "largest":
        t = max(main, key=lambda t: t.size)
        return Choice(t.id, how, f"largest (size {t.size:.2f} image heights) of the {n}")
    if len(main) == 1:
        t = main[0]
        return Choice(t.id, how, f"on screen longest ({t.seconds_on_screen:.1f} s; no one else "
                                 f"over {MAIN_SHARE:.0%} of that)")
    ranked = sorted(main, key=lambda t: -t.prominence)
    t, second = ranked[0], ranked[1]
    why = [w for w, a, b in (("larger", t.size, second.size), ("more frontal", t.frontal, second.frontal),
                             ("more central", t.centrality, second.centrality)) if a > b]
    tie = "; a near tie: ask for left, right or an id if this is the wrong person" \
        if second.prominence > NEAR_TIE * t.prominence else ""
    return Choice(t.id, how, f"most prominent of the {n} ({', '.join(why) or 'tie'}: "
                             f"{t.prominence:.2f} against {second.prominence:.2f} for person {second.id}){tie}")


def choose_customer(tracks: Sequence[TrackSummary], subject: Optional[int], how: str = "auto") -> Choice:
    """The customer: ``auto`` is whoever else is on screen longest (ties: the most prominent); or an id."""
    how = str(how).strip().lower()
    others = [t for t in tracks if t.id != subject]
    if how != "auto":
        t = _by_id(tracks, how, "customer")
        if t.id == subject:
            raise ValueError(f"customer {t.id}: that is the subject")
        return Choice(t.id, how, f"asked for person {t.id}")
    if not others:
        return Choice(None, how, "nobody else tracked")
    t = max(others, key=lambda t: (t.frames, t.prominence))
    of = f", of {len(others)} others" if len(others) > 1 else ""
    if t.seconds_on_screen == 0:  # a still: nobody is on screen longer
        return Choice(t.id, how, f"most prominent after the subject ({t.prominence:.2f}){of}")
    return Choice(t.id, how, f"on screen longest after the subject ({t.seconds_on_screen:.1f} s){of}")


def roles(tracks: Sequence[TrackSummary], subject: Choice, customer: Choice) -> Dict[str, object]:
    """run.json's ``subject``, ``customer`` and ``people`` (schema_version 2), exactly as named there."""
    def role(pid: int) -> str:
        return "trainee" if pid == subject.id else "customer" if pid == customer.id else "other"

    return {
        "subject": subject.as_dict(),
        "customer": customer.as_dict(),
        "people": [{"id": t.id, "role": role(t.id), "seconds_on_screen": round(t.seconds_on_screen, 3),
                    "first_s": round(t.first_s, 3), "last_s": round(t.last_s, 3)} for t in tracks],
    }


def follow(frames: Sequence[FrameLandmarks], image_wh: Tuple[int, int], fps: float, subject: str = "auto",
           customer: str = "auto", options: TrackerOptions = TrackerOptions()
           ) -> Tuple[List[FrameLandmarks], Dict[str, object]]:
    """Detected frames -> (tracked frames, run.json's ``subject``/``customer``/``people``).

    The subject's landmarks over time are then
    ``LandmarkTrack.from_frames(tracked, out["subject"]["id"], image_wh)``.
    """
    tracked = track_frames(frames, image_wh, fps, options)
    tracks = summarise(tracked, image_wh)
    who = choose_subject(tracks, subject)
    return tracked, roles(tracks, who, choose_customer(tracks, who.id, customer))
