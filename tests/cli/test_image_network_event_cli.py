"""`openarts image`, `openarts network` and `openarts event` against a real server: images
registered from flags and from a reference body, networks created, changed and deleted,
and the events those networks leave, filtered by kind, name, level and time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.cli.conftest import Cli

pytestmark = pytest.mark.e2e


def test_images_listed_registered_and_deleted(cli: Cli, tmp_path: Path) -> None:
    table = cli.ok("image", "list")
    assert "python3.11-jupyterlab" in table and "BUILD_IN" in table and "ACTIVE" in table
    preset = cli.json("image", "list", "--type", "BUILD_IN", "--name", "python3")["data"]
    assert preset and all("python3" in image["name"] for image in preset)
    builtin = preset[0]["id"]
    shown = cli.ok("image", "show", builtin)
    assert builtin in shown and preset[0]["swr_path"] in shown
    assert "python3.11-jupyterlab" in cli.ok("image", "groups", "--type", "BUILD_IN")

    registered = cli.ok(
        "image",
        "create",
        "--swr-path",
        "registry.example.com/team/cli-custom:v1",
        "--description",
        "from flags",
        "--service",
        "notebook",
        "--resource-category",
        "cpu",
    )
    assert "registered image" in registered and "cli-custom:v1" in registered
    image = registered.split("registered image ")[1].split()[0]
    details = cli.json("image", "show", image)
    assert details["description"] == "from flags" and details["type"] == "DEDICATED"
    assert details["dev_services"] == ["NOTEBOOK"] and details["resource_categories"] == ["CPU"]
    mine = cli.json("image", "list", "--type", "DEDICATED")["data"]
    assert [i["id"] for i in mine] == [image]
    assert cli.json("image", "list", "--name", "cli-cust")["total"] == 1
    assert cli.json("image", "list", "--name", "cli-cust", "--exact")["total"] == 0

    # A reference body, with a flag beside it winning over the file's field.
    body = {
        "swr_path": "registry.example.com/team/cli-from-file:v2",
        "description": "from the file",
        "arch": "x86_64",
        "visibility": "PRIVATE",
        "workspace_id": "0",
    }
    path = tmp_path / "image.json"
    path.write_text(json.dumps(body))
    second = cli.json("image", "create", "-f", str(path), "--description", "flag wins")
    assert second["name"] == "cli-from-file" and second["description"] == "flag wins"

    assert "deleted image" in cli.ok("image", "delete", image)
    cli.ok("image", "delete", second["id"], "--force")
    gone = cli.fails("image", "show", image)
    assert "ModelArts.6797" in gone and image in gone
    assert "ModelArts.6797" in cli.fails("image", "delete", image)
    assert "preset" in cli.fails("image", "delete", builtin)
    assert cli.json("image", "list", "--type", "DEDICATED")["data"] == []


def test_image_refusals_are_said_in_words(cli: Cli, tmp_path: Path) -> None:
    assert "missing --swr-path" in cli.fails("image", "create", "--description", "no path")
    listing = tmp_path / "list.yaml"
    listing.write_text("- swr_path\n")
    assert "must hold a mapping" in cli.fails("image", "create", "-f", str(listing))
    broken = tmp_path / "broken.yaml"
    broken.write_text("swr_path: {oops\n")
    assert "neither YAML nor JSON" in cli.fails("image", "create", "-f", str(broken))
    bad = cli.fails("image", "create", "--swr-path", "not a path")
    assert "ModelArts." in bad and "swr_path" in bad


def test_networks_and_their_events(cli: Cli, tmp_path: Path) -> None:
    created = cli.ok(
        "network",
        "create",
        "--name",
        "cli-net-a",
        "--cidr",
        "192.168.128.0/17",
        "--description",
        "first one",
    )
    assert "created network cli-net-a-" in created and "192.168.128.0/17" in created
    first = created.split("created network ")[1].split()[0]
    table = cli.ok("network", "list")
    assert first in table and "cli-net-a" in table and "Active" in table
    shown = cli.ok("network", "show", first)
    assert "first one" in shown and "192.168.128.0/17" in shown

    # The reference's create body from a file; --name beside it wins.
    body = {
        "apiVersion": "v1",
        "kind": "Network",
        "metadata": {"labels": {"os.modelarts/name": "from-file"}},
        "spec": {"cidr": "172.16.0.0/16"},
    }
    path = tmp_path / "network.yaml"
    path.write_text(yaml.safe_dump(body))
    second = cli.json("network", "create", "-f", str(path), "--name", "cli-net-b")
    second_name = second["metadata"]["name"]
    assert second["metadata"]["labels"]["os.modelarts/name"] == "cli-net-b"
    assert second["spec"]["cidr"] == "172.16.0.0/16"
    overlap = cli.fails("network", "create", "--name", "cli-net-c", "--cidr", "192.168.200.0/24")
    assert "ModelArts." in overlap and "overlaps" in overlap
    selected = cli.json("network", "list", "-l", "os.modelarts/name=cli-net-b")["items"]
    assert [n["metadata"]["name"] for n in selected] == [second_name]

    assert "updated network" in cli.ok("network", "update", first, "--description", "changed")
    changed = cli.json("network", "show", first)
    assert changed["metadata"]["annotations"]["os.modelarts/description"] == "changed"
    cli.ok("network", "update", second_name, "--ipv6")
    assert cli.json("network", "show", second_name)["spec"]["ipv6enable"] is True

    # Events: every network's, merged; one network's; by level and time.
    every = cli.ok("event", "list")
    assert f"networks/{first}" in every and f"networks/{second_name}" in every
    assert "Created" in every
    one = cli.json("event", "list", "-r", "networks", "-n", first, "--since", "1h")
    assert [e["reason"] for e in one["items"]] == ["Created"]
    assert "192.168.128.0/17" in one["items"][0]["message"]
    assert cli.json("event", "list", "-r", "networks", "--type", "Warning")["items"] == []
    assert cli.json("event", "list", "--until", "2000-01-01T00:00:00")["items"] == []
    assert len(cli.json("event", "list", "-r", "networks", "--limit", "1")["items"]) == 1
    assert cli.json("event", "list", "-r", "pools")["items"] == []

    assert "deleted network" in cli.ok("network", "delete", first)
    gone = cli.fails("network", "show", first)
    assert "ModelArts.50025001" in gone and first in gone
    # The deleted network's events stay, asked for by name.
    reasons = [
        e["reason"] for e in cli.json("event", "list", "-r", "networks", "-n", first)["items"]
    ]
    assert "Created" in reasons and len(reasons) >= 2
    cli.ok("network", "delete", second_name)
    assert cli.json("network", "list")["items"] == []


def test_network_and_event_refusals_are_said_in_words(cli: Cli, tmp_path: Path) -> None:
    missing = cli.fails("network", "create", "--description", "nothing else")
    assert "--name (metadata.labels os.modelarts/name)" in missing and "--cidr" in missing
    assert "--cidr (spec.cidr)" in cli.fails("network", "create", "--name", "cli-no-cidr")
    outside = cli.fails("network", "create", "--name", "cli-net-x", "--cidr", "10.0.0.0/8")
    assert "ModelArts." in outside and "10.0.0.0/8" in outside
    listing = tmp_path / "list.yaml"
    listing.write_text("[1, 2]\n")
    assert "must hold a mapping" in cli.fails("network", "create", "-f", str(listing))
    assert "nothing to change" in cli.fails("network", "update", "no-such-net")
    for command in (("show",), ("delete",), ("update", "--description", "x")):
        error = cli.fails("network", command[0], "no-such-net", *command[1:])
        assert "ModelArts.50025001" in error and "not found" in error, command

    assert "--name needs --resource" in cli.fails("event", "list", "-n", "some-pool")
    assert "--since must be a time" in cli.fails("event", "list", "--since", "yesterday")
    assert "--until must be a time" in cli.fails("event", "list", "--until", "soon")
    assert "'pools'" in cli.fails("event", "list", "-r", "disks", code=2)
