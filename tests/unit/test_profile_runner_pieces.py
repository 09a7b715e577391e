"""The pieces a foreign runner needs: its own requirements, an image archive's reference, the backend Service,
health checks that are no contact, and frames of an opaque protocol recorded without their content."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from longhaul.fixtures.images.profile_image import ArchiveImage, archive_ref, requirements_of
from longhaul.fixtures.kube.backend_service import endpoint_slice, service, service_url
from longhaul.ledger import Frame, Request, TcpAccept, evidence_of, from_json, to_json


def test_requirements_from_requirements_txt_and_pyproject(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "requirements.txt").write_text(
        "# deps\nwebsockets>=14\n-r other.txt\n\naiohttp==3.9  # http\n"
    )
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "pyproject.toml").write_text(
        '[project]\nname = "b"\ndependencies = ["websockets>=14", "pyyaml"]\n'
    )
    assert requirements_of([tmp_path / "a", tmp_path / "b"]) == ("websockets>=14", "aiohttp==3.9", "pyyaml")


def _tar(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_archive_references(tmp_path: Path) -> None:
    docker = tmp_path / "docker.tar"
    _tar(docker, {"manifest.json": json.dumps([{"RepoTags": ["example.com/runner:1"]}]).encode()})
    assert archive_ref(docker) == "example.com/runner:1"
    oci = tmp_path / "oci"
    oci.mkdir()
    index = {"manifests": [{"annotations": {"org.opencontainers.image.ref.name": "example.com/r:2"}}]}
    (oci / "index.json").write_text(json.dumps(index))
    assert ArchiveImage(oci).ref == "example.com/r:2"
    out = io.BytesIO()
    ArchiveImage(oci).write_archive(out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        assert tar.getnames() == ["index.json"]


def test_backend_service_points_at_the_harness_host() -> None:
    svc = service("backend-service", "ns", 8080, 40123)
    assert "selector" not in svc["spec"]
    assert svc["spec"]["ports"][0] == {"name": "http", "protocol": "TCP", "port": 8080, "targetPort": 40123}
    eps = endpoint_slice("backend-service", "ns", "198.18.0.7", 40123)
    assert eps["metadata"]["labels"]["kubernetes.io/service-name"] == "backend-service"
    assert eps["addressType"] == "IPv4" and eps["endpoints"][0]["addresses"] == ["198.18.0.7"]
    assert eps["ports"] == [{"name": "http", "protocol": "TCP", "port": 40123}]  # the names must match
    assert service_url("backend-service", "ns", 8080) == "http://backend-service.ns.svc.cluster.local:8080"


def test_health_checks_are_no_contact_and_frames_keep_no_content() -> None:
    health = [
        TcpAccept(conn="c1", peer="p"),
        Request(conn="c1", method="GET", path="/health", status=200, health=True),
    ]
    assert not evidence_of("s", health).contacted
    other = [*health, TcpAccept(conn="c2", peer="p"), Request(conn="c2", method="GET", path="/x", status=404)]
    seen = evidence_of("s", other)
    assert seen.contacted and seen.contacts() == ["TCP accept from p", "GET /x -> 404"]
    frame = Frame(conn="c3", session="s", size=12, binary=False)
    assert from_json(to_json(frame)) == frame
    assert evidence_of("s", [frame]).frames == (frame,)


def test_a_profiles_runner_recipe_carries_its_own_requirements(tmp_path: Path) -> None:
    from longhaul.fixtures.images.profile_image import recipe_for
    from longhaul.profiles import load_profile, reference_profile_path

    code = tmp_path / "my_runner"
    code.mkdir()
    (code / "requirements.txt").write_text("websockets>=14,<18\ntenacity>=8.2,<10\n")
    text = reference_profile_path().read_text()
    text = text.replace('image = "builtin:reference"', 'code = ["my_runner"]').replace(
        'command = "python3 -m runner_stub"', 'command = "python3 -m my_runner"'
    )
    (tmp_path / "p.toml").write_text(text)
    recipe = recipe_for(load_profile(tmp_path / "p.toml"))
    assert recipe.code_dirs == (code.resolve(),)
    assert recipe.pip_requirements == ("websockets>=14,<18", "tenacity>=8.2,<10")
    assert recipe.entrypoint == ("python3", "-m", "my_runner")
    assert recipe.name == "my-runner"


def test_a_foreign_rbac_manifest_is_retargeted_to_the_scenario_namespace() -> None:
    from longhaul.fixtures.kube.operator_identity import retarget

    docs = [
        {"kind": "ServiceAccount", "metadata": {"name": "op", "namespace": "ambient-code"}},
        {"kind": "ClusterRole", "metadata": {"name": "op"}, "rules": []},
        {
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "op"},
            "roleRef": {"kind": "ClusterRole", "name": "op"},
            "subjects": [{"kind": "ServiceAccount", "name": "op", "namespace": "ambient-code"}],
        },
    ]
    wide = retarget(docs, "lh-ns", cluster_wide=True)
    assert wide[0]["metadata"]["namespace"] == "lh-ns"
    assert wide[2]["kind"] == "ClusterRoleBinding" and wide[2]["subjects"][0]["namespace"] == "lh-ns"
    narrow = retarget(docs, "lh-ns", cluster_wide=False)
    assert narrow[2]["kind"] == "RoleBinding" and narrow[2]["metadata"] == {
        "name": "op",
        "namespace": "lh-ns",
    }
    assert docs[0]["metadata"]["namespace"] == "ambient-code"  # the manifest itself is untouched
