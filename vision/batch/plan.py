"""Inputs -> jobs: which recordings a batch holds and where each one's run folder goes.

An input is a file, a folder or a glob (``archive/*/2024-*.mp4``; ``**``
recurses). Folders are walked recursively: a folder that holds images and
no video is one recording (a folder of frames, as ``analyze`` reads it);
otherwise each video in it is one, and its loose images are left out
(listed in :attr:`Plan.ignored`). A file named on the command line is
always a recording, whatever its suffix: the decoder says if it cannot read it.

Each run folder is named by the recording's path relative to the common
root of all the recordings' folders, ``/`` spelt ``__``: ``a/s1.mp4`` and
``b/s1.mp4`` become ``a__s1.mp4`` and ``b__s1.mp4``. The same inputs always
give the same names, so a re-run finds its runs again.
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional

from vision.io.frames import IMAGE_SUFFIXES

#: What a folder walk takes for a video (an input named explicitly may be anything the decoder reads).
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".gif", ".mpg", ".mpeg", ".wmv", ".flv", ".ts"}
SEP = "__"


class PlanError(Exception):
    """An input names nothing to analyse (one-line message)."""


@dataclass(frozen=True)
class Job:
    """One recording and its run folder. ``kind``: video, folder (of frames) or image."""

    input: Path  # absolute
    name: str  # the run folder's name under the batch's --out
    kind: str
    trainee: Optional[str] = None


@dataclass
class Plan:
    jobs: List[Job]
    root: Path  # the common root the names are relative to
    ignored: List[Path] = field(default_factory=list)  # images beside videos in a walked folder


def _kind(path: Path) -> str:
    if path.is_dir():
        return "folder"
    return "image" if path.suffix.lower() in IMAGE_SUFFIXES else "video"


def _walk(folder: Path, found: List[Path], ignored: List[Path]) -> None:
    """Recordings under ``folder``: the folder itself if it holds only images, else its videos; then its subfolders."""
    files, subdirs = [], []
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        (subdirs if p.is_dir() else files).append(p)
    videos = [p for p in files if p.suffix.lower() in VIDEO_SUFFIXES]
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    if images and not videos:
        found.append(folder)
    else:
        found.extend(videos)
        ignored.extend(images)
    for d in subdirs:
        _walk(d, found, ignored)


def _expand(inputs: Iterable[str]) -> tuple:
    found: List[Path] = []
    ignored: List[Path] = []
    for text in inputs:
        if glob.has_magic(text):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise PlanError(f"{text}: the pattern matches nothing")
            paths = [Path(m) for m in matches]
            explicit = [p for p in paths if p.is_file()]
            found.extend(p for p in explicit if p.suffix.lower() in VIDEO_SUFFIXES | IMAGE_SUFFIXES)
            for d in (p for p in paths if p.is_dir()):
                _walk(d, found, ignored)
            continue
        p = Path(text)
        if not p.exists():
            raise PlanError(f"{text}: no such file or folder")
        if p.is_dir():
            before = len(found)
            _walk(p, found, ignored)
            if len(found) == before:
                raise PlanError(f"{text}: holds no video and no images")
        else:
            found.append(p)
    return found, ignored


def run_name(recording: Path, root: Path) -> str:
    """The run folder's name: the path below ``root``, ``/`` spelt ``__``."""
    return SEP.join(recording.relative_to(root).parts)


def make_plan(inputs: Iterable[str], trainee: Optional[str] = None, trainee_folders: bool = False) -> Plan:
    """The jobs for ``inputs``, in name order, each recording once however often it was named.

    ``trainee`` tags every job; ``trainee_folders`` takes each recording's
    first folder below the common root as its trainee (``archive/alice/s1.mp4``).
    """
    found, ignored = _expand(inputs)
    unique: Dict[Path, None] = {}
    for p in found:  # absolute, links kept: a folder of links to recordings elsewhere is named by the links
        unique.setdefault(Path(os.path.abspath(p)), None)
    if not unique:
        raise PlanError("no recordings to analyse")
    paths = list(unique)
    root = Path(os.path.commonpath([str(p.parent) for p in paths]))
    jobs: Dict[str, Job] = {}
    for p in paths:
        name = run_name(p, root)
        if name in jobs:  # only when a folder name itself holds "__"
            raise PlanError(f"{p} and {jobs[name].input} would share the run folder {name}: rename one")
        who = trainee
        if trainee_folders:
            parts = p.relative_to(root).parts
            if len(parts) < 2:
                raise PlanError(f"{p}: --trainee-folders wants each recording in a trainee's folder below {root}")
            who = parts[0]
        jobs[name] = Job(p, name, _kind(p), who)
    left_out = {Path(os.path.abspath(p)) for p in ignored} - set(unique)
    return Plan([jobs[n] for n in sorted(jobs)], root, sorted(left_out))
