"""The terminal interface through a real subprocess against the loopback fake."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest

from generate_media.results import GenerationResult, ItemResult
from generate_media.stores import JobRecord, StateStore, database_url
from tests.conftest import KEYS, schema_problems
from tests.fakes import fake_env, media

BIN = Path(sys.executable).parent


def run(
    tmp_path: Path,
    fake,
    *args: str,
    keys: tuple[str, ...] = ("OPENAI_API_KEY",),
    script: str = "generate-media",
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
):
    full = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GENERATE_MEDIA_OUTPUT_DIR": str(tmp_path / "out"),
        "GENERATE_MEDIA_STATE_DIR": str(tmp_path / "state"),
        "GENERATE_MEDIA_MAX_RETRIES": "0",
        **fake_env(fake),
        **{k: KEYS[k] for k in keys},
        **(env or {}),
    }
    return subprocess.run(
        [str(BIN / script), *args], env=full, capture_output=True, text=True, timeout=60, check=False, cwd=cwd
    )


def test_an_image_prints_where_the_file_went(tmp_path, fake):
    done = run(tmp_path, fake, "image", "a red fox at dawn", "--aspect-ratio", "3:2")
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.splitlines()[1].removeprefix("- ").split(" ")[0])
    assert path.parent == (tmp_path / "out").resolve() and path.read_bytes().startswith(b"\x89PNG")
    sent = fake.of("openai", "/images/generations")[-1].json
    assert (sent["prompt"], sent["size"]) == ("a red fox at dawn", "1536x1024")


def test_json_output_parses_and_matches_the_file(tmp_path, fake):
    fake.state["openai_image_bytes"] = media.image(40, 30, "WEBP")
    done = run(tmp_path, fake, "image", "a webp owl", "--out", str(tmp_path / "out" / "owls"), "--json")
    assert done.returncode == 0, done.stderr
    result = GenerationResult.model_validate_json(done.stdout)
    item = result.items[0]
    path = Path(item.path)
    assert result.status == "completed" and result.backend == "openai"
    assert path.parent.name == "owls" and path.suffix == ".webp" and item.mime_type == "image/webp"
    assert item.size_bytes == path.stat().st_size and (item.width, item.height) == (40, 30)


@pytest.mark.parametrize(
    ("args", "keys", "expected"),
    [
        (("image", "a cat", "--backend", "openai"), (), "OPENAI_API_KEY"),
        (("image", "a cat", "--backend", "openai", "--size", "7x7"), ("OPENAI_API_KEY",), "size"),
        (("image",), ("OPENAI_API_KEY",), "prompt is required"),
        (("image", "a cat", "--output-dir", "/dev/null"), ("OPENAI_API_KEY",), "output folder /dev/null is a file"),
        (("jobs", "resume", "job_" + "0" * 32), (), "unknown job id"),
    ],
    ids=["missing-key", "bad-size", "no-prompt", "output-is-a-file", "unknown-job"],
)
def test_bad_input_or_a_missing_key_exits_2_with_one_clear_line(tmp_path, fake, args, keys, expected):
    done = run(tmp_path, fake, *args, keys=keys)
    assert done.returncode == 2, (done.stdout, done.stderr)
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("Error (") and expected in errors[0]
    assert done.stdout == "" and fake.of("openai") == []


def test_a_folder_and_files_named_on_the_command_line_are_the_persons_to_use(tmp_path, fake):
    # The README's `--out ~/clips`: a folder outside GENERATE_MEDIA_OUTPUT_DIR that does not exist yet,
    # and an input file given relative to the working directory. The MCP tool stays confined.
    work = tmp_path / "work"
    work.mkdir()
    (work / "photo.png").write_bytes(media.png(16, 16))
    done = run(tmp_path, fake, "image", "make it blue", "--out", "~/clips", "--input-images", "photo.png", cwd=work)
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.splitlines()[1].removeprefix("- ").split(" ")[0])
    assert path.parent == (tmp_path / "clips").resolve() and path.read_bytes().startswith(b"\x89PNG")
    assert fake.of("openai", "/images/edits")[-1].files("image[]") or fake.of("openai", "/images/edits")[-1].files(
        "image"
    )
    relative = run(tmp_path, fake, "image", "a cat", "--out", "here", cwd=work)
    assert relative.returncode == 0, relative.stderr
    assert [p.parent for p in (work / "here").iterdir()] == [work / "here"]


def test_json_prints_the_failed_result_on_stdout_too(tmp_path, fake):
    from generate_media.results import result_schema

    keyless = run(tmp_path, fake, "image", "a cat", "--backend", "openai", "--json", keys=())
    fake.inject("openai:POST .*/images/generations", status=401, echo_auth=True)
    refused = run(tmp_path, fake, "image", "a cat", "--backend", "openai", "--json")
    assert (keyless.returncode, refused.returncode) == (2, 1)
    for done, code in ((keyless, "missing_key"), (refused, "auth")):
        result = json.loads(done.stdout)
        assert schema_problems(result_schema(), result) == []
        assert result["status"] == "failed" and result["error"]["code"] == code
        assert done.stderr.startswith(f"Error ({code}):")
    assert "OPENAI_API_KEY" in json.loads(keyless.stdout)["error"]["message"]
    assert KEYS["OPENAI_API_KEY"] not in refused.stdout + refused.stderr


def test_with_no_keys_auto_never_makes_a_placeholder_and_a_chosen_one_says_so(tmp_path, fake):
    # The README's `generate-media video "waves at dusk"` with no key once made a slideshow of
    # placeholder frames that the plain output never mentioned.
    auto = run(tmp_path, fake, "video", "waves at dusk", keys=())
    assert auto.returncode == 2 and auto.stdout == "", auto.stdout
    assert auto.stderr.startswith("Error (missing_key):"), auto.stderr
    assert "backend='local' for a labelled placeholder" in auto.stderr
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
    chosen = run(tmp_path, fake, "image", "a fox", "--backend", "local", keys=())
    assert chosen.returncode == 0, chosen.stderr
    assert "local-placeholder-image" in chosen.stdout and "[PLACEHOLDER: not real generation]" in chosen.stdout
    assert fake.requests == []


def test_a_provider_failure_exits_1_and_never_prints_the_key(tmp_path, fake):
    fake.inject("openai:POST .*/images/generations", status=503)
    down = run(tmp_path, fake, "image", "down", "--backend", "openai")
    fake.inject("openai:POST .*/images/generations", status=401, echo_auth=True)
    refused = run(tmp_path, fake, "image", "refused", "--backend", "openai")
    assert (down.returncode, refused.returncode) == (1, 1)
    assert "provider_error" in down.stderr and "auth" in refused.stderr
    for done in (down, refused):
        assert KEYS["OPENAI_API_KEY"] not in done.stdout + done.stderr
    assert not list((tmp_path / "out").glob("*"))


def test_backends_shows_which_keys_are_set_and_the_choice_never_the_key(tmp_path, fake):
    done = run(tmp_path, fake, "backends", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    openai_image = next(r for r in rows if r["backend"] == "openai" and r["media_type"] == "image")
    assert openai_image["key_set"] and openai_image["status"] == "ready" and openai_image["capabilities"]
    chosen = [r["backend"] for r in rows if r["media_type"] == "image" and r["would_be_chosen"]]
    assert len(chosen) == 1
    unset = [r for r in rows if r["backend"] not in ("openai", "local")]
    assert all(not r["key_set"] and r["status"].startswith("set ") for r in unset)
    table = run(tmp_path, fake, "backends")
    assert table.returncode == 0 and "openai" in table.stdout
    assert KEYS["OPENAI_API_KEY"] not in done.stdout + table.stdout


def test_voices_are_listed_where_a_backend_has_a_voice_list(tmp_path, fake):
    none = run(tmp_path, fake, "backends", "--voices", "openai")
    assert none.returncode == 2 and "no voice list" in none.stderr
    try:
        import generate_media.backends.elevenlabs.voices  # noqa: F401
    except ModuleNotFoundError:
        pytest.skip("the elevenlabs voices module does not exist yet")
    listed = run(tmp_path, fake, "backends", "--voices", "elevenlabs", "--json", keys=("ELEVENLABS_API_KEY",))
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) and fake.of("elevenlabs", "/voices")
    keyless = run(tmp_path, fake, "backends", "--voices", "elevenlabs", keys=())
    assert keyless.returncode == 2 and "ELEVENLABS_API_KEY" in keyless.stderr


async def _record_jobs(state_dir: Path, *records: JobRecord) -> None:
    store = StateStore(database_url("", state_dir))
    try:
        for record in records:
            await store.jobs.create(record)
    finally:
        await store.close()


def _job(**fields: Any) -> JobRecord:
    base = {"owner": "local", "backend": "grok", "media_type": "video", "model": "m", "request": {}}
    return JobRecord(id=f"job_{uuid.uuid4().hex}", **{**base, **fields})


def test_tables_fit_the_terminal_and_keep_the_long_lists_for_wide_ones(tmp_path, fake):
    prompt = "a very long prompt about waves at dusk rolling onto a pebble beach in the rain"
    job = _job(model="grok-imagine-video", request={"prompt": prompt})
    anyio.run(_record_jobs, tmp_path / "state", job)
    for command in ("backends", "jobs", "models"):
        for columns in (80, 200):
            done = run(tmp_path, fake, command, env={"COLUMNS": str(columns)})
            assert done.returncode == 0, done.stderr
            lines = done.stdout.splitlines()
            assert max(len(line) for line in lines) <= columns, (command, columns, done.stdout)
    narrow = run(tmp_path, fake, "backends", env={"COLUMNS": "80"}).stdout
    wide = run(tmp_path, fake, "backends", env={"COLUMNS": "200"}).stdout
    assert "capabilities and models: a wider terminal, or --json" in narrow and "gpt-image-1-mini" not in narrow
    assert "capabilities" in wide and "gpt-image-1-mini" in wide
    assert job.id in run(tmp_path, fake, "jobs", env={"COLUMNS": "80"}).stdout  # the resume handle, unfolded


def test_jobs_lists_the_local_users_jobs_and_resumes_a_finished_one_without_the_provider(tmp_path, fake):
    out = tmp_path / "out"
    out.mkdir()
    clip = out / "waves.mp4"
    clip.write_bytes(media.mp4())
    item = ItemResult(index=0, prompt="waves", path=str(clip), uri=clip.as_uri(), mime_type="video/mp4")
    result = GenerationResult(status="completed", media_type="video", backend="grok", model="m", items=[item])
    done = _job(request={"prompt": "waves"}, state="done", result=result.model_dump(mode="json"))
    theirs = _job(owner="alice", request={"prompt": "not yours"})
    anyio.run(_record_jobs, tmp_path / "state", done, theirs)

    listed = run(tmp_path, fake, "jobs", "--json")
    resumed = run(tmp_path, fake, "jobs", "resume", done.id, "--json")
    assert listed.returncode == 0 and [j["id"] for j in json.loads(listed.stdout)] == [done.id]
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["items"][0]["path"] == str(clip)
    assert fake.requests == []


def test_help_and_version_work_for_every_command(capsys):
    from generate_media.cli import main
    from generate_media.server.__main__ import main as server_main

    for args in (["--help"], ["image", "--help"], ["jobs", "resume", "--help"], ["docs", "--help"]):
        with pytest.raises(SystemExit) as exit_:
            main(args)
        assert exit_.value.code == 0 and "usage:" in capsys.readouterr().out, args
    with pytest.raises(SystemExit):
        main(["video", "--help"])
    assert "--input-images" in capsys.readouterr().out
    for entry, name in ((main, "generate-media"), (server_main, "generate-media-mcp")):
        with pytest.raises(SystemExit):
            entry(["--version"])
        assert capsys.readouterr().out.startswith(name + " 0.")
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    assert "--http" in capsys.readouterr().out


def test_the_console_scripts_start(tmp_path, fake):
    assert run(tmp_path, fake, "--version").stdout.startswith("generate-media ")
    assert run(tmp_path, fake, "--help", script="generate-media-mcp").returncode == 0


def _by_hand(keys: bytes, tmp_path: Path) -> tuple[int, str]:
    """Start generate-media-mcp on a terminal (a pty), wait for its banner, type ``keys``; return
    (exit status, everything it printed). Every wait is bounded."""
    import pty
    import select
    import time

    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GENERATE_MEDIA_STATE_DIR": str(tmp_path / "state")}
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes the server, its stdin/stdout/stderr the terminal
        os.execve(str(BIN / "generate-media-mcp"), ["generate-media-mcp"], env)
    printed, status, sent = b"", None, False
    deadline = time.monotonic() + 60
    try:
        while status is None and time.monotonic() < deadline:
            if not sent and b"Ctrl-C or Ctrl-D stops it." in printed:
                os.write(fd, keys)
                sent = True
            if select.select([fd], [], [], 0.2)[0]:
                with contextlib.suppress(OSError):  # OSError: the terminal closed, the server has exited
                    printed += os.read(fd, 65536)
            done, code = os.waitpid(pid, os.WNOHANG)
            status = os.waitstatus_to_exitcode(code) if done else None
    finally:
        if status is None:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
    return (-1 if status is None else status), printed.decode(errors="replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
@pytest.mark.parametrize(("keys", "status", "said"), [(b"\x03", 130, "Ctrl-C"), (b"\x04", 0, "Ctrl-D")])
def test_the_server_started_by_hand_says_what_it_waits_for_and_stops_on_ctrl_c_or_ctrl_d(tmp_path, keys, status, said):
    code, printed = _by_hand(keys, tmp_path)
    assert "waiting for an MCP client on stdin" in printed and "generate-media image" in printed
    assert code == status, printed
    assert f"({said}); stopped." in printed and "Traceback" not in printed


def test_each_media_command_offers_only_the_options_its_models_take(capsys):
    from generate_media.cli import main
    from generate_media.requests import MediaRequest

    offered = {}
    for command in ("image", "video", "audio"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        offered[command] = {w.rstrip(",") for w in capsys.readouterr().out.split() if w.startswith("--")}
    assert {"--voice", "--audio-type", "--speed"}.isdisjoint(offered["image"] | offered["video"])
    assert {"--aspect-ratio", "--mask", "--input-images", "--background", "--style"}.isdisjoint(offered["audio"])
    assert {"--mask", "--background", "--style"} <= offered["image"] and "--last-frame" in offered["video"]
    assert {"--voice", "--audio-type", "--duration"} <= offered["audio"]
    # Nothing became unreachable: every request field is an option of some media command.
    every = set().union(*offered.values())
    fields = {"--" + f.replace("_", "-") for f in MediaRequest.model_fields} - {"--media-type", "--prompt", "--preview"}
    assert fields <= every
