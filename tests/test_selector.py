"""The selector: explicit choice, priority, capability filtering, and errors that list every reason.

Conformance tests are parametrized over the registry, so a new backend is covered by walking it.
"""

from __future__ import annotations

import pytest

from generate_media.config import Settings
from generate_media.errors import InvalidRequest, MissingKey, NoBackendAvailable
from generate_media.registry import load_registry
from generate_media.requests import MediaRequest
from generate_media.selector import select, utc_today
from generate_media.spec import MediaType

REGISTRY = load_registry()
TODAY = utc_today()


def _settings(env: dict[str, str]) -> Settings:
    return Settings(env=env)


def _live(spec, media_type: MediaType) -> bool:
    """The backend serves this media type with at least one model not retired today."""
    return any(m.status_on(TODAY) != "retired" for m in spec.media[media_type].models)


def _pairs() -> list[tuple[str, MediaType]]:
    return [(spec.name, mt) for spec in REGISTRY for mt in spec.media if spec.env_keys and _live(spec, mt)]


def _key_env(name: str) -> dict[str, str]:
    """The backend's first key, with every mode it declares turned on (Vertex for Google)."""
    spec = REGISTRY.get(name)
    assert spec is not None
    return {spec.env_keys[0]: "k" * 12, **{s.name: "true" for s in spec.settings if s.kind == "flag"}}


def _request(media_type: MediaType, **kwargs) -> MediaRequest:
    spec_ops = {"audio": {"audio_type": "speech"}}
    return MediaRequest(media_type=media_type.value, prompt="p", **spec_ops.get(media_type.value, {}), **kwargs)


@pytest.mark.parametrize(("backend", "media_type"), _pairs())
def test_a_lone_key_selects_its_backend(backend, media_type):
    spec = REGISTRY.get(backend)
    support = spec.media[media_type]
    operation = support.model(support.default_model).operations[0]
    extra = {"audio_type": operation} if media_type is MediaType.AUDIO else {}
    req = MediaRequest(media_type=media_type.value, prompt="p", **extra)
    chosen = select(req, REGISTRY, _settings(_key_env(backend)))
    assert chosen.name == backend


@pytest.mark.parametrize(("backend", "media_type"), _pairs())
def test_every_declared_key_name_enables_the_backend(backend, media_type):
    spec = REGISTRY.get(backend)
    for key in spec.env_keys:
        support = spec.media[media_type]
        operation = support.model(support.default_model).operations[0]
        extra = {"audio_type": operation} if media_type is MediaType.AUDIO else {}
        req = MediaRequest(media_type=media_type.value, prompt="p", backend=backend, **extra)
        assert select(req, REGISTRY, _settings({key: "k" * 12})).name == backend


def _input_image_models() -> list[tuple[str, MediaType, str]]:
    return [
        (spec.name, mt, m.id)
        for spec in REGISTRY
        for mt, m in spec.models()
        if m.max_input_images > 0 and spec.env_keys and m.status_on(TODAY) != "retired"
    ]


@pytest.mark.parametrize(("backend", "media_type", "model"), _input_image_models())
def test_every_model_declaring_input_images_is_selectable_with_one(backend, media_type, model):
    spec = REGISTRY.get(backend)
    op = spec.media[media_type].model(model).operations[0]
    extra = {"audio_type": op} if media_type is MediaType.AUDIO else {}
    req = MediaRequest(
        media_type=media_type.value, prompt="p", backend=backend, model=model, input_images=["x.png"], **extra
    )
    chosen = select(req, REGISTRY, _settings(_key_env(backend)))
    assert (chosen.name, chosen.model.id) == (backend, model)


def test_no_keys_names_every_env_var_to_set():
    with pytest.raises(MissingKey) as info:
        select(_request(MediaType.IMAGE), REGISTRY, _settings({}))
    for spec in REGISTRY.serving(MediaType.IMAGE):
        for key in spec.env_keys:
            assert key in info.value.message


def test_an_explicit_backend_without_its_key_says_which_key():
    with pytest.raises(MissingKey, match="OPENAI_API_KEY"):
        select(_request(MediaType.IMAGE, backend="openai"), REGISTRY, _settings({}))


def test_a_value_the_model_does_not_accept_lists_the_accepted_ones():
    req = _request(MediaType.IMAGE, backend="openai", size="999x999")
    with pytest.raises(InvalidRequest, match="accepted: auto, 1024x1024"):
        select(req, REGISTRY, _settings(_key_env("openai")))


def test_an_explicit_model_must_belong_to_the_chosen_backend():
    req = _request(MediaType.IMAGE, backend="openai", model="not-an-openai-model")
    with pytest.raises(InvalidRequest, match="not a openai image model"):
        select(req, REGISTRY, _settings(_key_env("openai")))


def test_priority_override_reorders_auto_selection():
    names = [s.name for s in REGISTRY.serving(MediaType.IMAGE) if s.env_keys]
    if len(names) < 2:
        pytest.skip("needs two keyed image backends")
    env = {k: "k" * 12 for n in names for k in REGISTRY.get(n).env_keys[:1]}
    last = names[-1]
    env["GENERATE_MEDIA_PRIORITY_IMAGE"] = last
    assert select(_request(MediaType.IMAGE), REGISTRY, _settings(env)).name == last


def test_capability_filtering_skips_backends_that_cannot_honour_the_request():
    # A request no image model can honour lists every backend with its reason.
    env = {k: "k" * 12 for s in REGISTRY for k in s.env_keys[:1]}
    req = _request(MediaType.IMAGE, n=1000)
    with pytest.raises(NoBackendAvailable) as info:
        select(req, REGISTRY, _settings(env))
    for spec in REGISTRY.serving(MediaType.IMAGE):
        assert f"{spec.name}:" in info.value.message


def test_default_model_override_by_env():
    env = {**_key_env("openai"), "GENERATE_MEDIA_OPENAI_IMAGE_MODEL": "gpt-image-2.5-sunburst"}
    assert select(_request(MediaType.IMAGE), REGISTRY, _settings(env)).model.id == "gpt-image-2.5-sunburst"


def test_a_default_override_naming_a_retired_model_gives_way_to_its_replacement():
    env = {**_key_env("openai"), "GENERATE_MEDIA_OPENAI_IMAGE_MODEL": "gpt-image-1-mini"}
    assert select(_request(MediaType.IMAGE), REGISTRY, _settings(env)).model.id == "gpt-image-2.6-flare"


def test_a_backends_declared_endpoint_is_used_unless_its_env_var_overrides_it(tmp_path):
    from generate_media.service import Caller, MediaService

    declared = [s for s in REGISTRY if s.base_url_env and s.default_base_url]
    assert {"openai", "grok", "openrouter"} <= {s.name for s in declared}
    for spec in declared:
        media_type = next(iter(spec.media))
        for env, expected in (({}, spec.default_base_url), ({spec.base_url_env: "http://proxy/v1"}, "http://proxy/v1")):
            settings = Settings(env={spec.env_keys[0]: "k" * 12, **env}, output_dir=tmp_path, state_dir=tmp_path)
            service = MediaService(settings, registry=REGISTRY)
            req = _request(media_type, backend=spec.name)
            selection = select(req, REGISTRY, settings)
            call = service._item_call(
                req, "p", selection, tmp_path, service.confinement(Caller()), None, [], None, None
            )
            assert call.base_url == expected, spec.name
