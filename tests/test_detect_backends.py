"""Landmark detectors: one protocol, a backend chosen by name only, and MediaPipe imported in vision/detect only.

Choosing a backend checks its files before any model loads, so most tests
here need no MediaPipe; the ``real`` ones open each backend through the
factory on a photo of ../shared/media.
"""
from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO
from vision.detect.base import BACKENDS, LandmarkDetector, choose_detector
from vision.detect.models import MODELS_ENV, PACKAGED_MODELS, ModelsError, models_dir

VISION = REPO / "vision"
MEDIA = REPO.parent / "shared" / "media"
STILL = MEDIA / "face_touch" / "hagrid_call_gesture_man_hand_at_ear.jpg"


def _touch(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_bytes(b"not a model")
    return folder


def _modules(root: Path):
    for path in sorted(root.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def _imported(tree: ast.AST):
    """Every module name an import statement names, at any depth (imports inside functions count)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


# ---------------------------------------------------------------- where MediaPipe may appear

def test_only_vision_detect_imports_or_names_mediapipe():
    """No module outside vision/detect imports mediapipe, or even names it (the `grep -rl mediapipe vision` rule)."""
    importers = [p.relative_to(VISION).as_posix() for p, tree in _modules(VISION)
                 if any(m.split(".")[0] == "mediapipe" for m in _imported(tree))]
    naming = [p.relative_to(VISION).as_posix() for p in VISION.rglob("*.py")
              if "mediapipe" in p.read_text(encoding="utf-8")]
    assert importers and all(p.startswith("detect/") for p in importers), importers
    assert all(p.startswith("detect/") for p in naming), naming


def test_the_two_backends_do_not_import_each_other():
    """holistic.py and tasks.py share code only through the small shared modules, never one another."""
    imports = {p.stem: set(_imported(tree)) for p, tree in _modules(VISION / "detect")}
    assert "vision.detect.tasks" not in imports["holistic"]
    assert "vision.detect.holistic" not in imports["tasks"]
    for name, used in imports.items():  # and nothing below the factory reaches back up to it
        if name != "base":
            assert "vision.detect.base" not in used, name


def test_no_module_is_over_400_lines():
    """House rule: no module of the package over 400 lines (tasks.py was 411, pipeline.py 409)."""
    long = {str(p.relative_to(VISION)): n for p in VISION.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert long == {}


@pytest.mark.parametrize("module, cls", [("holistic", "HolisticDetector"), ("tasks", "TasksDetector")])
def test_both_backends_have_the_protocol_members(module, cls):
    """Each backend class has every member of LandmarkDetector, and detect takes (image_bgr, timestamp_s)."""
    import importlib

    klass = getattr(importlib.import_module(f"vision.detect.{module}"), cls)
    for member in ("detect", "close", "__enter__", "__exit__", "model_names"):
        assert hasattr(klass, member), member
    assert isinstance(inspect.getattr_static(klass, "model_names"), property)
    assert list(inspect.signature(klass.detect).parameters) == ["self", "image_bgr", "timestamp_s"]


# ---------------------------------------------------------------- choosing a backend

def test_tasks_without_a_pose_file_is_one_line_naming_the_files_and_the_folder(tmp_path):
    """--backend tasks with no pose .task (a face file alone is not enough) fails before loading anything."""
    d = _touch(tmp_path / "models", "face_landmarker.task")
    with pytest.raises(ModelsError) as exc:
        choose_detector("tasks", d)
    msg = str(exc.value)
    assert "\n" not in msg and str(d) in msg
    assert all(n in msg for n in ("pose_landmarker_heavy.task", "pose_landmarker_full.task",
                                  "pose_landmarker_lite.task"))


def test_the_backend_never_switches_on_what_the_folder_holds(tmp_path):
    """A pose .task in the folder does not turn holistic into tasks; tasks takes the files it finds."""
    d = _touch(tmp_path / "models", "pose_landmarker_lite.task", "hand_landmarker.task")
    assert choose_detector("holistic", d).backend == "holistic"
    chosen = choose_detector("tasks", d)
    assert chosen.backend == "tasks"
    assert (chosen.files.pose, chosen.files.face, chosen.files.hand) == (
        d / "pose_landmarker_lite.task", None, d / "hand_landmarker.task")


def test_an_unknown_backend_is_refused(tmp_path):
    """Only the backends named in BACKENDS exist; anything else is a one-line error listing them."""
    with pytest.raises(ModelsError, match="holistic, tasks"):
        choose_detector("auto", tmp_path)
    assert BACKENDS == ("holistic", "tasks")


def test_models_folder_precedence(tmp_path, monkeypatch):
    """--models beats $CONDUCT_COACH_MODELS, which beats the folder shipped in the package."""
    flag, env = _touch(tmp_path / "flag"), _touch(tmp_path / "env")
    monkeypatch.delenv(MODELS_ENV, raising=False)
    assert models_dir() == PACKAGED_MODELS.resolve()
    monkeypatch.setenv(MODELS_ENV, str(env))
    assert models_dir() == env.resolve()
    assert models_dir(flag) == flag.resolve()
    _touch(env, "pose_landmarker_full.task")
    assert choose_detector("tasks").files.pose == env.resolve() / "pose_landmarker_full.task"
    with pytest.raises(ModelsError):  # the flag's folder has none: the env's file is not used instead
        choose_detector("tasks", flag)


def test_a_models_folder_that_is_not_there_is_named(tmp_path, monkeypatch):
    """A missing --models or $CONDUCT_COACH_MODELS folder is an error that says which one."""
    monkeypatch.setenv(MODELS_ENV, str(tmp_path / "gone"))
    with pytest.raises(ModelsError, match=r"^\$CONDUCT_COACH_MODELS .*gone: no such folder$"):
        models_dir()
    with pytest.raises(ModelsError, match=r"^--models .*nowhere: no such folder$"):
        models_dir(tmp_path / "nowhere")


def test_the_packaged_models_folder_is_the_repositorys(monkeypatch):
    """In a checkout the package's models folder is the repository's models/ (README and licence notes there)."""
    assert PACKAGED_MODELS.resolve() == (REPO / "models").resolve()
    assert (PACKAGED_MODELS / "README.md").is_file()


def test_cli_tasks_without_models_is_one_line_and_writes_nothing(tmp_path):
    """analyze --backend tasks --models EMPTY: exit 2, one line naming the folder, no run folder made."""
    import cv2

    image = tmp_path / "photo.png"
    cv2.imwrite(str(image), np.full((64, 64, 3), 127, np.uint8))
    empty = _touch(tmp_path / "empty")
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "vision", "analyze", str(image), "--out", str(out),
                           "--backend", "tasks", "--models", str(empty)],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: --backend tasks needs a pose model in ") and str(empty) in line
    assert not out.exists()
    bad = subprocess.run([sys.executable, "-m", "vision", "analyze", str(image), "--out", str(out),
                          "--backend", "auto"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "invalid choice: 'auto'" in bad.stderr


# ---------------------------------------------------------------- the real models, through the factory

@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory) -> Path:
    """A models folder with pose_landmarker_full.task built offline from the mediapipe wheel."""
    from vision.detect.bundles import build_bundled_task

    d = tmp_path_factory.mktemp("bundle")
    build_bundled_task("pose", d / "pose_landmarker_full.task")
    return d


@pytest.mark.real
@pytest.mark.skipif(not STILL.exists(), reason="../shared/media is not beside the repo")
@pytest.mark.parametrize("backend", BACKENDS)
def test_each_backend_satisfies_the_protocol_on_a_photo(backend, bundle_dir):
    """open_detector(backend) is a LandmarkDetector that finds the man in the photo and names its model files."""
    import cv2

    from vision.detect.base import open_detector

    image = cv2.imread(str(STILL))
    with open_detector(backend, bundle_dir, still_images=True) as det:
        assert isinstance(det, LandmarkDetector)
        people = det.detect(image, 0.0)
        models = det.model_names
    assert [p.person_id for p in people] == [0]
    assert (people[0].pose_visibility[[0, 11, 12]] > 0.9).all()  # nose and shoulders seen
    assert models["backend"] == backend
    assert models["models_dir"] == (None if backend == "holistic" else str(bundle_dir.resolve()))
    assert {"pose", "face", "hands"} <= set(models["files"])
    for entry in models["files"].values():
        assert set(entry) == {"file", "sha256"} and len(entry["sha256"]) == 64
