"""The local verbs as real processes: image verbs, help, completions, man page, desktop file.
None of them needs the daemon (no bus is given, and none is reachable)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pycdlib
import pytest

from tests.cli.conftest import CLIENTS, Result, run_burnctl

SHARE = CLIENTS / "share"


@pytest.fixture(scope="module")
def tree(world: Path) -> Path:
    root = world / "tree"
    (root / "docs").mkdir(parents=True)
    (root / "hello.txt").write_text("hello, disc\n")
    (root / "docs" / "big.bin").write_bytes(bytes(range(256)) * 300)
    (root / "link").symlink_to("hello.txt")
    return root


@pytest.fixture(scope="module")
def image(world: Path, tree: Path) -> Path:
    out = world / "tree.iso"
    result = run_burnctl("image", "create", str(tree), str(out), "-V", "MYDISC", SOURCE_DATE_EPOCH="1700000000")
    assert result.code == 0, result.err
    return out


def names(iso: Path) -> set[str]:
    """The Rock Ridge names, read by pycdlib (an independent reader)."""
    reader = pycdlib.PyCdlib()
    reader.open(str(iso))
    try:
        return {path for path, _, files in reader.walk(rr_path="/") for path in
                [f"{path.rstrip('/')}/{f}" for f in files]}
    finally:
        reader.close()


def test_create_makes_an_image_an_independent_reader_agrees_with(image):
    assert {"/hello.txt", "/docs/big.bin", "/link"} <= names(image)


def test_info_json(image, burnctl):
    doc = burnctl("image", "info", str(image), "--json").json()
    assert doc["schema"] == "burnctl.image-info/1"
    assert doc["format"] == "iso" and doc["size"] == image.stat().st_size
    assert doc["sessions"][0]["tracks"][0]["data"] is True
    assert doc["iso"]["volume"]["volume_id"] == "MYDISC"
    assert doc["iso"]["rock_ridge"] and doc["iso"]["tree"]["files"] == 2


def test_info_text(image, burnctl):
    result = burnctl("image", "info", str(image))
    assert result.code == 0 and "iso image" in result.out and "volume MYDISC" in result.out


def test_ls_json_and_text(image, burnctl):
    doc = burnctl("--json", "image", "ls", str(image)).json()
    assert doc["schema"] == "burnctl.image-ls/1"
    by_path = {e["path"]: e for e in doc["entries"]}
    assert by_path["/docs/big.bin"]["size"] == 76800 and by_path["/link"]["target"] == "hello.txt"
    text = burnctl("image", "ls", str(image), "/docs").out.splitlines()
    assert len(text) == 2 and text[0].startswith("d") and text[1].endswith("/docs/big.bin")
    assert burnctl("image", "ls", str(image), "/nothing").code == 2


def test_extract_round_trips(image, tree, world, burnctl):
    target = world / "out"
    result = burnctl("image", "extract", str(image), str(target))
    assert result.code == 0, result.err
    assert (target / "docs" / "big.bin").read_bytes() == (tree / "docs" / "big.bin").read_bytes()
    assert (target / "link").is_symlink()
    again = burnctl("image", "extract", str(image), str(target), "--json").json()
    assert again["schema"] == "burnctl.image-extract/1" and again["skipped"]


def test_edit_applies_operations_in_order(image, world, burnctl):
    extra = world / "extra.txt"
    extra.write_text("added\n")
    out = world / "edited.iso"
    result = burnctl("image", "edit", str(image), "-o", str(out), "--add", f"/new.txt={extra}",
                     "--rename", "/new.txt=/docs/moved.txt", "--remove", "/hello.txt", "--json")
    assert result.code == 0, result.err
    assert result.json()["schema"] == "burnctl.image-edit/1"
    listed = names(out)
    assert "/docs/moved.txt" in listed and "/hello.txt" not in listed and "/new.txt" not in listed


def test_edit_usage_errors(image, burnctl):
    assert burnctl("image", "edit", str(image), "--remove", "/hello.txt").code == 2  # no -o / --in-place
    assert burnctl("image", "edit", str(image), "-o", "x.iso").code == 2  # nothing to do
    assert burnctl("image", "edit", str(image), "-o", "x.iso", "--add", "nonsense").code == 2


def test_edit_of_a_missing_path_is_an_image_error(image, world, burnctl):
    result = burnctl("image", "edit", str(image), "-o", str(world / "e.iso"), "--remove", "/absent")
    assert result.code == 10 and result.err.startswith("burnctl: ") and "Traceback" not in result.err


def test_convert_to_bin_cue_and_back(image, world, burnctl):
    cue = world / "tree.cue"
    doc = burnctl("image", "convert", str(image), str(cue), "--json").json()
    assert doc["schema"] == "burnctl.image-convert/1" and doc["to"] == "cue"
    assert (world / "tree.bin").stat().st_size == image.stat().st_size // 2048 * 2352
    back = world / "back.iso"
    assert burnctl("image", "convert", str(cue), str(back)).code == 0
    assert back.read_bytes() == image.read_bytes()


def test_checksum_with_sums_file(image, world, burnctl):
    digest = hashlib.sha256(image.read_bytes()).hexdigest()
    good = world / "SHA256SUMS"
    good.write_text(f"{digest}  {image.name}\n")
    doc = burnctl("image", "checksum", str(image), "--sums", str(good), "--json").json()
    assert doc["schema"] == "burnctl.image-checksum/1" and doc["ok"] is True
    assert doc["digests"]["sha256"] == digest and doc["sums"]["status"] == "ok"
    bad = world / "BADSUMS"
    bad.write_text(f"{'0' * 64}  {image.name}\n")
    result = burnctl("image", "checksum", str(image), "--sums", str(bad))
    assert result.code == 8 and "does not match" in result.err


def test_not_an_image(world, burnctl):
    junk = world / "junk.iso"
    junk.write_text("just some text\n" * 100)
    result = burnctl("image", "info", str(junk))
    assert result.code == 10 and "not a disc image" in result.err and "Traceback" not in result.err
    missing = burnctl("image", "info", str(world / "missing.iso"))
    assert missing.code == 10 and "Traceback" not in missing.err


def test_usage_errors_exit_2(burnctl):
    assert burnctl().code == 2
    assert burnctl("frobnicate").code == 2
    assert burnctl("write", "x.iso", "--copies", "0").code == 2
    assert burnctl("verify", "virtual0", "--sha256", "abc").code == 2


def test_help_documents_exit_codes(burnctl):
    for argv in (("--help",), ("write", "--help"), ("image", "ls", "--help")):
        text = burnctl(*argv).out
        assert "exit codes:" in text and "  9  cancelled" in text and "  3  the burnd daemon is not reachable" in text


@pytest.mark.parametrize(("shell", "shipped"), [
    ("bash", "bash-completion/completions/burnctl"),
    ("zsh", "zsh/site-functions/_burnctl"),
    ("fish", "fish/vendor_completions.d/burnctl.fish"),
])
def test_shipped_completions_are_generated_from_the_parser(shell, shipped, burnctl):
    generated = burnctl("completion", shell).out
    assert generated == (SHARE / shipped).read_text(), f"regenerate with: burnctl completion {shell} > clients/share/{shipped}"
    for verb in ("write", "verify", "rip", "checksum", "virtual"):
        assert verb in generated


def test_shipped_man_page_is_generated_from_the_parser(burnctl):
    page = burnctl("manpage").out
    assert page == (SHARE / "man/man1/burnctl.1").read_text(), "regenerate with: burnctl manpage > clients/share/man/man1/burnctl.1"
    for text in (".SS write IMAGE [DRIVE]", "\\fB\\-\\-no\\-verify\\fR", ".SH EXIT STATUS", "BURNCTL_BUS"):
        assert text in page


def bash_complete(words: list[str]) -> list[str]:
    script = (f"source {SHARE / 'bash-completion/completions/burnctl'}; COMP_WORDS=({' '.join(words)}); "
              f"COMP_CWORD={len(words) - 1}; _burnctl; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout.split()


def test_bash_completion_completes_verbs_and_options():
    assert bash_complete(["burnctl", "ve"]) == ["verify"]
    assert set(bash_complete(["burnctl", "image", "c"])) == {"create", "convert", "checksum"}
    assert "--no-verify" in bash_complete(["burnctl", "write", "--no"])


@pytest.mark.parametrize(("shell", "script"), [("zsh", "zsh/site-functions/_burnctl"),
                                                ("fish", "fish/vendor_completions.d/burnctl.fish")])
def test_zsh_and_fish_completions_parse(shell, script):
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed (Debian package {shell})")
    subprocess.run([shell, "-n", str(SHARE / script)], check=True)


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed (Debian package fish)")
def test_fish_completion_offers_verbs_and_options():
    script = f"source {SHARE / 'fish/vendor_completions.d/burnctl.fish'}; complete -C 'burnctl ver'; " \
             f"complete -C 'burnctl write --no-v'"
    out = subprocess.run(["fish", "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0].startswith("verify") and "--no-verify" in out


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None,
                    reason="desktop-file-validate is not installed (Debian package desktop-file-utils)")
def test_desktop_file_validates():
    desktop = CLIENTS / "desktop" / "burnd.desktop"
    result = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout == "", result.stdout
    text = desktop.read_text()
    assert "application/x-iso-image;" in text and "application/x-cd-image;" in text
    assert "Name=Burn to disc…" in text and "Exec=burnctl write %f" in text
    assert "Name=Open as virtual drive" in text and "Exec=burnctl attach %f" in text


def test_unreachable_bus_is_one_line(world, burnctl):
    result: Result = burnctl("--bus", f"unix:path={world}/no-such-socket", "drives")
    assert result.code == 3
    assert result.err.count("\n") == 1 and "burnd is not reachable" in result.err and "systemctl start burnd" in result.err
    env_result = burnctl("drives", BURNCTL_BUS=f"unix:path={world}/no-such-socket")
    assert env_result.code == 3
