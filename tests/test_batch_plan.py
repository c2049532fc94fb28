"""Batch planning: which recordings the inputs name, and the run folder each one gets."""
from __future__ import annotations

from pathlib import Path

import pytest

from vision.batch.plan import PlanError, make_plan, run_name


def _touch(root: Path, *names: str) -> None:
    for n in names:
        p = root / n
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")


def _names(plan) -> list:
    return [j.name for j in plan.jobs]


def test_same_file_names_in_two_folders_get_two_run_folders(tmp_path):
    """a/s1.mp4 and b/s1.mp4 do not clash: the name is the path below the common root, '/' as '__'."""
    _touch(tmp_path, "a/s1.mp4", "b/s1.mp4")
    plan = make_plan([str(tmp_path / "a" / "s1.mp4"), str(tmp_path / "b" / "s1.mp4")])
    assert _names(plan) == ["a__s1.mp4", "b__s1.mp4"]
    assert plan.root == tmp_path


def test_a_folder_is_walked_recursively_and_each_video_is_one_recording(tmp_path):
    """Videos at any depth are recordings; files that are neither video nor image are not."""
    _touch(tmp_path, "x.mp4", "notes.txt", "week1/y.avi", "week1/deep/z.gif", "week1/labels.yaml")
    plan = make_plan([str(tmp_path)])
    assert _names(plan) == ["week1__deep__z.gif", "week1__y.avi", "x.mp4"]
    assert {j.kind for j in plan.jobs} == {"video"}


def test_a_folder_of_images_only_is_one_recording_and_images_beside_videos_are_left_out(tmp_path):
    """A folder holding images and no video is a folder of frames (one run); a loose image beside videos is listed as left out."""
    _touch(tmp_path, "seq/001.png", "seq/002.png", "clips/a.mp4", "clips/cover.jpg")
    plan = make_plan([str(tmp_path)])
    assert [(j.name, j.kind) for j in plan.jobs] == [("clips__a.mp4", "video"), ("seq", "folder")]
    assert plan.ignored == [tmp_path / "clips" / "cover.jpg"]


def test_an_image_named_explicitly_is_a_recording_and_is_not_also_left_out(tmp_path):
    _touch(tmp_path, "clips/a.mp4", "clips/cover.jpg")
    plan = make_plan([str(tmp_path / "clips"), str(tmp_path / "clips" / "cover.jpg")])
    assert [(j.name, j.kind) for j in plan.jobs] == [("a.mp4", "video"), ("cover.jpg", "image")]
    assert plan.ignored == []


def test_globs_expand_and_a_recording_named_twice_runs_once(tmp_path):
    """'dir/*.mp4' and '**' patterns expand; the same file reached twice is one job."""
    _touch(tmp_path, "a/1.mp4", "a/2.mp4", "a/3.txt", "b/c/4.mp4")
    plan = make_plan([str(tmp_path / "a" / "*.mp4"), str(tmp_path / "a" / "1.mp4"), str(tmp_path / "**" / "4.mp4")])
    assert _names(plan) == ["a__1.mp4", "a__2.mp4", "b__c__4.mp4"]


def test_links_keep_their_own_names(tmp_path):
    """A folder of links to recordings elsewhere names the runs by the links, not by their targets."""
    _touch(tmp_path, "elsewhere/long_original_name.mp4")
    (tmp_path / "batch").mkdir()
    (tmp_path / "batch" / "s1.mp4").symlink_to(tmp_path / "elsewhere" / "long_original_name.mp4")
    assert _names(make_plan([str(tmp_path / "batch")])) == ["s1.mp4"]


def test_trainee_from_a_tag_or_from_the_first_folder(tmp_path):
    _touch(tmp_path, "alice/2024-05-01.mp4", "alice/2024-05-08.mp4", "bob/2024-05-01.mp4")
    tagged = make_plan([str(tmp_path / "alice")], trainee="alice")
    assert {j.trainee for j in tagged.jobs} == {"alice"}
    folders = make_plan([str(tmp_path)], trainee_folders=True)
    assert [(j.name, j.trainee) for j in folders.jobs] == [
        ("alice__2024-05-01.mp4", "alice"), ("alice__2024-05-08.mp4", "alice"), ("bob__2024-05-01.mp4", "bob")]


def test_trainee_folders_refuses_a_recording_outside_any_folder(tmp_path):
    _touch(tmp_path, "alice/a.mp4", "loose.mp4")
    with pytest.raises(PlanError, match="loose.mp4"):
        make_plan([str(tmp_path)], trainee_folders=True)


@pytest.mark.parametrize("make, match", [
    (lambda d: [str(d / "missing.mp4")], "no such file"),
    (lambda d: [str(d / "*.mkv")], "matches nothing"),
    (lambda d: [str(d)], "holds no video"),
])
def test_inputs_that_name_nothing_are_one_line_errors(tmp_path, make, match):
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(PlanError, match=match):
        make_plan(make(tmp_path))


def test_a_single_recording_is_named_by_its_file_or_folder_name(tmp_path):
    _touch(tmp_path, "deep/er/s1.mp4", "deep/seq/1.png")
    assert _names(make_plan([str(tmp_path / "deep" / "er" / "s1.mp4")])) == ["s1.mp4"]
    assert _names(make_plan([str(tmp_path / "deep" / "seq")])) == ["seq"]
    assert run_name(tmp_path / "a" / "b.mp4", tmp_path) == "a__b.mp4"
