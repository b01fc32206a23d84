"""The transfer engine: faults, verification, skipping, layouts, untrusted input, fail-fast."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pystac
import pytest

import stac_asset
from stac_asset import HttpClient, RetryPolicy, blocking
from tests.conftest import make_item
from tests.peers.http_peer import HttpPeer

FAST_RETRY = RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.05)


def multihash(data: bytes, name: str = "sha2-256") -> str:
    prefix, digest = {
        "sha2-256": ("1220", hashlib.sha256(data).digest()),
        "sha2-512": ("1340", hashlib.sha512(data).digest()),
        "md5": ("d50110", hashlib.md5(data).digest()),
        "blake2b-512": ("c0e40240", hashlib.blake2b(data).digest()),
    }[name]
    return prefix + digest.hex()


@pytest.fixture(scope="module")
def many_files(http_root: Path) -> dict[str, bytes]:
    """40 files of 64-300 KiB of random bytes under ``many/``."""
    files = {}
    for index in range(40):
        data = os.urandom(64 * 1024 + index * 6 * 1024)
        (http_root / "many").mkdir(exist_ok=True)
        (http_root / "many" / f"f{index:02d}.bin").write_bytes(data)
        files[f"f{index:02d}.bin"] = data
    return files


def many_item(http: HttpPeer, files: dict[str, bytes], checksums: bool = True) -> pystac.Item:
    item = make_item("MANY", {name: http.url_for(f"many/{name}") for name in files})
    for name, data in files.items():
        if checksums:
            item.assets[name].extra_fields["file:checksum"] = multihash(data)
            item.assets[name].extra_fields["file:size"] = len(data)
    return item


def no_partials(directory: Path) -> bool:
    return not [p for p in directory.rglob(".*.part")]


def test_survives_cut_bodies_and_503s(
    http: HttpPeer, many_files: dict[str, bytes], tmp_path: Path
) -> None:
    http.configure(cut_rate=0.2, error_rate=0.1, seed=7)
    client = HttpClient(retry=FAST_RETRY)
    blocking.download_item(many_item(http, many_files), tmp_path, clients=[client])
    for name, data in many_files.items():
        assert (tmp_path / name).read_bytes() == data
    assert no_partials(tmp_path)
    statuses = [r["status"] for r in http.log()]
    assert statuses.count(503) > 0 and any(r["range"] for r in http.log())


@pytest.mark.parametrize("algorithm", ["sha2-256", "sha2-512", "md5", "blake2b-512"])
def test_checksum_algorithms(
    http: HttpPeer, many_files: dict[str, bytes], tmp_path: Path, algorithm: str
) -> None:
    data = many_files["f01.bin"]
    item = make_item("SUM", {"f": http.url_for("many/f01.bin")})
    item.assets["f"].extra_fields["file:checksum"] = multihash(data, algorithm)
    blocking.download_item(item, tmp_path)
    assert (tmp_path / "f01.bin").read_bytes() == data


@pytest.mark.parametrize(
    ("field", "value", "pattern"),
    [
        ("file:checksum", multihash(b"something else"), r"sha2-256 is .*file:checksum says"),
        ("file:size", 12, r"file:size says 12"),
    ],
)
def test_mismatch_leaves_nothing_at_final_path(
    http: HttpPeer,
    many_files: dict[str, bytes],
    tmp_path: Path,
    field: str,
    value: object,
    pattern: str,
) -> None:
    item = make_item("BAD", {"f": http.url_for("many/f02.bin")})
    item.assets["f"].extra_fields[field] = value
    with pytest.raises(stac_asset.DownloadError, match=pattern):
        blocking.download_item(item, tmp_path)
    assert not (tmp_path / "f02.bin").exists()
    assert no_partials(tmp_path)


def test_skips_complete_files_and_replaces_wrong_ones(
    http: HttpPeer, many_files: dict[str, bytes], tmp_path: Path
) -> None:
    names = ["f03.bin", "f04.bin"]
    files = {n: many_files[n] for n in names}
    item = many_item(http, files)
    blocking.download_item(item, tmp_path)
    (tmp_path / "f04.bin").write_bytes(b"corrupt")  # wrong size and checksum
    http.reset()
    skipped: list[str] = []
    blocking.download_item(
        item,
        tmp_path,
        messages=lambda m: (
            skipped.append(m.key) if isinstance(m, stac_asset.SkipAssetDownload) else None
        ),
    )
    assert skipped == ["f03.bin"]
    assert [r["path"] for r in http.log()] == ["/many/f04.bin"]
    assert (tmp_path / "f04.bin").read_bytes() == files["f04.bin"]
    http.reset()
    blocking.download_item(item, tmp_path, overwrite=True)
    assert len(http.log()) == 2


def test_include_exclude_by_key_and_role(
    http: HttpPeer, many_files: dict[str, bytes], tmp_path: Path
) -> None:
    item = make_item("ROLES", {n: http.url_for(f"many/{n}") for n in ["f05.bin", "f06.bin"]})
    item.assets["f06.bin"].roles = ["thumbnail"]
    out = blocking.download_item(item, tmp_path / "a", exclude=["thumbnail"])
    assert list(out.assets) == ["f05.bin"]
    out = blocking.download_item(
        item, tmp_path / "b", include=["thumbnail"], keep_non_downloaded=True
    )
    assert (tmp_path / "b" / "f06.bin").exists() and not (tmp_path / "b" / "f05.bin").exists()
    assert out.assets["f05.bin"].href == http.url_for("many/f05.bin")
    with pytest.raises(stac_asset.CannotIncludeAndExclude):
        blocking.download_item(item, tmp_path, include=["a"], exclude=["b"])


def test_alternate_preferred_and_fallback(
    http: HttpPeer, many_files: dict[str, bytes], tmp_path: Path
) -> None:
    item = make_item("ALT", {"f": http.url_for("many/missing.bin")})
    item.assets["f"].extra_fields["alternate"] = {"mirror": {"href": http.url_for("many/f07.bin")}}
    # Fallback: the main href is gone, the alternate is used.
    out = blocking.download_item(item, tmp_path / "fallback", file_name_strategy="key")
    assert (tmp_path / "fallback" / "f.bin").read_bytes() == many_files["f07.bin"]
    # The alternate that was used already records where the bytes came from.
    assert out.assets["f"].extra_fields["alternate"] == {
        "mirror": {"href": http.url_for("many/f07.bin")}
    }
    assert out.assets["f"].href == str(tmp_path / "fallback" / "f.bin")
    # Preference: the alternate is asked first.
    http.reset()
    blocking.download_item(item, tmp_path / "prefer", alternate_assets=["mirror"])
    assert [r["path"] for r in http.log()] == ["/many/f07.bin"]


def test_collisions_are_detected_before_any_byte(
    http: HttpPeer, many_files: dict[str, bytes], tmp_path: Path
) -> None:
    (http.root / "other").mkdir(exist_ok=True)
    (http.root / "other" / "f08.bin").write_bytes(b"other bytes")
    item = make_item("DUP", {"a": http.url_for("many/f08.bin"), "b": http.url_for("other/f08.bin")})
    with pytest.raises(stac_asset.AssetOverwriteError, match=r"DUP/a .*DUP/b .*f08\.bin"):
        blocking.download_item(item, tmp_path)
    assert http.log() == [] and list(tmp_path.iterdir()) == []
    blocking.download_item(item, tmp_path, on_collision="rename")
    assert (tmp_path / "f08.bin").read_bytes() == many_files["f08.bin"]
    assert (tmp_path / "f08-b.bin").read_bytes() == b"other bytes"


def test_collisions_across_items_of_a_collection(
    http: HttpPeer, many_files: dict[str, bytes], tmp_path: Path
) -> None:
    one = make_item("one", {"f": http.url_for("many/f09.bin")})
    two = make_item("two", {"f": http.url_for("many/f10.bin")})
    with pytest.raises(stac_asset.AssetOverwriteError, match="one/f .*two/f"):
        blocking.download_item_collection(
            [one, two], tmp_path, path_template="flat", file_name_strategy="key"
        )
    assert not (tmp_path / "flat").exists()


def test_path_template_and_item_collection_file(
    http: HttpPeer, many_files: dict[str, bytes], tmp_path: Path
) -> None:
    one = make_item("one", {"f": http.url_for("many/f11.bin")})
    one.collection_id = "s2"
    result = blocking.download_item_collection(
        [one], tmp_path, path_template="${collection}/${year}/${id}"
    )
    assert (tmp_path / "s2" / "2024" / "one" / "f11.bin").read_bytes() == many_files["f11.bin"]
    written = json.loads((tmp_path / "s2" / "2024" / "one" / "one.json").read_text())
    assert written["assets"]["f"]["href"] == "f11.bin"
    # A feature of the collection file is its item file: hrefs relative to the self link.
    collection = json.loads((tmp_path / "item-collection.json").read_text())
    assert collection["features"] == [written]
    self_links = [link["href"] for link in written["links"] if link["rel"] == "self"]
    assert self_links == [str(tmp_path / "s2/2024/one/one.json")]
    assert result.items[0].assets["f"].href == str(tmp_path / "s2/2024/one/f11.bin")


@pytest.mark.parametrize(
    ("key", "href", "template"),
    [
        ("k", "http://h/a/..", None),
        ("../../escape", "http://h/x.bin", None),
        ("/etc/passwd", "http://h/x.bin", None),
        ("C:evil", "http://h/x.bin", None),
        ("nul\x00", "http://h/x.bin", None),
        ("k", "http://h/x.bin", "../outside"),
        ("k", "http://h/x.bin", "/abs/${id}"),
        ("k", "http://h/x.bin", "${platform}"),
    ],
)
def test_untrusted_names_stay_inside(
    tmp_path: Path, key: str, href: str, template: str | None
) -> None:
    item = make_item("X", {key: href})
    item.properties["platform"] = "../../up"
    dest = tmp_path / "dest"
    options = {"file_name_strategy": "key"} if "x.bin" in href else {}
    with pytest.raises(stac_asset.UnsafePathError):
        if template:
            blocking.download_item_collection([item], dest, path_template=template, **options)
        else:
            blocking.download_item(item, dest, **options)
    assert [p for p in tmp_path.rglob("*") if p != dest] == []


def test_href_path_traversal_in_file_name(tmp_path: Path) -> None:
    item = make_item("X", {"k": "http://h/a/%2e%2e%2fescape.bin"})
    with pytest.raises(stac_asset.UnsafePathError):
        blocking.download_item(item, tmp_path / "dest")
    assert not (tmp_path / "escape.bin").exists()


def test_unknown_template_value_is_explained(tmp_path: Path) -> None:
    item = make_item("X", {"k": "http://h/x.bin"})
    with pytest.raises(ValueError, match=r"uses 'nope', which item 'X' does not have"):
        blocking.download_item(item, tmp_path, path_template="${nope}")


def test_fail_fast_stops_and_cleans(
    http: HttpPeer, many_files: dict[str, bytes], tmp_path: Path
) -> None:
    http.configure(latency_ms=100)
    hrefs = {"gone": http.url_for("many/gone.bin")}
    hrefs.update({n: http.url_for(f"many/{n}") for n in list(many_files)[:20]})
    item = make_item("FF", hrefs)
    with pytest.raises(stac_asset.NotFoundError, match="gone.bin"):
        blocking.download_item(item, tmp_path, fail_fast=True, max_concurrent_downloads=4)
    assert no_partials(tmp_path)
    assert len(http.log()) < len(hrefs)


def test_keep_going_reports_every_failure(
    http: HttpPeer, many_files: dict[str, bytes], tmp_path: Path
) -> None:
    item = make_item(
        "KG",
        {
            "ok": http.url_for("many/f12.bin"),
            "a": http.url_for("many/gone-a.bin"),
            "b": http.url_for("many/gone-b.bin"),
        },
    )
    with pytest.raises(stac_asset.DownloadError) as info:
        blocking.download_item(item, tmp_path)
    assert {f.key for f in info.value.failures} == {"a", "b"}
    assert info.value.item is not None
    assert (tmp_path / "f12.bin").read_bytes() == many_files["f12.bin"]


def test_per_host_limit(http: HttpPeer, many_files: dict[str, bytes], tmp_path: Path) -> None:
    http.configure(latency_ms=50)
    item = many_item(http, dict(list(many_files.items())[:8]), checksums=False)
    blocking.download_item(item, tmp_path, max_concurrent_per_host=2)
    # Ports used at once at the server are bounded by the per-host limit.
    assert len({r["client_port"] for r in http.log()}) <= 2


def test_server_ignoring_ranges_restarts_cleanly(
    http: HttpPeer, many_files: dict[str, bytes], tmp_path: Path
) -> None:
    http.configure(ignore_range=True, cut_first_n={"/many/f13.bin": 2})
    client = HttpClient(retry=FAST_RETRY)
    blocking.download_file(http.url_for("many/f13.bin"), tmp_path / "f.bin", clients=[client])
    assert (tmp_path / "f.bin").read_bytes() == many_files["f13.bin"]
    log = http.requests_for("/many/f13.bin")
    assert [r["status"] for r in log] == [200, 200, 200]
    assert log[1]["range"] is not None  # it asked to resume, got the whole body, started over


def test_changed_object_restarts_from_zero(
    http: HttpPeer, many_files: dict[str, bytes], tmp_path: Path
) -> None:
    path = http.root / "many" / "changing.bin"
    path.write_bytes(b"old" * 100_000)
    new = b"new" * 100_000

    def change_after_first_chunk(message: stac_asset.Message) -> None:
        if isinstance(message, stac_asset.WriteChunk) and path.read_bytes() != new:
            path.write_bytes(new)

    http.configure(cut_first_n={"/many/changing.bin": 1})
    item = make_item("CHANGE", {"f": http.url_for("many/changing.bin")})
    blocking.download_item(
        item, tmp_path, clients=[HttpClient(retry=FAST_RETRY)], messages=change_after_first_chunk
    )
    # If-Range did not match the new ETag, so the server sent the whole new object.
    assert (tmp_path / "changing.bin").read_bytes() == new
    log = http.requests_for("/many/changing.bin")
    assert log[1]["headers"].get("If-Range") and log[1]["status"] == 200


def test_written_item_never_carries_a_signature(
    http: HttpPeer, many_files: dict[str, bytes], tmp_path: Path
) -> None:
    sas = "sv=2024-05-04&se=2030-01-01&sp=r&sr=b&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D"
    item = make_item(
        "SIGNED",
        {
            "f": http.url_for("many/f14.bin") + "?" + sas,
            "kept": http.url_for("many/x.bin") + "?" + sas,
        },
    )
    item.assets["f"].extra_fields["alternate"] = {"mirror": {"href": "https://m.example/f?" + sas}}
    blocking.download_item(item, tmp_path, exclude=["kept"], keep_non_downloaded=True)
    text = (tmp_path / "SIGNED.json").read_text()
    assert "sig=" not in text and "c2VjcmV0" not in text
    written = json.loads(text)
    assert written["assets"]["f"]["alternate"]["origin"]["href"] == http.url_for("many/f14.bin")
    assert written["assets"]["f"]["alternate"]["mirror"]["href"] == "https://m.example/f"
    assert written["assets"]["kept"]["href"] == http.url_for("many/x.bin")
    assert (tmp_path / "f14.bin").read_bytes() == many_files["f14.bin"]
