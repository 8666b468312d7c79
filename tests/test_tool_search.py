"""Found where agents look: the description opens with what the tool does for a person, and the search
hint clients match requests against (Claude Code's ``anthropic/searchHint``) is built from what the
backends declare, so a new backend's operation reaches both with no edit elsewhere.

The real client's tool search runs in tests/test_claude_code.py."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from mcp import Client

from generate_media.config import Limits
from generate_media.docs import search_hint, tool_markdown, what_it_does
from generate_media.registry import load_registry
from generate_media.server import create_server
from generate_media.server.app import PREVIEW_RESULT_CHARS, PREVIEWS_LEFT_OUT
from generate_media.server.tool import MAX_RESULT_CHARS
from generate_media.service import MediaService
from generate_media.spec import MediaType

#: The words the issue asks for, as people say them.
ASKED_FOR = (
    "picture, photo, illustration, logo",
    "text to speech, read aloud, narration, voiceover",
    "sound effects",
    "song, jingle, background music",
    "animate a picture",
    "voice cloning",
    "dubbing, translation of speech",
    "noise removal",
)

#: What the search words and the opening may add to tools/list, which clients listing every tool read
#: in full (issue 12 keeps the whole answer's budget).
HINT_BUDGET, OPENING_BUDGET = 1_000, 700


def _words(text: str) -> set[str]:
    return set(text.lower().replace(",", " ").split())


async def test_the_listing_opens_with_what_it_does_and_carries_the_search_keys(make_server, mode):
    async with Client(make_server(), mode=mode) as client:
        listed = await client.list_tools()
    (tool,) = listed.tools
    meta = tool.meta or {}
    hint = _words(meta["anthropic/searchHint"])  # clients match word by word
    for phrases in (*ASKED_FOR, "extend a video, continue a clip"):  # and what input_video does
        assert _words(phrases) <= hint, phrases
    assert "anthropic/alwaysLoad" not in meta  # deferred: see server/tool.py
    assert meta["anthropic/maxResultSizeChars"] == MAX_RESULT_CHARS
    description = tool.description or ""
    assert description.startswith("Makes media files for you. Image: create or edit a picture, photo")
    assert description.index("read text aloud") < description.index("Backends") < description.index("Costly:")
    assert len(meta["anthropic/searchHint"]) <= HINT_BUDGET
    assert len(description.split("\n")[0]) <= OPENING_BUDGET


def test_every_declared_operation_is_in_the_description_and_the_hint():
    registry = load_registry()
    description, hint = what_it_does(registry), _words(search_hint(registry))
    for media_type, op in registry.operations():
        assert op.what in description, (media_type, op)
        for phrase in op.says:
            assert _words(phrase) <= hint, (media_type, phrase)
    for fmt in ("png", "webp", "mp3", "wav"):  # the formats the models write, from their declarations
        assert fmt in hint


def test_a_placeholder_does_not_speak_for_an_operation():
    """Local sound effects are a placeholder: with ElevenLabs gone they must not be advertised."""
    registry = load_registry()
    without = type(registry)(
        specs={n: s for n, s in registry.specs.items() if n != "elevenlabs"},
        modules={n: m for n, m in registry.modules.items() if n != "elevenlabs"},
    )
    assert "sound effects" in what_it_does(registry)
    assert "sound effects" not in what_it_does(without) and "sfx" not in search_hint(without)
    assert "read text aloud" in what_it_does(without)  # local and OpenAI speech remain


def test_an_operation_is_said_only_while_a_live_model_does_it():
    """Editing or extending a video needs a model that takes input_video or continues a clip (Grok's and
    Google's); fal's and Replicate's video models do neither, and OpenAI's retired Sora says nothing."""
    registry = load_registry()
    keep = [n for n in registry.specs if n not in ("google", "grok")]
    without = type(registry)(specs={n: registry.specs[n] for n in keep}, modules={n: registry.modules[n] for n in keep})
    assert "edit or extend a video" in what_it_does(registry) and "extend" in search_hint(registry)
    assert "Video: make a video clip; animate a picture; narrated slideshow." in what_it_does(without)
    assert "extend" not in search_hint(without) and "lengthen" not in search_hint(without)
    only_openai = type(registry)(specs={"openai": registry.specs["openai"]}, modules={})
    assert MediaType.VIDEO not in {media_type for media_type, _ in only_openai.operations()}  # Sora retired


THROWAWAY = """
import io
import wave
from types import SimpleNamespace

from generate_media.spec import BackendSpec, MediaSupport, MediaType, ModelSpec, Operation, Produced

TRANSCRIBE = Operation(
    "transcription", "write down what is said in a recording", ("speech to text", "transcribe", "subtitles")
)


async def _transcribe(call):  # a stand-in result: a tenth of a second of silence
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(bytes(1600))
    return [Produced(data=buffer.getvalue())]


SPEC = BackendSpec(
    name="scribe",
    title="Scribe",
    env_keys=("SCRIBE_API_KEY",),
    media={{
        MediaType.AUDIO: MediaSupport(
            priority=10,
            default_model="scribe-1",
            models=(ModelSpec(id="scribe-1", operations=("transcription",)),),
            operations={operations},
        )
    }},
)
BACKEND = SimpleNamespace(audio=_transcribe)
"""


#: A video backend whose one model edits a supplied video (input_video), for the words that input needs.
THROWAWAY_VIDEO = """
from types import SimpleNamespace

from generate_media.spec import ANIMATE, VIDEO_CLIPS, VIDEO_EDITS, BackendSpec, MediaSupport, MediaType, ModelSpec

SPEC = BackendSpec(
    name="scribe",
    title="Cutter",
    env_keys=("SCRIBE_API_KEY",),
    media={{
        MediaType.VIDEO: MediaSupport(
            priority=10,
            default_model="cutter-1",
            models=(ModelSpec(id="cutter-1", long_job=True, input_video=True),),
            operations={operations},
        )
    }},
)
BACKEND = SimpleNamespace()
"""


@pytest.fixture
def throwaway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Writes a backend package under tmp_path (as a new provider would) and imports it as a registry."""

    def make(operations: str, template: str = THROWAWAY) -> str:
        package = tmp_path / "throwaway_backends"
        (package / "scribe").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "scribe" / "__init__.py").write_text(textwrap.dedent(template.format(operations=operations)))
        monkeypatch.syspath_prepend(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("throwaway_backends")]:
            monkeypatch.delitem(sys.modules, name)
        return "throwaway_backends"

    return make


async def test_a_new_backend_operation_is_described_found_and_callable_with_no_edit_elsewhere(throwaway, make_settings):
    registry = load_registry(throwaway("(TRANSCRIBE,)"))
    settings = make_settings(env={"SCRIBE_API_KEY": "scribe-key"})
    server = create_server(settings, service=MediaService(settings, registry=registry))
    async with Client(server) as client:
        (tool,) = (await client.list_tools()).tools
        called = await client.call_tool(
            "generate_media", {"media_type": "audio", "audio_type": "transcription", "prompt": "hello"}
        )
    assert tool.input_schema["properties"]["audio_type"]["enum"] == ["transcription"]
    assert not called.is_error, called.content[0].text
    assert Path(called.structured_content["items"][0]["path"]).read_bytes().startswith(b"RIFF")
    hint = (tool.meta or {})["anthropic/searchHint"]
    assert {"speech to text", "transcribe", "subtitles"} <= set(hint.split(", "))
    assert (tool.description or "").startswith(
        "Makes media files for you. Audio (audio_type): write down what is said in a recording (transcription)."
    )
    assert "| audio | `transcription` | write down what is said in a recording |" in tool_markdown(registry)


def test_a_backend_that_does_an_operation_without_words_is_refused(throwaway):
    with pytest.raises(RuntimeError, match=r"scribe \(audio\) does transcription without saying so in words"):
        load_registry(throwaway("()"))


def test_a_video_backend_that_edits_videos_says_so_and_says_nothing_it_cannot_do(throwaway):
    registry = load_registry(throwaway("(VIDEO_CLIPS, VIDEO_EDITS)", THROWAWAY_VIDEO))
    assert {"extend a video", "continue a clip", "lengthen"} <= set(search_hint(registry).split(", "))
    assert what_it_does(registry) == "Makes media files for you. Video: make a video clip; edit or extend a video."


@pytest.mark.parametrize(
    ("operations", "refusal"),
    [
        ("(VIDEO_CLIPS,)", r"scribe \(video\) takes input_video without saying what it does in words"),
        ("(VIDEO_CLIPS, VIDEO_EDITS, ANIMATE)", r"scribe \(video\) says it can 'animate a picture', which none"),
    ],
)
def test_a_video_backend_whose_words_and_models_disagree_is_refused(throwaway, operations, refusal):
    with pytest.raises(RuntimeError, match=refusal):
        load_registry(throwaway(operations, THROWAWAY_VIDEO))


async def test_the_largest_batch_fits_the_declared_result_size(make_server, fake):
    """32 prompts x 10 images (the default batch limit and OpenAI's n) stay under maxResultSizeChars, so
    Claude Code keeps the result in the conversation instead of saving it to a file. It lifts its own
    25,000-token cut for results without images only: so large a result leaves its previews out."""
    prompts = [f"scene {i}: " + "a lighthouse on a cliff at dusk, gulls, long exposure, " * 5 for i in range(32)]
    assert len(prompts) == Limits().max_batch
    async with Client(make_server("OPENAI_API_KEY")) as client:
        result = await client.call_tool("generate_media", {"prompts": prompts, "n": 10, "max_concurrent": 16})
    assert not result.is_error, result.content[0].text
    items = result.structured_content["items"]
    assert len(items) == 320 and all(item["status"] == "ok" for item in items)
    assert not [block for block in result.content if block.type == "image"]
    assert PREVIEWS_LEFT_OUT in result.structured_content["warnings"]
    assert f"Warning: {PREVIEWS_LEFT_OUT}" in result.content[0].text
    shown = sum(len(block.model_dump_json(by_alias=True, exclude_none=True)) for block in result.content)
    shown += len(json.dumps(result.structured_content))
    assert 50_000 < shown < MAX_RESULT_CHARS, shown


async def test_a_result_with_previews_stays_under_the_cut_for_results_with_images(make_server, fake):
    """Four images of one prompt keep their previews: the result stays far under 25,000 tokens."""
    async with Client(make_server("OPENAI_API_KEY")) as client:
        result = await client.call_tool("generate_media", {"prompt": "a lighthouse at dusk", "n": 4})
    assert not result.is_error, result.content[0].text
    assert len([block for block in result.content if block.type == "image"]) == 4
    assert PREVIEWS_LEFT_OUT not in result.structured_content.get("warnings", [])
    assert len(json.dumps(result.structured_content)) <= PREVIEW_RESULT_CHARS
