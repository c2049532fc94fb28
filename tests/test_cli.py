"""python -m vision: user errors are one line on stderr and exit 2, never a traceback; no model is loaded here.

Only errors that happen before the models load are run through the CLI
(missing file, not a video, bad rules, bad options); ``--from-landmarks`` runs
the whole rules stage on a synthetic landmark cache, without models.
"""
import json
import subprocess
import sys

import pytest

from builders import make_frames, segments
from conftest import REPO, RULES_YAML
from vision.judge.analyzer import analyze_track
from vision.io.cache import LandmarkCacheWriter, load_tracks
from vision.io.events import CSV_COLUMNS, read_events
from vision.features.table import FEATURES
from vision.judge.rules import parse_rules


def cli(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "vision", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def assert_one_line_error(proc, code=2):
    assert "Traceback" not in proc.stderr
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{proc.stderr}"
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def not_a_video(tmp_path):
    path = tmp_path / "talk.mp4"
    path.write_text("a transcript, not a video\n", encoding="utf-8")
    return path


def test_a_missing_input_file_is_a_one_line_error_exit_2(tmp_path):
    line = assert_one_line_error(cli("analyze", tmp_path / "nope.mp4", "--out", tmp_path / "run"))
    assert "nope.mp4" in line and "no such file" in line


def test_a_text_file_named_mp4_exits_2_with_not_a_video(not_a_video, tmp_path):
    proc = cli("analyze", not_a_video, "--out", tmp_path / "run")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"error: {not_a_video}: not a video" in proc.stderr


def test_a_text_file_named_mp4_is_a_one_line_error(not_a_video, tmp_path):
    assert "not a video" in assert_one_line_error(cli("analyze", not_a_video, "--out", tmp_path / "run"))


def test_a_typo_key_in_the_rules_file_exits_2_naming_the_key_and_the_fix(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES_YAML.replace("merge_gap_s: 0.5\n  severity", "merge_gap: 0.5\n  severity"),
                     encoding="utf-8")
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"")  # the rules are checked before the input is opened
    line = assert_one_line_error(cli("analyze", video, "--out", tmp_path / "run", "--rules", rules))
    assert line == f"error: {rules}: defaults.merge_gap: unknown key; did you mean 'merge_gap_s'?"


def test_a_typo_key_in_a_rule_names_the_rule_index_and_id(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES_YAML.replace("    min_duration_s: 0.3\n    region_from",
                                        "    min_duraton_s: 0.3\n    region_from"), encoding="utf-8")
    line = assert_one_line_error(cli("analyze", tmp_path / "x.mp4", "--out", tmp_path / "run", "--rules", rules))
    assert "rules[2] (gesture.face_touch).min_duraton_s" in line and "did you mean 'min_duration_s'" in line


def test_end_before_start_is_a_one_line_error_exit_2(tmp_path):
    proc = cli("analyze", tmp_path / "x.mp4", "--out", tmp_path / "run", "--start", "5", "--end", "2")
    assert assert_one_line_error(proc) == "error: --end (2.0) must be after --start (5.0)"


def test_analyze_without_input_or_landmarks_is_a_one_line_error(tmp_path):
    assert "give an INPUT" in assert_one_line_error(cli("analyze", "--out", tmp_path / "run"))


def test_from_landmarks_without_a_cache_is_a_one_line_error(tmp_path):
    line = assert_one_line_error(cli("analyze", "--from-landmarks", tmp_path, "--out", tmp_path / "run"))
    assert "no landmark cache" in line


def test_a_bad_calibration_window_is_a_one_line_error(tmp_path):
    proc = cli("analyze", tmp_path / "x.mp4", "--out", tmp_path / "run", "--calibrate", "5-1")
    assert "END must be after START" in assert_one_line_error(proc)


def test_features_lists_every_feature_with_its_unit():
    proc = cli("features")
    assert proc.returncode == 0 and proc.stderr == ""
    names = [line.split()[0] for line in proc.stdout.splitlines()]
    assert names == list(FEATURES)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # exact profile: features.py divides by a zero face width
def test_from_landmarks_reruns_the_rules_on_a_cache_without_models(tmp_path):
    """A synthetic cache -> the same events as analyze_track, in events.jsonl, events.csv and run.json."""
    specs = segments((4.0, dict(facing="right")), (2.0, dict(facing="right", trunk_pitch_deg=30.0)),
                     (1.0, dict(facing="right")), (1.0, dict(facing="right", hand_at="ear")),
                     (1.0, dict(facing="right")))
    run = tmp_path / "run"
    writer = LandmarkCacheWriter(run, (640, 480), {"source": "synthetic", "fps": 10.0, "still": False}, chunk=16)
    for f in make_frames(specs):
        writer.append(f)
    writer.close()
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES_YAML, encoding="utf-8")
    out = tmp_path / "out"
    proc = cli("analyze", "--from-landmarks", run, "--out", out, "--rules", rules, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    events = read_events(out / "events.jsonl")
    expected, _, _ = analyze_track(load_tracks(run)[0], parse_rules(RULES_YAML, str(rules)))
    assert [e.to_json() for e in events] == [e.to_json() for e in expected]
    assert [(e.rule, e.start_s, e.end_s) for e in events] == [("sit.slouch", 4.0, 5.9),
                                                              ("gesture.face_touch", 7.0, 7.9)]
    csv_lines = (out / "events.csv").read_text(encoding="utf-8-sig").splitlines()
    assert csv_lines[0] == ",".join(CSV_COLUMNS) and len(csv_lines) == 3
    meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert meta["counts"] == {"sit.slouch": 1, "gesture.face_touch": 1}
    assert meta["rules"]["sha256"] == parse_rules(RULES_YAML).sha256


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_saved_profile_judges_another_session_against_the_first_ones_baseline(tmp_path):
    """--save-profile writes the baseline; --profile on a session that starts slouched uses it and finds the slouch,
    where self-calibration on that session alone would take the slouch as neutral (up to the clamp)."""
    def cache(specs, name):
        run = tmp_path / name
        w = LandmarkCacheWriter(run, (640, 480), {"source": name, "fps": 10.0, "still": False}, chunk=16)
        for f in make_frames(specs):
            w.append(f)
        w.close()
        return run

    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES_YAML, encoding="utf-8")
    first = cache(segments((4.0, dict(facing="right", trunk_pitch_deg=-12.0))), "week1")
    profile = tmp_path / "trainee.json"
    proc = cli("analyze", "--from-landmarks", first, "--out", tmp_path / "o1", "--rules", rules, "--save-profile",
               profile)
    assert proc.returncode == 0, proc.stderr
    saved = json.loads(profile.read_text(encoding="utf-8"))["baseline"]
    assert saved["trunk_pitch_deg"] == pytest.approx(-12.0, abs=0.5)
    slouched = cache(segments((5.0, dict(facing="right", trunk_pitch_deg=8.0))), "week2")
    own = cli("analyze", "--from-landmarks", slouched, "--out", tmp_path / "o2", "--rules", rules)
    with_profile = cli("analyze", "--from-landmarks", slouched, "--out", tmp_path / "o3", "--rules", rules,
                       "--profile", profile)
    assert own.returncode == with_profile.returncode == 0
    assert [e.rule for e in read_events(tmp_path / "o2" / "events.jsonl")] == []
    assert [e.rule for e in read_events(tmp_path / "o3" / "events.jsonl")] == ["sit.slouch"]
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    proc = cli("analyze", "--from-landmarks", slouched, "--out", tmp_path / "o4", "--rules", rules, "--profile", bad)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "profile" in proc.stderr


def test_version_names_the_program_and_its_version():
    from vision import __version__

    proc = cli("--version")
    assert proc.returncode == 0 and proc.stdout == f"conduct-coach {__version__}\n"


def test_negative_fps_says_what_the_help_says(tmp_path):
    """--fps 0 is every frame (the help says so), so the error for -3 asks for >= 0."""
    line = assert_one_line_error(cli("analyze", tmp_path / "x.mp4", "--out", tmp_path / "run", "--fps", "-3"))
    assert "--fps: must be >= 0 (0 = every frame), got -3" in line
    assert "0 = every frame" in cli("analyze", "--help").stdout


@pytest.mark.real
def test_a_progress_bar_shows_in_a_terminal_without_mediapipe_chatter(tmp_path):
    """Under a pseudo-terminal, analyze draws a tqdm bar on stderr; the models' start-up lines stay hidden."""
    import os
    import pty

    from vision.detect.native import NOISE

    clip = REPO.parent / "shared" / "media" / "face_touch" / "woman_chin_on_hands_then_hand_on_head.gif"
    if not clip.is_file():
        pytest.skip(f"{clip} not found")
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "vision", "analyze", clip, "--out", tmp_path / "run",
                             "--no-appearance"], cwd=REPO, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert proc.wait(timeout=300) == 0, out.decode(errors="replace")
    text = out.decode("utf-8", errors="replace")
    assert "%|" in text and "frame/s" in text, text
    assert not [n for n in NOISE if n in text]
