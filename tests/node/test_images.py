"""Offline images: built here, imported into containerd, and run with runc.

The runner image must hold Python, the runner's pip dependencies and the
runner code; a second build with unchanged inputs must do no work; another
runner implementation is just another recipe, and changing its code
rebuilds only the code layer.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest

from longhaul.contract import RunnerExit
from longhaul.fixtures.cluster.local.containerd import Containerd
from longhaul.fixtures.images.oci import CONTAINERD_NAME
from longhaul.fixtures.images.runner import (
    NodeImages,
    RunnerImageRecipe,
    build_pause_image,
    build_runner_image,
)
from longhaul.fixtures.util.waiting import wait_for

pytestmark = pytest.mark.node


def test_runner_image_runs_python_with_its_dependencies_and_code(
    containerd: Containerd, images: NodeImages
) -> None:
    probe = (
        "import websockets, runner_stub, longhaul, sys;"
        "assert int(websockets.__version__.split('.')[0]) >= 14, websockets.__version__;"
        "print('ok', runner_stub.__file__, longhaul.__file__)"
    )
    done = containerd.run(images.runner.ref, ["python3", "-c", probe], name="runner-probe")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "ok",
        "/opt/runner/runner_stub/__init__.py",
        "/opt/runner/longhaul/__init__.py",
    ]


def test_runner_image_entrypoint_is_the_runner_stub(containerd: Containerd, images: NodeImages) -> None:
    # No argv: the image's own entrypoint runs.  With a backend URL but no token source the
    # runner must refuse to start with its documented exit code -- proof that runner_stub ran.
    done = containerd.run(
        images.runner.ref, [], name="runner-entrypoint", env=["WEBSOCKET_URL=ws://127.0.0.1:9/never"]
    )
    assert done.returncode == RunnerExit.NO_TOKEN_SOURCE, done.stdout + done.stderr


def test_pause_image_is_a_static_binary_that_runs(containerd: Containerd, images: NodeImages) -> None:
    done = containerd.run(images.pause.ref, ["/pause", "-v"], name="pause-probe")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "longhaul-pause"


def test_pause_exits_cleanly_on_sigterm(containerd: Containerd, images: NodeImages) -> None:
    # As PID 1 of its namespace, a process without a SIGTERM handler would ignore it, and
    # every pod deletion would wait out the grace period for the SIGKILL.
    name = "pause-sigterm"
    argv = [*containerd.ctr_argv(), "run", "--rm", "--runc-root", str(containerd.paths.runc_root)]
    argv += ["--cgroup", "", images.pause.ref, name]
    run = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(
            "the pause task to run",
            lambda: containerd.ctr("tasks", "ls").stdout.split(),
            lambda words: name in words and "RUNNING" in words,
            timeout=30,
        )
        containerd.ctr("tasks", "kill", "--signal", "SIGTERM", name)
        _, err = run.communicate(timeout=10)
        assert run.returncode == 0, err
        assert "pause: shutting down on terminated" in err
    finally:
        run.kill()
        run.wait()


def test_second_build_is_a_cache_hit(images: NodeImages) -> None:
    again = build_runner_image()
    assert again.cache_hit and again.built_layers == ()
    assert again.ref == images.runner.ref and again.image == images.runner.image
    pause = build_pause_image()
    assert pause.cache_hit and pause.ref == images.pause.ref


def test_other_runner_code_is_another_recipe_and_a_change_rebuilds_only_the_code(
    containerd: Containerd, images: NodeImages, tmp_path: Path
) -> None:
    code = tmp_path / "other_runner"
    code.mkdir()
    (code / "__init__.py").write_text(f"BUILD = {uuid.uuid4().hex!r}\n")  # new content on every run
    (code / "__main__.py").write_text("print('other runner v1')\n")
    recipe = RunnerImageRecipe(code_dirs=(code,), entrypoint=("python3", "-m", "other_runner"), name="other")

    first = build_runner_image(recipe)
    # Base and dependency layers come from the default runner's build; only the code is new.
    assert first.built_layers == ("code",)
    assert first.image.layers[:2] == images.runner.image.layers[:2]
    assert first.ref.startswith("longhaul.local/other:")

    (code / "__main__.py").write_text("print('other runner v2')\n")
    second = build_runner_image(recipe)
    assert second.built_layers == ("code",) and second.ref != first.ref

    (code / "__main__.py").touch()  # mtime alone is not an input
    assert build_runner_image(recipe).cache_hit

    containerd.import_image(images.store, second.image)
    done = containerd.run(second.ref, [], name="other-runner")
    assert (done.returncode, done.stdout.strip()) == (0, "other runner v2"), done.stderr


def test_archive_is_an_oci_layout_that_names_the_image(images: NodeImages, tmp_path: Path) -> None:
    archive = tmp_path / "runner.tar"
    with archive.open("wb") as out:
        images.runner.image.write_archive(images.store, out)
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        assert {"oci-layout", "index.json"} <= names
        index = json.loads(tar.extractfile("index.json").read())  # type: ignore[union-attr]
        assert index["manifests"][0]["annotations"][CONTAINERD_NAME] == images.runner.ref
        for desc in images.runner.image.blobs:
            member = f"blobs/sha256/{desc.digest.removeprefix('sha256:')}"
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            assert "sha256:" + hashlib.sha256(data).hexdigest() == desc.digest
        config_member = f"blobs/sha256/{images.runner.image.config.digest.removeprefix('sha256:')}"
        config = json.loads(tar.extractfile(config_member).read())  # type: ignore[union-attr]
    assert config["rootfs"]["diff_ids"] == [layer.digest for layer in images.runner.image.layers]
    assert config["config"]["Entrypoint"] == ["python3", "-m", "runner_stub"]
