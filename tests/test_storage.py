"""Disk failures say what happened and leave nothing behind; partial files a crash left are swept.

A full disk and read-only folders need a real filesystem that fails. We run the server as a real
subprocess: with ``RLIMIT_FSIZE`` (any user: writes past the limit fail with EFBIG, the same path as
ENOSPC in our code), and, where unprivileged user namespaces allow it, inside ``unshare`` with a
64 KiB tmpfs (a real ENOSPC) or a read-only bind mount (a real EROFS). ``chmod`` is not used: the
tests may run as root, where it stops nothing.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from tests.disks import namespaces_work, with_file_size_limit
from tests.fakes import media
from tests.videohelp import leftovers

OPENAI = "OPENAI_API_KEY"
BIG = (600, 600)  # a ~1 MB PNG: far over the limits below


def server_env(make_settings, tmp_path: Path) -> dict[str, str]:
    # Images on OpenAI; video on Gemini Omni (OpenAI's Videos API is retired).
    settings = make_settings(OPENAI, "GEMINI_API_KEY", env={"GENERATE_MEDIA_PRIORITY_IMAGE": "openai"})
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GENERATE_MEDIA_OUTPUT_DIR": str(settings.output_dir),
        "GENERATE_MEDIA_STATE_DIR": str(settings.state_dir),
        "GENERATE_MEDIA_POLL_INTERVAL_S": "0.01",
        **dict(settings.env),
        **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},  # the code under test, if set
    }


needs_namespaces = pytest.mark.skipif(
    not namespaces_work(), reason="unprivileged user and mount namespaces are not available here"
)


def in_namespace(env: dict[str, str], setup: str, pid_file: Path) -> StdioServerParameters:
    """The server inside its own user and mount namespace, after ``setup`` (mounts) has run."""
    script = f'{setup} && echo $$ > "{pid_file}" && exec "{sys.executable}" -m generate_media'
    args = ["--user", "--map-root-user", "--mount", "sh", "-c", script]
    return StdioServerParameters(command=shutil.which("unshare") or "unshare", args=args, env=env)


def error_of(result) -> dict:
    assert result.is_error, result.content
    assert "\n" not in result.content[0].text and "internal error" not in result.content[0].text
    return result.structured_content["error"]


async def test_a_file_size_limit_is_disk_full_naming_the_folder_and_leaves_nothing(
    make_settings, fake, out_dir, tmp_path
):
    fake.state["openai_image_bytes"] = media.noisy_png(*BIG)
    env = server_env(make_settings, tmp_path)
    with anyio.fail_after(60):
        async with Client(with_file_size_limit(env, 64 * 1024), mode="legacy") as client:
            full = await client.call_tool("generate_media", {"prompt": "too big"})
            fake.state["openai_image_bytes"] = media.png(64, 64)
            fits = await client.call_tool("generate_media", {"prompt": "small enough"})
    error = error_of(full)
    assert error["code"] == "disk_full" and error["folder"] == str(out_dir.resolve())
    assert str(out_dir.resolve()) in full.content[0].text and "output_dir" in full.content[0].text
    assert not fits.is_error, fits.content  # the server stays healthy
    assert leftovers(out_dir) == [] and len(list(out_dir.iterdir())) == 1


async def test_a_video_download_past_the_file_size_limit_keeps_the_job(make_settings, fake, out_dir, tmp_path):
    fake.state["video_seconds"] = 40.0  # about 370 kB: past the limit, which the state database fits in
    env = server_env(make_settings, tmp_path)
    with anyio.fail_after(60):
        async with Client(with_file_size_limit(env, 160 * 1024), mode="legacy") as client:
            full = await client.call_tool(
                "generate_media", {"media_type": "video", "prompt": "a long one", "wait_s": 0}
            )
    error = error_of(full)
    assert error["code"] == "disk_full" and f"job_id={error['job_id']!r}" in full.content[0].text
    assert leftovers(out_dir) == []
    fake.state["video_seconds"] = 1.0
    with anyio.fail_after(60):
        async with Client(StdioServerParameters(command=sys.executable, args=["-m", "generate_media"], env=env)) as c:
            done = await c.call_tool("generate_media", {"job_id": error["job_id"]})
    assert done.structured_content["status"] == "completed", done.content
    assert len([r for r in fake.of("google", "/interactions") if r.method == "POST"]) == 1


async def test_a_state_database_past_the_file_size_limit_is_disk_full_naming_the_state_folder(
    make_settings, fake, tmp_path
):
    """SQLite reports a write past ``ulimit -f`` as a plain I/O error; it is said as the limit it is
    (found by bench/hostile.py), and no provider job is submitted without its record."""
    env = server_env(make_settings, tmp_path)
    with anyio.fail_after(60):
        async with Client(with_file_size_limit(env, 48 * 1024), mode="legacy") as client:
            result = await client.call_tool("generate_media", {"media_type": "video", "prompt": "a clip", "wait_s": 0})
    error = error_of(result)
    assert error["code"] == "disk_full", result.content
    assert "state folder" in result.content[0].text and "ulimit -f" in result.content[0].text
    assert [r for r in fake.of("google", "/interactions") if r.method == "POST"] == []


@needs_namespaces
async def test_a_full_disk_is_disk_full_and_leaves_no_partial_file(make_settings, fake, out_dir, tmp_path):
    fake.state["openai_image_bytes"] = media.noisy_png(*BIG)
    pid_file = tmp_path / "server.pid"
    params = in_namespace(
        server_env(make_settings, tmp_path), f'mount -t tmpfs -o size=64k tmpfs "{out_dir}"', pid_file
    )
    with anyio.fail_after(60):
        async with Client(params, mode="legacy") as client:
            full = await client.call_tool("generate_media", {"prompt": "too big"})
            seen = Path(f"/proc/{pid_file.read_text().strip()}/root") / str(out_dir).lstrip("/")
            left = sorted(p.name for p in seen.iterdir())  # the tmpfs, as the server sees it
    error = error_of(full)
    assert error["code"] == "disk_full" and "the disk is full" in full.content[0].text
    assert left == []


@needs_namespaces
async def test_a_read_only_output_folder_is_not_writable(make_settings, fake, out_dir, tmp_path):
    setup = f'mount --bind "{out_dir}" "{out_dir}" && mount -o remount,bind,ro "{out_dir}"'
    params = in_namespace(server_env(make_settings, tmp_path), setup, tmp_path / "server.pid")
    with anyio.fail_after(60):
        async with Client(params, mode="legacy") as client:
            denied = await client.call_tool("generate_media", {"prompt": "nowhere to go"})
            sub = await client.call_tool("generate_media", {"prompt": "nowhere", "output_dir": "sub"})
    for result in (denied, sub):
        error = error_of(result)
        assert error["code"] == "not_writable" and str(out_dir.resolve()) in error["folder"]
        assert "make it writable or pass another output_dir" in result.content[0].text
    assert list(out_dir.iterdir()) == []


@needs_namespaces
async def test_a_read_only_state_folder_refuses_a_job_before_paying(make_settings, fake, out_dir, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    setup = f'mount --bind "{state}" "{state}" && mount -o remount,bind,ro "{state}"'
    params = in_namespace(server_env(make_settings, tmp_path), setup, tmp_path / "server.pid")
    with anyio.fail_after(60):
        async with Client(params, mode="legacy") as client:
            video = await client.call_tool("generate_media", {"media_type": "video", "prompt": "a paid render"})
            image = await client.call_tool("generate_media", {"prompt": "no job needed"})
    error = error_of(video)
    assert error["code"] == "not_writable" and str(state) in video.content[0].text
    assert "GENERATE_MEDIA_STATE_DIR" in video.content[0].text
    assert [r for r in fake.of("google", "/interactions") if r.method == "POST"] == []  # nothing paid
    assert not image.is_error, image.content  # images need no state


def partial(directory: Path, name: str, age_s: float, *, folder: bool = False) -> Path:
    path = directory / name
    if folder:
        path.mkdir()
        (path / "frame.png").write_bytes(b"x")
        os.utime(path / "frame.png", (time.time() - age_s,) * 2)
    else:
        path.write_bytes(b"half a file")
    os.utime(path, (time.time() - age_s,) * 2)
    return path


async def test_stale_partial_files_are_swept_at_start_and_only_ours(make_server, fake, out_dir, tmp_path):
    day = 24 * 3600
    old = partial(out_dir, ".gm-partial-0123456789abcdef", day)
    old_mp4 = partial(out_dir, ".gm-partial-0123456789abcde0.mp4", day)
    old_dir = partial(out_dir, ".gm-partial-0123456789abcde1.d", day, folder=True)
    fresh = partial(out_dir, ".gm-partial-0123456789abcde2", 60)  # another server may be writing it
    lookalike = partial(out_dir, ".gm-partial-notours.txt", day)
    mine = partial(out_dir, "holiday.png", day)
    outside = tmp_path / "precious"
    outside.write_bytes(b"keep")
    os.symlink(outside, out_dir / ".gm-partial-0123456789abcde3")
    sub = out_dir / "sub"
    sub.mkdir()
    sub_old = partial(sub, ".gm-partial-0123456789abcde4", day)
    async with Client(make_server(OPENAI)) as client:
        assert not old.exists() and not old_mp4.exists() and not old_dir.exists()  # at start
        assert sub_old.exists()  # a subfolder is swept when first used
        made = await client.call_tool("generate_media", {"prompt": "a fox", "output_dir": "sub"})
    assert not made.is_error, made.content
    assert not sub_old.exists()
    assert fresh.exists() and lookalike.exists() and mine.exists()
    assert outside.read_bytes() == b"keep" and (out_dir / ".gm-partial-0123456789abcde3").is_symlink()


async def test_a_streamed_provider_download_past_the_file_size_limit_is_disk_full(
    make_settings, fake, out_dir, tmp_path
):
    """Grok's video link goes through the download path's writer thread: its EFBIG surfaces as
    disk_full naming the folder, the partial file is removed, and the job can be resumed."""
    fake.state["xai_video_big"] = 4  # a 4 MiB body against a 1 MiB file size limit
    settings = make_settings("XAI_API_KEY")
    env = {**server_env(make_settings, tmp_path), **dict(settings.env), "GENERATE_MEDIA_PRIORITY_VIDEO": "grok"}
    with anyio.fail_after(60):
        async with Client(with_file_size_limit(env, 1024 * 1024), mode="legacy") as client:
            full = await client.call_tool("generate_media", {"media_type": "video", "prompt": "waves", "wait_s": 0})
    error = error_of(full)
    assert error["code"] == "disk_full" and error["folder"] == str(out_dir.resolve()), full.content
    assert leftovers(out_dir) == [] and list(out_dir.iterdir()) == []
    assert [r for r in fake.requests if "/_vidgen/" in r.path], "the video was not fetched through the download path"
