"""``generate-media models`` and ``models --check`` through the CLI entry point, against the
loopback fakes of the providers' model-list endpoints."""

from __future__ import annotations

import json

import pytest

from generate_media.backends.fal import _catalog as fal_catalog
from generate_media.cli import main
from generate_media.pricing import PRICES
from generate_media.registry import load_registry
from tests.conftest import KEYS
from tests.fakes import fake_env, model_lists


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


@pytest.fixture
def keyed(fake, monkeypatch, tmp_path):
    """Every provider key set and every base URL pointed at the fake, as a user's shell would."""
    for name, value in {**fake_env(fake), **KEYS}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GENERATE_MEDIA_STATE_DIR", str(tmp_path / "state"))
    return fake


def test_check_prints_the_drift_of_every_keyed_provider(keyed, capsys):
    code, out, _ = _run(capsys, "models", "--check")
    assert code == 1  # the default lists have drift
    blocks = {line.split(":", 1)[0] for line in out.splitlines() if not line.startswith(" ")}
    assert blocks == {"openai", "google", "grok", "openrouter", "elevenlabs", "fal", "replicate"}
    # A listed media model nobody declares, with the provider's own text and embedding models left out.
    assert "gpt-image-3-preview" in out and "gpt-5.2" not in out and "whisper-1" not in out
    assert "gemini-embedding-001" not in out and "claude" not in out
    # Every request went to the provider's list endpoint, with the key in the provider's header.
    assert keyed.of("openai", "/models")[0].headers["authorization"] == f"Bearer {KEYS['OPENAI_API_KEY']}"
    assert keyed.of("google", "/models")[0].headers["x-goog-api-key"] == KEYS["GEMINI_API_KEY"]
    assert {r.path for r in keyed.of("xai")} == {"/xai/v1/image-generation-models", "/xai/v1/video-generation-models"}
    assert keyed.of("openrouter", "/models")[0].query["output_modalities"] == "image"
    assert keyed.of("elevenlabs", "/models")[0].headers["xi-api-key"] == KEYS["ELEVENLABS_API_KEY"]
    for key in KEYS.values():
        assert key not in out


def test_check_reports_a_retired_model_a_new_one_and_an_unknown_shutdown_date(keyed, capsys):
    keyed.state["model_lists_drop"] = ["grok-imagine-video"]  # the provider stopped serving it
    keyed.state["model_lists_shutdown"] = {"grok-imagine-image": "2027-03-01"}
    code, out, _ = _run(capsys, "models", "--check", "--json")
    assert code == 1
    grok = next(d for d in json.loads(out) if d["backend"] == "grok")
    assert grok["missing"] == ["grok-imagine-video"]
    declared = {m.id for _, m in load_registry().get("grok").models()}
    listed = {name for name, *_ in (*model_lists.XAI_IMAGE, *model_lists.XAI_VIDEO)} - {"grok-imagine-video"}
    assert grok["undeclared"] == sorted(listed - declared) and grok["undeclared"]
    assert grok["shutdowns"] == [{"model": "grok-imagine-image", "listed": "2027-03-01", "declared": None}]
    # An alias counts as listed: grok-imagine-image-quality is listed as itself and as -pro.
    assert "grok-imagine-image-quality" not in grok["missing"]


def test_check_text_names_each_kind_of_drift(keyed, capsys):
    keyed.state["model_lists_drop"] = ["eleven_multilingual_v2"]
    keyed.state["model_lists_shutdown"] = {"openai/gpt-image-2": "2027-04-30"}
    _, out, _ = _run(capsys, "models", "--check")
    assert "  declared but no longer listed (retired?): eleven_multilingual_v2\n" in out
    assert "  shutdown date we do not know: openai/gpt-image-2 shuts down 2027-04-30 (declared: none)\n" in out
    # ElevenLabs' list covers speech and voice-changer models only: music and sound effects are not "missing".
    assert "music_v1" not in out and "eleven_text_to_sound_v2" not in out
    # Veo is served on Vertex, which the Gemini Developer API list does not cover.
    assert "veo-3.1" not in out


def test_check_asks_replicate_for_each_declared_model_and_its_media_collections(keyed, capsys):
    keyed.state["model_lists_drop"] = ["minimax/h3"]  # Replicate answers 404 for it now
    code, out, _ = _run(capsys, "models", "--check", "--json")
    assert code == 1
    replicate = next(d for d in json.loads(out) if d["backend"] == "replicate")
    assert replicate["missing"] == ["minimax/h3"] and replicate["error"] is None
    assert replicate["undeclared"] == ["bytedance/seedream-5", "ideogram-ai/ideogram-v4", "kwaivgi/kling-v3"]
    asked = [r.path for r in keyed.of("replicate")]
    assert "/replicate/v1/models/alibaba/wan-3" in asked and "/replicate/v1/models/minimax/h3" in asked
    assert {"/replicate/v1/collections/text-to-image", "/replicate/v1/collections/text-to-video"} <= set(asked)
    token = KEYS["REPLICATE_API_TOKEN"]
    assert all(r.headers["authorization"] == f"Bearer {token}" for r in keyed.of("replicate"))
    assert token not in out


def test_check_asks_fal_for_every_declared_endpoint_and_names_a_family_it_no_longer_serves(keyed, capsys):
    code, out, _ = _run(capsys, "models", "--check", "--json")
    fal = next(d for d in json.loads(out) if d["backend"] == "fal")
    assert fal["missing"] == fal["undeclared"] == [] and fal["error"] is None  # every declared endpoint is served
    asked = [q for r in keyed.of("fal", "/fal-api/v1/models") for q in r.query_list("endpoint_id")]
    declared = {e for f in (*fal_catalog.VIDEO_FAMILIES, *fal_catalog.IMAGE_FAMILIES) for e in f.routes.values()}
    assert set(asked) == declared and len(asked) > len(set(asked))  # pages of ten: the rest asked again by cursor
    assert any(r.query.get("cursor") for r in keyed.of("fal", "/fal-api/v1/models"))
    assert all(r.headers["authorization"] == f"Key {KEYS['FAL_KEY']}" for r in keyed.of("fal", "/fal-api/"))

    keyed.state["model_lists_deprecated"] = ["bytedance/seedance-2.5/reference-to-video"]
    keyed.state["model_lists_drop"] = ["meta/muse-image/edit"]
    code, out, _ = _run(capsys, "models", "--check", "--json")
    fal = next(d for d in json.loads(out) if d["backend"] == "fal")
    assert code == 1 and sorted(fal["missing"]) == ["bytedance/seedance-2.5", "meta/muse-image"]


def test_check_without_any_key_says_so(fake, monkeypatch, capsys):
    for name, value in fake_env(fake).items():
        monkeypatch.setenv(name, value)
    code, out, err = _run(capsys, "models", "--check")
    assert code == 2 and "no provider key is set" in err
    assert "openai: not checked (set OPENAI_API_KEY)" in out
    assert fake.requests == []


def test_a_provider_whose_list_fails_does_not_hide_the_others(keyed, capsys):
    keyed.inject(r"openai:GET /openai/v1/models", status=500, times=5)
    code, out, _ = _run(capsys, "models", "--check")
    assert code == 1
    assert "openai: the model list could not be read" in out and "grok: 6 models listed" in out


def test_models_lists_every_declared_model_with_its_price_and_date(keyed, capsys):
    code, out, _ = _run(capsys, "models", "--json")
    assert code == 0
    rows = json.loads(out)
    registry = load_registry()
    assert {(r["backend"], r["model"]) for r in rows} == {(s.name, m.id) for s in registry for _, m in s.models()}
    grok = next(r for r in rows if r["model"] == "grok-imagine-image")
    assert grok["price"] == "$0.02/image (read 2026-12-03)" and grok["price_usd"] == {"": 0.02}
    for row in rows:
        priced = (row["backend"], row["model"]) in PRICES
        assert (row["price_checked"] is not None) == priced or row["backend"] == "local"
        assert row["price"] != "unknown" or not priced
    assert keyed.requests == []  # listing declared models asks no provider


def test_models_table_shows_prices(keyed, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "220")  # tables fit the terminal: a wide one keeps each price on one line
    code, out, _ = _run(capsys, "models")
    assert code == 0 and "$0.006–0.211/image (by quality; read 2026-12-03)" in out
