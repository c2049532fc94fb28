"""Installs anywhere: the wheel carries the default rules and every file of models/ and finds them on its own.

Builds the wheel once (``pip wheel . --no-deps``, a few seconds; skipped
when pip cannot fetch the build backend, i.e. offline), then imports the
package from the unpacked wheel alone, from another folder, and asks it
for its default rules and models folder.
"""
from __future__ import annotations

import ast
import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built from a copy of the checkout (links kept as links), so no stale build/ folder leaks in and none is left."""
    src = tmp_path_factory.mktemp("src") / "repo"
    shutil.copytree(REPO, src, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "runs", "__pycache__", ".pytest_cache"))
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(out)],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode and ("No matching distribution" in proc.stderr or "Could not find a version" in proc.stderr):
        pytest.skip("pip cannot fetch the build backend (offline)")
    assert proc.returncode == 0, proc.stderr
    (whl,) = out.glob("*.whl")
    return whl


def test_the_wheel_ships_the_rules_and_every_model_file(wheel):
    """vision/rules.yaml is the repository's rules.yaml, and each file of models/ is in vision/models, byte for byte."""
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert _sha(z.read("vision/rules.yaml")) == _sha((REPO / "rules.yaml").read_bytes())
        files = [p for p in (REPO / "models").iterdir() if p.is_file()]
        assert {"README.md", "coco_ssd_mobilenet_v1_1.0_quant_2018_06_29.tflite"} <= {p.name for p in files}
        for p in files:
            assert f"vision/models/{p.name}" in names, p.name
            assert _sha(z.read(f"vision/models/{p.name}")) == _sha(p.read_bytes()), p.name


def test_the_installed_package_finds_its_defaults_away_from_the_checkout(wheel, tmp_path):
    """From the unpacked wheel alone (no site-packages, cwd elsewhere), the default rules and models are its own."""
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = ("import json, os; from vision.cli import PACKAGED_RULES; from vision.detect.models import models_dir; "
            "d = models_dir(); print(json.dumps([str(PACKAGED_RULES), PACKAGED_RULES.is_file(), str(d), "
            "sorted(os.listdir(d))]))")
    proc = subprocess.run([sys.executable, "-S", "-c", code], cwd=elsewhere, capture_output=True, text=True,
                          timeout=60, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    rules, rules_exist, models, listed = json.loads(proc.stdout)
    assert rules == str(site.resolve() / "vision" / "rules.yaml") and rules_exist
    assert models == str(site.resolve() / "vision" / "models")
    assert "coco_ssd_mobilenet_v1_1.0_quant_2018_06_29.tflite" in listed and "README.md" in listed


def test_every_declared_dependency_is_imported():
    """pyproject's dependencies are each imported somewhere in vision/ (pydantic was declared and never used)."""
    import re

    try:
        import tomllib
    except ImportError:  # Python < 3.11
        pytest.skip("tomllib needs Python 3.11")
    deps = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    module = {"opencv-contrib-python": "cv2", "pyyaml": "yaml", "pillow": "PIL"}
    imported = set()
    for path in (REPO / "vision").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    for dep in deps:
        name = re.split(r"[<>=!~ \[]", dep, maxsplit=1)[0].lower()
        assert module.get(name, name) in imported, dep
