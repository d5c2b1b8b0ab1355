"""``python -m lib.fetch`` against a loopback HTTP server (a thread on 127.0.0.1) that serves archives built here in
each publisher's format from the tiny native copies (CIFAR-10's tar.gz, Flowers-102's three files, DTD's tarball,
NEU's zip, RSNA's Kaggle zip, BreakHis' tarball): the readers' layout after unpacking, an interrupted download that
resumes, a checksum mismatch, a 404 and an HTML page, a full disk, re-use, the lock file, the size check, the
weights. Nothing leaves this machine: the spec's addresses are redirected with the mirror (``WB_MIRROR``)."""
from __future__ import annotations

import dataclasses
import errno
import hashlib
import io
import re
import shutil
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from lib import fetch, models, wavemix
from lib.data import sources
from lib.data.sources import Download
from lib.errors import WeightsError
from tests import native_fixtures as nf


class Loopback:
    """Serves ``files`` (URL path -> bytes) with HTTP Range; paths in ``cut`` send half their body on the next
    request and drop the connection; paths in ``html`` answer with a login page; anything else is a 404."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.cut: set[str] = set()
        self.html: dict[str, str] = {}   # path -> Content-Type of the page
        self.log: list[tuple[str, str | None]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                owner.log.append((self.path, self.headers.get("Range")))
                if self.path in owner.html:
                    page = b"<!DOCTYPE html>\n<html><body>Please sign in</body></html>"
                    self.send_response(200)
                    self.send_header("Content-Type", owner.html[self.path])
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
                if self.path not in owner.files:
                    self.send_error(404, "Not Found")
                    return
                data, start = owner.files[self.path], 0
                wanted = self.headers.get("Range")
                if wanted:
                    start = int(wanted.removeprefix("bytes=").split("-")[0])
                    if start >= len(data):
                        self.send_error(416, "Range Not Satisfiable")
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path in owner.cut:
                    owner.cut.discard(self.path)
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def requests(self, path: str) -> list[str | None]:
        """The Range header of every request for ``path``."""
        return [rng for p, rng in self.log if p == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server():
    loopback = Loopback()
    yield loopback
    loopback.close()


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setattr(fetch, "RETRY_WAIT_S", 0.0)
    monkeypatch.delenv(fetch.MIRROR_ENV, raising=False)


@pytest.fixture
def lock(tmp_path):
    return tmp_path / "checksums.lock"


def tar_gz(folder: Path, arcname: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname=arcname)
    return buffer.getvalue()


def zipped(folder: Path, prefix: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as pack:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                pack.write(path, prefix + path.relative_to(folder).as_posix())
    return buffer.getvalue()


def pin(monkeypatch, name: str, contents: dict[str, bytes], *, size: bool = True, md5: bool = True,
        **changes) -> None:
    """Replace ``name``'s downloads by the same files with the checksums of ``contents`` (file -> bytes)."""
    spec = sources.spec(name)
    downloads = tuple(dataclasses.replace(
        d, md5=hashlib.md5(contents[d.file]).hexdigest() if md5 else "",
        sha256="" if md5 else hashlib.sha256(contents[d.file]).hexdigest(),
        size=len(contents[d.file]) if size else None, checksum_from="the test's own archive")
        for d in spec.downloads)
    monkeypatch.setitem(sources._REGISTRY, name, dataclasses.replace(spec, downloads=downloads, **changes))


def serve(server: Loopback, name: str, contents: dict[str, bytes]) -> None:
    for file, data in contents.items():
        server.files[f"/{name}/{file}"] = data


@pytest.fixture(scope="module")
def archives(tmp_path_factory) -> dict[str, dict[str, bytes]]:
    """The three public datasets as their publishers ship them, built from the tiny native copies."""
    src = tmp_path_factory.mktemp("publishers")
    cifar = nf.write_cifar10(src, per_class=1)
    flowers = nf.write_flowers102(src, per_class=1)
    dtd = nf.write_dtd(src, per_class=1)
    return {
        "cifar10": {"cifar-10-python.tar.gz": tar_gz(cifar / "cifar-10-batches-py", "cifar-10-batches-py")},
        "flowers102": {"102flowers.tgz": tar_gz(flowers / "jpg", "jpg"),
                       "imagelabels.mat": (flowers / "imagelabels.mat").read_bytes(),
                       "setid.mat": (flowers / "setid.mat").read_bytes()},
        "dtd": {"dtd-r1.0.1.tar.gz": tar_gz(dtd / "dtd", "dtd")},
    }


def fetch_one(name, root, server, lock, **kwargs):
    kwargs.setdefault("min_share", 0.0)
    return fetch.fetch_dataset(name, root, mirror=server.url, lock=lock, progress=False, say=lambda line: None,
                               **kwargs)


def leftovers(root: Path) -> list[str]:
    """Anything a failed fetch could leave: staging folders, part files, kept archives."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or
                  p.name.endswith(".fetching"))


# --- the three public datasets, end to end -----------------------------------------------------------------------


def test_three_datasets_unpack_into_the_readers_layout(server, archives, lock, tmp_path, monkeypatch):
    root = tmp_path / "data"
    for name, contents in archives.items():
        pin(monkeypatch, name, contents)
        serve(server, name, contents)
        done = fetch_one(name, root, server, lock)
        source = sources.read_source(name, root)
        assert done.images == len(source.train) + len(source.test) > 0 and not done.reused
        assert done.downloaded == sum(len(b) for b in contents.values())
        assert (root / name / fetch.MARKER).is_file()
    assert sorted(p.name for p in root.iterdir()) == ["cifar10", "dtd", "flowers102"]  # archives removed
    assert (root / "flowers102" / "jpg").is_dir() and (root / "flowers102" / "setid.mat").is_file()
    assert not lock.exists()   # all three checksums are pinned: nothing recorded


def test_second_fetch_downloads_nothing(server, archives, lock, tmp_path, monkeypatch):
    pin(monkeypatch, "dtd", archives["dtd"])
    serve(server, "dtd", archives["dtd"])
    lines = []
    fetch_one("dtd", tmp_path, server, lock)
    before = len(server.log)
    again = fetch.fetch_dataset("dtd", tmp_path, mirror=server.url, lock=lock, min_share=0, progress=False,
                                say=lines.append)
    assert again.reused and again.downloaded == 0 and len(server.log) == before
    assert lines == [f"dtd: {again.images:,} images already in {tmp_path / 'dtd'}; nothing downloaded"]


def test_a_mirror_can_be_a_local_folder_and_a_stand_in_brings_its_own_checksums(archives, lock, tmp_path,
                                                                                 monkeypatch):
    data = archives["dtd"]["dtd-r1.0.1.tar.gz"]
    (tmp_path / "mirror" / "dtd").mkdir(parents=True)
    (tmp_path / "mirror" / "dtd" / "dtd-r1.0.1.tar.gz").write_bytes(data)
    monkeypatch.setenv(fetch.MIRROR_ENV, (tmp_path / "mirror").as_uri())
    stand_in = Download("https://example.invalid/dtd.tar.gz", "dtd-r1.0.1.tar.gz", size=len(data),
                        sha256=hashlib.sha256(data).hexdigest(), checksum_from="the rehearsal's stand-in")
    done = fetch.fetch_dataset("dtd", tmp_path / "data", lock=lock, min_share=0, progress=False,
                               downloads=(stand_in,), say=lambda line: None)
    assert done.images == len(sources.read_source("dtd", tmp_path / "data").train) * 2


# --- interruptions, bad answers, bad files -----------------------------------------------------------------------


def test_an_interrupted_download_resumes_with_a_range_request(server, archives, lock, tmp_path, monkeypatch):
    contents = archives["cifar10"]
    pin(monkeypatch, "cifar10", contents)
    serve(server, "cifar10", contents)
    path = "/cifar10/cifar-10-python.tar.gz"
    server.cut.add(path)
    done = fetch_one("cifar10", tmp_path, server, lock, retries=1)
    half = len(contents["cifar-10-python.tar.gz"]) // 2
    assert server.requests(path) == [None, f"bytes={half}-"] and done.images == 20


def test_a_download_cut_off_every_time_is_kept_and_resumed_by_the_next_call(server, archives, lock, tmp_path,
                                                                            monkeypatch):
    contents = archives["cifar10"]
    pin(monkeypatch, "cifar10", contents)
    serve(server, "cifar10", contents)
    path = "/cifar10/cifar-10-python.tar.gz"
    server.cut.add(path)
    with pytest.raises(fetch.FetchError, match="failed after 1 tries.*run the same command again to resume"):
        fetch_one("cifar10", tmp_path, server, lock, retries=0)
    part = tmp_path / ".downloads" / "cifar10" / "cifar-10-python.tar.gz.part"
    half = len(contents["cifar-10-python.tar.gz"]) // 2
    assert part.stat().st_size == half and not (tmp_path / "cifar10").exists()
    fetch_one("cifar10", tmp_path, server, lock, retries=0)
    assert server.requests(path) == [None, f"bytes={half}-"]
    assert sources.read_source("cifar10", tmp_path).train and leftovers(tmp_path) == [
        p for p in leftovers(tmp_path) if p.startswith("cifar10/")]


def test_a_checksum_mismatch_is_refused_and_the_part_file_removed(server, archives, lock, tmp_path):
    # the real spec: torchvision's md5 of the real CIFAR-10 archive, which the tiny copy cannot have
    serve(server, "cifar10", archives["cifar10"])
    with pytest.raises(fetch.FetchError, match=r"not the published cifar-10-python.tar.gz: md5 [0-9a-f]{32}, "
                                               r"published c58f30108f718f92721af3b95e74349a \(torchvision"):
        fetch_one("cifar10", tmp_path, server, lock)
    assert leftovers(tmp_path) == [] and not (tmp_path / "cifar10").exists()


def test_a_404_and_an_html_page_are_refused(server, archives, lock, tmp_path, monkeypatch):
    pin(monkeypatch, "dtd", archives["dtd"], size=False)
    with pytest.raises(fetch.FetchError, match=r"dtd/dtd-r1.0.1.tar.gz returned HTTP 404 Not Found; check the "
                                               r"address \(or the mirror in \$WB_MIRROR\)"):
        fetch_one("dtd", tmp_path, server, lock)
    server.html["/dtd/dtd-r1.0.1.tar.gz"] = "text/html; charset=utf-8"
    with pytest.raises(fetch.FetchError, match="returned an HTML page, not the file dtd: dtd-r1.0.1.tar.gz"):
        fetch_one("dtd", tmp_path, server, lock)
    server.html["/dtd/dtd-r1.0.1.tar.gz"] = "application/octet-stream"   # a page that does not say it is one
    with pytest.raises(fetch.FetchError, match="returned an HTML page"):
        fetch_one("dtd", tmp_path, server, lock)
    assert leftovers(tmp_path) == []


def test_a_full_disk_is_refused_before_the_first_byte(server, archives, lock, tmp_path, monkeypatch):
    contents = archives["dtd"]
    serve(server, "dtd", contents)
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(fetch.shutil, "disk_usage", lambda path: usage._replace(free=1000))
    pin(monkeypatch, "dtd", contents)   # size published: refused before asking the server
    with pytest.raises(fetch.FetchError, match=r"not enough free space for DTD: needs about .* MB, 0.0 MB free"):
        fetch_one("dtd", tmp_path, server, lock)
    assert server.log == []
    pin(monkeypatch, "dtd", contents, size=False)   # size unknown: refused on the server's Content-Length
    with pytest.raises(fetch.FetchError, match="not enough free space for dtd: dtd-r1.0.1.tar.gz"):
        fetch_one("dtd", tmp_path, server, lock)
    assert leftovers(tmp_path) == []


def test_a_disk_that_fills_up_while_writing_is_one_line(server, archives, lock, tmp_path, monkeypatch):
    contents = archives["dtd"]
    pin(monkeypatch, "dtd", contents)
    serve(server, "dtd", contents)

    class Full(io.RawIOBase):
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    real_open = open
    monkeypatch.setattr(fetch, "open", lambda path, mode="r", *a, **k: Full() if str(path).endswith(".part")
                        and "b" in mode and mode[0] in "aw" else real_open(path, mode, *a, **k), raising=False)
    with pytest.raises(fetch.FetchError, match="no space left on the disk of .*No space left on device.*free some"):
        fetch_one("dtd", tmp_path, server, lock)
    assert not (tmp_path / "dtd").exists()


# --- sizes: a partial copy is refused ----------------------------------------------------------------------------


def test_a_dataset_far_smaller_than_table_3_is_refused_with_its_counts(server, archives, lock, tmp_path,
                                                                       monkeypatch):
    pin(monkeypatch, "cifar10", archives["cifar10"])
    serve(server, "cifar10", archives["cifar10"])
    with pytest.raises(fetch.FetchError, match=r"CIFAR-10 has 20 images, far fewer than the 60,000 of the full "
                                               r"dataset \(the publisher's page"):
        fetch_one("cifar10", tmp_path, server, lock, min_share=fetch.MIN_SHARE)
    assert leftovers(tmp_path) == []
    nf.write_cifar10(tmp_path, per_class=7)   # a 130-image "CIFAR-10" already in place
    with pytest.raises(fetch.FetchError, match="has 130 images, far fewer than the 60,000.*move it away"):
        fetch_one("cifar10", tmp_path, server, lock, min_share=fetch.MIN_SHARE)
    assert fetch.size_problem("cifar10", tmp_path).startswith("CIFAR-10 has 130 images")
    assert fetch.expected_images("rsna")[0] == 26_684 and fetch.expected_images("breakhis_40x")[0] == 1_995


# --- the lock file, manual datasets and --from -------------------------------------------------------------------


def neu_zip(tmp_path: Path, name: str = "src") -> bytes:
    folder = nf.write_neu(tmp_path / name, per_class=2)
    return zipped(folder, prefix="NEU surface defect database/")


def test_without_a_published_checksum_the_first_sha256_is_locked_and_a_change_refused(server, lock, tmp_path):
    first = neu_zip(tmp_path)
    server.files["/neu/NEU-CLS.zip"] = first
    lines = []
    done = fetch.fetch_dataset("neu", tmp_path / "data", mirror=server.url, lock=lock, min_share=0,
                               progress=False, say=lines.append)
    assert done.images == 12 and sorted(p.name for p in done.folder.iterdir())[:2] == [".fetched.json", "Cr_1.bmp"]
    digest = hashlib.sha256(first).hexdigest()
    assert fetch.read_lock(lock) == {"neu/NEU-CLS.zip": (digest, len(first))}
    assert any(f"recorded sha256 {digest}" in line and "commit it" in line for line in lines)
    shutil.rmtree(done.folder)
    server.files["/neu/NEU-CLS.zip"] = first + b"\0"   # the publisher's file changed
    with pytest.raises(fetch.FetchError, match=f"differs from the NEU-CLS.zip recorded at its first download.*"
                                               f"recorded {digest}"):
        fetch_one("neu", tmp_path / "data", server, lock)
    assert leftovers(tmp_path / "data") == []


def test_a_dataset_behind_a_login_prints_its_steps(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WB_DATA", str(tmp_path))
    assert fetch.main(["rsna", "--no-progress"]) == 2
    out, err = capsys.readouterr()
    assert "rsna: a manual download\n  1. Sign in on Kaggle" in out
    assert "\n  3. python -m lib.fetch rsna --from rsna-pneumonia-detection-challenge.zip" in out
    assert err == "error: 1 dataset(s) need a manual download first (steps above): rsna\n"


def test_from_a_kaggle_zip_keeps_only_what_the_reader_needs(lock, tmp_path):
    folder = nf.write_rsna(tmp_path / "src", per_class=2)
    (folder / "stage_2_test_images").mkdir()
    (folder / "stage_2_test_images" / "x.dcm").write_bytes(b"not kept")
    archive = tmp_path / "rsna-pneumonia-detection-challenge.zip"
    archive.write_bytes(zipped(folder))
    done = fetch.fetch_dataset("rsna", tmp_path / "data", given=archive, lock=lock, min_share=0, progress=False,
                               say=lambda line: None)
    assert sorted(p.name for p in done.folder.iterdir()) == [".fetched.json", "stage_2_train_images",
                                                             "stage_2_train_labels.csv"]
    assert done.images == 4 and archive.is_file()   # the reader's own file is never moved or deleted
    assert "rsna/rsna-pneumonia-detection-challenge.zip" in fetch.read_lock(lock)


def test_the_cli_refuses_a_stand_in_with_its_counts_in_one_line(tmp_path, capsys):
    folder = nf.write_rsna(tmp_path / "src", per_class=2)
    archive = tmp_path / "rsna.zip"
    archive.write_bytes(zipped(folder))
    assert fetch.main(["rsna", "--from", str(archive), "--root", str(tmp_path / "data"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(r"error: RSNA Pneumonia Detection has 4 images, far fewer than the 26,684 of the full "
                        r"dataset \(stage_2_train_labels.csv.*\n", err)
    assert not (tmp_path / "data" / "rsna").exists()


def test_breakhis_unpacks_each_magnification_from_the_one_archive(lock, tmp_path):
    tree = nf.write_breakhis_40x(tmp_path / "src", per_class=2)
    archive = tmp_path / "BreaKHis_v1.tar.gz"
    archive.write_bytes(tar_gz(tree / "BreaKHis_v1", "BreaKHis_v1"))
    for mag in ("40", "400"):
        done = fetch.fetch_dataset(f"breakhis_{mag}x", tmp_path / "data", given=archive, lock=lock, min_share=0,
                                   progress=False, say=lambda line: None)
        pngs = sorted(p.parent.name for p in done.folder.rglob("*.png"))
        assert pngs == [f"{mag}X"] * 4 and done.images == 4
        assert len(sources.read_source(f"breakhis_{mag}x", tmp_path / "data").test) > 0


def test_a_pinned_dataset_from_a_folder_is_refused(tmp_path, lock):
    with pytest.raises(fetch.FetchError, match="is a folder; pass dtd-r1.0.1.tar.gz itself"):
        fetch.fetch_dataset("dtd", tmp_path / "data", given=tmp_path, lock=lock, progress=False)


# --- the registry: every dataset is verified somehow ---------------------------------------------------------------


@pytest.mark.parametrize("name", sources.names(workshop=False))
def test_every_dataset_has_a_pinned_checksum_or_a_reason_and_the_lock(name):
    spec = sources.spec(name)
    assert spec.downloads, f"{name}: nothing to fetch"
    for d in spec.downloads:
        if d.pinned:
            assert (not d.md5 or re.fullmatch(r"[0-9a-f]{32}", d.md5)) and \
                   (not d.sha256 or re.fullmatch(r"[0-9a-f]{64}", d.sha256)), d
            assert re.match(r"(torchvision|TensorFlow Datasets|astroNN) ", d.checksum_from), d.checksum_from
        else:   # the reason, and the lock file that then checks it
            assert d.checksum_from.startswith("none "), d.checksum_from
            assert "recorded at first use" in d.checksum_from
    if spec.access:
        assert f"python -m lib.fetch {name.split('_')[0] if name.startswith('breakhis') else name}" in spec.access
        assert "--from" in spec.access
    assert isinstance(fetch.read_lock(), dict)   # the committed lock file parses


def test_the_pinned_md5s_and_addresses_are_torchvisions():
    """Read back from the installed torchvision, so that a typo (or a torchvision that changed them) shows."""
    import inspect

    from torchvision import datasets as tv

    def first(name):
        return sources.spec(name).downloads[0]

    assert (first("cifar10").url, first("cifar10").md5) == (tv.CIFAR10.url, tv.CIFAR10.tgz_md5)
    assert (first("cifar100").url, first("cifar100").md5) == (tv.CIFAR100.url, tv.CIFAR100.tgz_md5)
    # the others keep them in private members: read them in the class's source instead
    for name, cls in (("dtd", tv.DTD), ("food101", tv.Food101)):
        code = inspect.getsource(cls)
        assert f'"{first(name).url}"' in code and f'"{first(name).md5}"' in code, name
    flowers, code = sources.spec("flowers102").downloads, inspect.getsource(tv.Flowers102)
    assert sorted(d.file for d in flowers) == ["102flowers.tgz", "imagelabels.mat", "setid.mat"]
    for d in flowers:
        assert d.url.endswith("/" + d.file) and f'"{d.url.removesuffix(d.file)}"' in code, d.file
        assert f'("{d.file}", "{d.md5}")' in code, d.file
    eurosat = inspect.getsource(tv.EuroSAT.download)
    assert first("eurosat").url in eurosat and f'md5="{first("eurosat").md5}"' in eurosat


def test_names_on_the_command_line():
    assert fetch.resolve_names(["cifar10,dtd", "breakhis", "dtd"]) == ["cifar10", "dtd", "breakhis_40x",
                                                                      "breakhis_100x", "breakhis_200x",
                                                                      "breakhis_400x"]
    assert len(fetch.resolve_names("all")) == 20
    assert fetch.weights_names(["resnet50", "wavemix_192_16,resnet50"]) == ["resnet50", "wavemix_192_16"]
    assert fetch.weights_names(["all"]) is None
    with pytest.raises(fetch.ConfigError, match="'digits' has nothing to fetch"):
        fetch.resolve_names("digits")


def test_the_make_target_passes_datasets_and_weights():
    make = (Path(fetch.__file__).parent.parent / "Makefile").read_text()
    assert re.search(r"^fetch: setup\n\t\$\(PY\) -m lib\.fetch \$\(DATASETS\) \$\(if \$\(WEIGHTS\),--weights\)",
                     make, re.M)


# --- weights ------------------------------------------------------------------------------------------------------


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))   # torch.hub's folder follows it; restored after the test
    assert Path(torch.hub.get_dir()) == tmp_path / "hub"
    return tmp_path / "hub" / "checkpoints"


def saved(state: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def test_torchvision_weights_are_hash_checked_by_torch_hub(server, torch_home):
    resnet = models.checkpoint_path(models.spec("resnet50")).name
    server.files[f"/weights/{resnet}"] = saved({"fc.bias": torch.zeros(3)})   # not the published file
    with pytest.raises(WeightsError, match=f"not the published {resnet} .*invalid hash value"):
        fetch.fetch_weights(["resnet50"], mirror=server.url, progress=False, say=lambda line: None)
    assert not torch_home.exists() or not any(torch_home.iterdir())
    data = saved({"w": torch.ones(2)})
    name = f"tiny-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    server.files[f"/weights/{name}"] = data
    fetch._fetch_hub_file(f"{server.url}/weights/{name}", torch_home / name, progress=False)
    assert (torch_home / name).read_bytes() == data


def test_wavemix_weights_fresh_from_init_are_refused_then_locked(server, torch_home, lock):
    path = f"/weights/{wavemix.CHECKPOINT_NAME}"
    torch.manual_seed(0)
    fresh = wavemix.WaveMix(num_classes=10, depth=1).state_dict()
    assert models.batchnorm_at_init(fresh)
    server.files[path] = saved(fresh)
    with pytest.raises(WeightsError, match="running mean at 0 and variance at 1: a freshly initialised network"):
        fetch.fetch_weights(["wavemix_192_16"], mirror=server.url, lock=lock, progress=False, say=lambda line: None)
    assert list(torch_home.glob("*")) == []
    trained = {k: v + torch.rand_like(v) if k.endswith(("running_mean", "running_var")) else v
               for k, v in fresh.items()}
    assert not models.batchnorm_at_init(trained)
    server.files[path] = saved(trained)
    fetch.fetch_weights(["wavemix_192_16"], mirror=server.url, lock=lock, progress=False, say=lambda line: None)
    key = f"weights/{wavemix.CHECKPOINT_NAME}"
    assert fetch.read_lock(lock)[key][0] == hashlib.sha256(server.files[path]).hexdigest()
    before = len(server.log)
    fetch.fetch_weights(["wavemix_192_16"], mirror=server.url, lock=lock, progress=False, say=lambda line: None)
    assert len(server.log) == before   # re-used
    (torch_home / wavemix.CHECKPOINT_NAME).write_bytes(saved({**trained, "pool.2.bias": torch.ones(10)}))
    with pytest.raises(fetch.FetchError, match="differs from the wavemix_192_16_75.06.pth recorded"):
        fetch.fetch_weights(["wavemix_192_16"], mirror=server.url, lock=lock, progress=False, say=lambda line: None)
