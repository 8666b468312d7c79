"""Currency: every declared model id is one the provider's SDK publishes (no typo'd or invented ids).

For each backend and operation whose SDK publishes a model literal or enum, every declared model
must be in it. The test ids and failure messages name the SDK version checked (these literals were
read from openai 3.57.0, google-genai 3.6.1 and elevenlabs 2.78.0 on 2026-12-03). Models with no
SDK literal are listed here with the reason, so a new model cannot slip past unnoticed.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from importlib import import_module
from importlib.metadata import version

import pytest

from generate_media.registry import load_registry
from generate_media.spec import MediaType

REGISTRY = load_registry()


def _literals(annotation: object) -> set[str]:
    """Every string in a Literal, however deeply it sits in Unions and Annotated aliases."""
    if typing.get_origin(annotation) is typing.Literal:
        return {a for a in typing.get_args(annotation) if isinstance(a, str)}
    found: set[str] = set()
    for arg in typing.get_args(annotation):
        found |= _literals(arg)
    return found


def _attr(module: str, name: str) -> object:
    return getattr(import_module(module), name)


def _literal(dotted: str) -> tuple[str, Callable[[], set[str]]]:
    """Where a Literal alias lives (``package.module.Name``) and a loader of its values."""
    module, name = dotted.rsplit(".", 1)
    return dotted, lambda: _literals(_attr(module, name))


#: google-genai lists every Gemini, Omni, TTS and Lyria id in one Literal.
GEMINI_MODELS = "google.genai._gaos.types.interactions.model.Model"


def _tts_request_models() -> set[str]:
    union = _attr("elevenlabs.types.text_to_speech_generation_request", "TextToSpeechGenerationRequest")
    return {
        m
        for member in typing.get_args(typing.get_args(union)[0])
        for m in _literals(member.__annotations__["model_id"])
    }


#: (backend, media type, operation) -> (SDK distribution, where the literal lives, its values).
SOURCES: dict[tuple[str, MediaType, str], tuple[str, str, Callable[[], set[str]]]] = {
    ("openai", MediaType.IMAGE, "generate"): ("openai", *_literal("openai.types.image_model.ImageModel")),
    ("openai", MediaType.AUDIO, "speech"): ("openai", *_literal("openai.types.audio.speech_model.SpeechModel")),
    ("openai", MediaType.VIDEO, "generate"): ("openai", *_literal("openai.types.video_model.VideoModel")),
    ("google", MediaType.IMAGE, "generate"): ("google-genai", *_literal(GEMINI_MODELS)),
    ("google", MediaType.VIDEO, "generate"): ("google-genai", *_literal(GEMINI_MODELS)),
    ("google", MediaType.AUDIO, "speech"): ("google-genai", *_literal(GEMINI_MODELS)),
    ("google", MediaType.AUDIO, "music"): ("google-genai", *_literal(GEMINI_MODELS)),
    ("elevenlabs", MediaType.AUDIO, "speech"): (
        "elevenlabs",
        "TtsConversationalModel, TextToDialogueTtsModelId, TextToSpeechGenerationRequest.model_id",
        lambda: (
            _literals(_attr("elevenlabs.types.tts_conversational_model", "TtsConversationalModel"))
            | _literals(
                _attr(
                    "elevenlabs.v_1_translation_realtime.types.text_to_dialogue_tts_model_id",
                    "TextToDialogueTtsModelId",
                )
            )
            | _tts_request_models()
        ),
    ),
    ("cartesia", MediaType.AUDIO, "speech"): ("cartesia", *_literal("cartesia.types.tts_model._TTSModel")),
    ("elevenlabs", MediaType.AUDIO, "sound_effect"): (
        "elevenlabs",
        *_literal("elevenlabs.types.sfx_model_id.SfxModelId"),
    ),
    ("elevenlabs", MediaType.AUDIO, "music"): ("elevenlabs", *_literal("elevenlabs.types.music_model_id.MusicModelId")),
    ("elevenlabs", MediaType.AUDIO, "voice_design"): (
        "elevenlabs",
        "VoiceDesignRequestModelModelId",
        lambda: _literals(
            _attr(
                "elevenlabs.text_to_voice.types.voice_design_request_model_model_id", "VoiceDesignRequestModelModelId"
            )
        ),
    ),
}

#: Declared models that no SDK literal covers, and why (checked instead against the docs they cite).
NO_LITERAL = {
    ("google", "veo-3.1-generate-001"): "Vertex model; google-genai publishes no Veo literal",
    ("google", "veo-3.1-fast-generate-001"): "Vertex model; google-genai publishes no Veo literal",
    ("google", "veo-3.1-lite-generate-001"): "Vertex model; google-genai publishes no Veo literal",
    ("google", "imagen-4.0-generate-001"): "retired Vertex model; no literal",
    ("google", "imagen-4.0-ultra-generate-001"): "retired Vertex model; no literal",
    ("google", "imagen-4.0-fast-generate-001"): "retired Vertex model; no literal",
    ("elevenlabs", "eleven_multilingual_sts_v2"): "speech-to-speech takes a plain string model_id",
    ("elevenlabs", "eleven_english_sts_v2"): "speech-to-speech takes a plain string model_id",
    ("elevenlabs", "audio_isolation"): "endpoint without a model id",
    ("elevenlabs", "dubbing"): "endpoint without a model id",
    ("cartesia", "sonic-3.6"): "newer than cartesia 4.2.0's TTSModel literal (which also takes any string)",
}
#: Backends talking REST with no SDK (xAI, OpenRouter, Replicate, fal) or offline (local): nothing to check against.
NO_SDK = {"grok", "openrouter", "replicate", "local", "fal"}


def _declared() -> list[tuple[str, MediaType, str, str]]:
    return [
        (spec.name, mt, op, m.id)
        for spec in REGISTRY
        if spec.name not in NO_SDK
        for mt, m in spec.models()
        for op in m.operations[:1]
    ]


def _id(case: tuple[str, MediaType, str, str]) -> str:
    backend, mt, op, model = case
    source = SOURCES.get((backend, mt, op))
    sdk = f"{source[0]}-{version(source[0])}" if source else "no-literal"
    return f"{sdk}:{backend}/{model}"


@pytest.mark.parametrize("case", _declared(), ids=_id)
def test_every_declared_model_id_is_in_its_sdks_literal(case):
    backend, mt, op, model = case
    if (backend, model) in NO_LITERAL:
        assert (backend, mt, op) not in SOURCES or model not in SOURCES[(backend, mt, op)][2](), (
            f"{backend}/{model} is now in an SDK literal: drop it from NO_LITERAL"
        )
        return
    assert (backend, mt, op) in SOURCES, f"{backend}/{model}: say which SDK literal covers {mt.value}/{op}"
    dist, where, values = SOURCES[(backend, mt, op)]
    assert model in values(), f"{backend}/{model} is not in {dist} {version(dist)} {where}"


def test_the_installed_sdks_are_at_least_the_versions_the_declarations_were_checked_against():
    """The declarations' ``checked`` dates refer to these SDK versions (also the floors in pyproject.toml)."""

    def parts(text: str) -> tuple[int, ...]:
        return tuple(int(p) for p in text.split(".")[:3] if p.isdigit())

    checked = {"openai": "3.57.0", "google-genai": "3.6.1", "elevenlabs": "2.78.0", "cartesia": "4.2.0"}
    for dist, seen in checked.items():
        assert parts(version(dist)) >= parts(seen), f"{dist} {version(dist)} is older than {seen}"


def test_every_lifecycle_fact_says_where_and_when_it_was_read():
    """A model that is not plainly current (or has a date) carries its source and the day it was checked."""
    for spec in REGISTRY:
        for _, model in spec.models():
            if model.status != "current" or model.deprecated_on or model.shutdown_on:
                assert model.source and model.checked, f"{spec.name}/{model.id} needs source and checked"
                assert len(model.checked) == 10 and model.checked[4] == "-", model.checked
