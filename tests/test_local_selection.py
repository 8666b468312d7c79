"""How local capabilities take part in selection: lowest priority, placeholders never automatic,
restyle vs upscale by what the request gives, and installs checked as selection reasons (the
generic ``ModelSpec.required`` / ``ModelSpec.availability`` mechanisms are tested on their own too)."""

from __future__ import annotations

import dataclasses

import pytest

from generate_media.backends.local import _probe
from generate_media.config import Settings
from generate_media.errors import GenerateMediaError, InvalidRequest, MissingKey, NoBackendAvailable
from generate_media.registry import Registry, load_registry
from generate_media.requests import MediaRequest, unsupported
from generate_media.selector import select, utc_today
from generate_media.spec import BackendSpec, MediaSupport, MediaType, ModelSpec

REGISTRY = load_registry()
LOCAL = REGISTRY.get("local")
NO_KEYS = Settings(env={})
Request = REGISTRY.request_type  # the request with the backends' declared options (style...)


def _audio(audio_type: str, **kwargs) -> MediaRequest:
    return Request(media_type="audio", audio_type=audio_type, prompt="p", **kwargs)


def _image(**kwargs) -> MediaRequest:
    return Request(media_type="image", prompt="p", **kwargs)


def _registry_with(*specs: BackendSpec) -> Registry:
    return Registry(specs={s.name: s for s in specs}, modules={})


def test_local_is_registered_with_no_key_and_the_lowest_priority_for_every_media_type():
    assert LOCAL is not None and LOCAL.env_keys == ()
    for media_type, support in LOCAL.media.items():
        others = [s.media[media_type].priority for s in REGISTRY.serving(media_type) if s.name != "local"]
        assert all(support.priority < p for p in others), media_type


def test_every_local_placeholder_model_is_declared_a_placeholder():
    flagged = {m.id for _, m in LOCAL.models() if m.placeholder}
    assert flagged == {"local-sfx-synth", "local-placeholder-image", "local-placeholder-slideshow"}


@pytest.mark.skipif(_probe.extra_missing() is not None, reason="local extra not installed")
@pytest.mark.parametrize(
    ("request_", "model"),
    [
        (_audio("speech"), "local-piper-joe"),
        (Request(media_type="video", prompt="p", input_images=["x.png"]), "local-slideshow"),
        (_image(input_images=["x.png"], style="3"), "local-styletransfer"),
    ],
)
def test_with_no_keys_real_local_capabilities_are_chosen_automatically(request_, model):
    chosen = select(request_, REGISTRY, NO_KEYS)
    assert (chosen.name, chosen.model.id) == ("local", model)


@pytest.mark.parametrize(
    "request_", [_audio("sound_effect"), _image(), Request(media_type="video", prompt="waves at dusk")]
)
def test_placeholders_are_never_automatic_and_the_error_names_keys_and_backend_local(request_):
    with pytest.raises(MissingKey) as info:
        select(request_, REGISTRY, NO_KEYS)
    message = info.value.message
    assert "(or backend='local' for a labelled placeholder)" in message
    assert ": set " in message and "needs input_images" not in message  # only what could serve it


def test_any_keyed_backend_serving_the_request_wins_over_local():
    today = utc_today()
    for media_type in MediaType:
        for spec in REGISTRY.serving(media_type):
            support = spec.media[media_type]
            if not spec.env_keys or all(m.status_on(today) == "retired" for m in support.models):
                continue  # a retired backend (OpenAI video) serves nothing
            operation = support.model(support.default_model).operations[0]
            extra = {"audio_type": operation} if media_type is MediaType.AUDIO else {}
            req = Request(media_type=media_type.value, prompt="p", **extra)
            chosen = select(req, REGISTRY, Settings(env={spec.env_keys[0]: "k" * 12}))
            assert chosen.name != "local", (spec.name, media_type)


@pytest.mark.local
def test_with_backend_local_a_plain_prompt_gets_the_placeholder_never_restyle_or_upscale():
    chosen = select(_image(backend="local"), REGISTRY, NO_KEYS)
    assert chosen.model.id == "local-placeholder-image"


@pytest.mark.local
def test_a_style_without_an_input_image_says_what_restyle_needs():
    with pytest.raises(InvalidRequest, match="local-styletransfer needs input_images"):
        select(_image(backend="local", style="ember"), REGISTRY, NO_KEYS)


@pytest.mark.local
def test_an_input_image_without_a_style_goes_to_upscale_or_says_how_to_install_it():
    req = _image(backend="local", input_images=["x.png"])
    if _probe.upscale_missing() is None:
        assert select(req, REGISTRY, NO_KEYS).model.id == "local-realesrgan-x4"
    else:
        with pytest.raises(InvalidRequest, match="apt-get install libomp5"):
            select(req, REGISTRY, NO_KEYS)


@pytest.mark.local
def test_a_model_naming_restyle_with_no_style_says_style_is_needed():
    req = _image(backend="local", model="local-styletransfer", input_images=["x.png"])
    with pytest.raises(InvalidRequest, match="needs style"):
        select(req, REGISTRY, NO_KEYS)


# --- the generic mechanisms -------------------------------------------------------------------


def test_required_fields_are_reported_together_and_satisfied_by_any_value():
    model = ModelSpec(id="m", max_input_images=1, options=frozenset({"style"}), required=("input_images", "style"))
    support = LOCAL.media[MediaType.IMAGE]
    assert unsupported(_image(), model, support) == ["m needs input_images and style"]
    assert unsupported(_image(input_images=["a.png"], style="0"), model, support) == []


def _spec(availability=None, model_availability=None) -> BackendSpec:
    models = (
        ModelSpec(id="needs-lib", availability=model_availability),
        ModelSpec(id="plain-other", operations=("other",)),
    )
    support = MediaSupport(priority=5, default_model="needs-lib", models=models)
    return BackendSpec(
        name="box", title="Box", env_keys=(), media={MediaType.IMAGE: support}, availability=availability
    )


def test_an_unavailable_model_is_skipped_with_its_fix_in_auto_and_explicit_selection():
    registry = _registry_with(_spec(model_availability=lambda: "not installed: pip install thing"))
    with pytest.raises(NoBackendAvailable, match="box: needs-lib: not installed: pip install thing"):
        select(_image(), registry, NO_KEYS)
    with pytest.raises(InvalidRequest, match="needs-lib: not installed: pip install thing"):
        select(_image(backend="box", model="needs-lib"), registry, NO_KEYS)
    assert select(_image(), _registry_with(_spec(model_availability=lambda: None)), NO_KEYS).model.id == "needs-lib"


def test_a_request_mismatch_is_reported_before_a_missing_install():
    registry = _registry_with(_spec(model_availability=lambda: "not installed: pip install thing"))
    with pytest.raises(NoBackendAvailable) as info:
        select(_image(n=3), registry, NO_KEYS)
    assert "n=3 exceeds" in info.value.message and "not installed" not in info.value.message


def test_a_backend_whose_extra_is_missing_is_skipped_with_the_install_command():
    registry = _registry_with(_spec(availability=lambda: "not installed: pip install 'generate-media-mcp[local]'"))
    with pytest.raises(GenerateMediaError, match=r"box: not installed: pip install 'generate-media-mcp\[local\]'"):
        select(_image(), registry, NO_KEYS)
    with pytest.raises(NoBackendAvailable, match="box is not available: not installed"):
        select(_image(backend="box"), registry, NO_KEYS)


def test_the_local_probes_name_what_is_missing_and_the_command_that_fixes_it():
    assert _probe.missing(("json", "no_such_module_for_generate_media")) == ["no_such_module_for_generate_media"]
    for probe in (_probe.extra_missing, _probe.music_missing, _probe.upscale_missing):
        why = probe()
        assert why is None or (why.startswith("not installed (") and "pip install" in why)


def test_the_local_spec_with_its_extra_missing_reports_it_in_auto_selection():
    missing = dataclasses.replace(LOCAL, availability=lambda: f"not installed: {_probe.EXTRA_FIX}")
    with pytest.raises(MissingKey, match=r"local: not installed: pip install 'generate-media-mcp\[local\]'"):
        select(_audio("speech"), _registry_with(missing), NO_KEYS)


def test_installing_the_local_extra_alone_gives_music_too():
    # Music once needed a separate `pip install --no-deps tinysoundfont` (its pyaudio dependency
    # does not build): whatever installed the extra's speech stack must have installed music.
    if _probe.extra_missing() is not None:
        pytest.skip(str(_probe.extra_missing()))
    assert _probe.music_missing() is None
