"""Published prices, as data, and the estimate of what one call costs.

Each entry is a provider's list price per unit (an image, a second of video, a character of
speech), with the date it was read and where. A price that differs by quality, size or resolution
is a table keyed by that request field. Models without an entry have an unknown price: the
estimate says so instead of guessing. Token-priced models (gpt-4o-mini-tts, Gemini Omni) have no
per-unit price a request can be multiplied by, so they are unknown too.

Prices expire like model ids: re-read the source, then update ``usd`` and ``checked`` together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["PRICES", "SAME_PRICE", "Estimate", "Price", "estimate", "price_of", "price_text"]


@dataclass(frozen=True)
class Price:
    """A list price in USD per ``unit``.

    ``usd`` maps a tier to the price per unit; a flat price has the single tier ``""``. ``by`` names
    the request field the tiers follow (``quality``, ``size``); when the request leaves it unset the
    provider's default tier ``default`` applies.
    """

    unit: str  # "image" | "second" | "character"
    usd: Mapping[str, float]
    checked: str  # ISO date the source was read
    source: str
    by: str | None = None
    default: str = ""
    #: Seconds the provider makes when the request gives no duration (per-second prices).
    default_seconds: float | None = None
    note: str = ""

    def tier(self, value: str | None) -> str | None:
        """The tier a request value falls in, or None when that value has no published price."""
        if self.by is None:
            return ""
        key = value or self.default
        return key if key in self.usd else None

    @property
    def low(self) -> float:
        return min(self.usd.values())

    @property
    def high(self) -> float:
        return max(self.usd.values())


_OPENAI_IMAGE = "OpenAI API pricing, gpt-image-2 per-image figures at 1024x1024 (as reported at launch, ai-primer.com)"
_XAI_IMAGINE = "docs.x.ai Imagine overview and models page"
_GEMINI_IMAGE = "Gemini API pricing: $60 per 1M image output tokens (per-image figures quoted by xairouter.com)"
_CARTESIA = "docs.cartesia.ai/pricing (~1 credit per character); Pro plan $5 for 100,000 credits (cartesia.ai/pricing)"
_GEMINI_PRO_IMAGE = "Gemini API pricing, standard tier (checked against Google's docs by blog.laozhang.ai, 2026-07-01)"

#: (backend, model id) -> its published price. Absent: unknown. The local backend runs offline: free.
PRICES: dict[tuple[str, str], Price] = {
    ("openai", "gpt-image-2"): Price(
        unit="image",
        by="quality",
        usd={"low": 0.006, "medium": 0.053, "high": 0.211, "auto": 0.211},
        default="auto",
        checked="2026-12-03",
        source=_OPENAI_IMAGE,
        note="1024x1024; larger sizes cost more; quality auto is priced as high",
    ),
    ("openai", "tts-1"): Price(
        unit="character",
        usd={"": 15.0 / 1_000_000},
        checked="2026-12-03",
        source="OpenAI API pricing ($15 / 1M characters)",
    ),
    ("openai", "tts-1-hd"): Price(
        unit="character",
        usd={"": 30.0 / 1_000_000},
        checked="2026-12-03",
        source="OpenAI API pricing ($30 / 1M characters)",
    ),
    ("google", "gemini-3.1-flash-image"): Price(
        unit="image",
        by="size",
        usd={"512": 0.045, "1K": 0.067, "2K": 0.101, "4K": 0.151},
        default="1K",
        checked="2026-12-03",
        source=_GEMINI_IMAGE,
    ),
    ("google", "gemini-nano-banana-2.1"): Price(
        unit="image",
        by="size",
        usd={"1K": 0.0336, "4K": 0.1134},
        default="1K",
        checked="2026-12-03",
        source="Gemini API list price $30 per 1M image output tokens: $0.0336 per 1K image (BerriAI/litellm discussion "
        "#44983), $0.0336-0.1134 per image 1K-4K (inference.sh Gemini Nano Banana 2.1 page, 2026-11-06)",
        note="no per-image figure for 2K was published; text tokens are billed besides",
    ),
    ("google", "gemini-3-pro-image"): Price(
        unit="image",
        by="size",
        usd={"1K": 0.134, "2K": 0.134, "4K": 0.24},
        default="1K",
        checked="2026-12-03",
        source=_GEMINI_PRO_IMAGE,
    ),
    ("grok", "grok-imagine-image"): Price(
        unit="image",
        usd={"": 0.02},
        checked="2026-12-03",
        source=_XAI_IMAGINE,
        note="edits also bill each input image",
    ),
    ("grok", "grok-imagine-image-quality"): Price(
        unit="image", usd={"": 0.05}, checked="2026-12-03", source=_XAI_IMAGINE
    ),
    ("grok", "grok-imagine-video"): Price(
        unit="second",
        by="size",
        usd={"480p": 0.05, "720p": 0.07},
        default="480p",
        default_seconds=8.0,
        checked="2026-12-03",
        source=_XAI_IMAGINE + " (480p); 720p as quoted by docs.krea.ai and docs.apiyi.com",
    ),
    ("replicate", "black-forest-labs/flux-2-pro"): Price(
        unit="image",
        usd={"": 0.015},
        checked="2026-12-03",
        source="Replicate's per-megapixel price for flux-2-pro at its default 1 MP, as listed by lumenfall.ai",
        note="per output megapixel, rounded up; each input image is billed too",
    ),
    **{
        ("cartesia", sonic): Price(
            unit="character",
            usd={"": 5.0 / 100_000},
            checked="2026-12-03",
            source=_CARTESIA,
            note="1 credit per character; credits come with monthly plans ($39/M on Startup, $37/M on Scale)",
        )
        for sonic in ("sonic-3.6", "sonic-3.5")
    },
}


# fal: one price per model family, for the family id and each of its endpoint ids. Read 2026-12-03 from
# fal's model pages as quoted by public integrations (fal's pages were not reachable from here).
_FAL = "fal.ai model pages (list prices as quoted by public integrations)"
_FAL_PRICES: dict[str, tuple[tuple[str, ...], Price]] = {
    "bytedance/seedance-2.5": (
        ("text-to-video", "image-to-video", "reference-to-video"),
        Price("second", {"480p": 0.22, "720p": 0.473}, "2026-12-03", _FAL, "size", "720p", 5.0),
    ),
    "bytedance/seedance-2.0": (
        ("text-to-video", "image-to-video", "reference-to-video"),
        Price("second", {"720p": 0.3034, "1080p": 0.682}, "2026-12-03", _FAL, "size", "720p", 5.0),
    ),
    "alibaba/wan-3.0": (
        ("text-to-video", "image-to-video", "reference-to-video"),
        Price("second", {"480p": 0.05, "720p": 0.10, "1080p": 0.20}, "2026-12-03", _FAL, "size", "1080p", 5.0),
    ),
    "minimax/h3-max": (
        ("text-to-video", "image-to-video", "reference-to-video"),
        Price(
            "second",
            {"480P": 0.05, "768P": 0.08, "1080P": 0.16},
            "2026-12-03",
            _FAL,
            "size",
            "768P",
            note="the launch prices (half these) ended on 2026-09-30",
        ),
    ),
    "blackforestlabs/flux-3": (
        ("text-to-video", "image-to-video"),
        Price("second", {"720p": 0.17, "1080p": 0.29}, "2026-12-03", _FAL, "size", "720p", 5.0),
    ),
    "alibaba/happy-horse": (
        ("text-to-video", "image-to-video", "reference-to-video"),
        Price("second", {"720p": 0.14, "1080p": 0.28}, "2026-12-03", _FAL, "size", "1080p", 5.0),
    ),
    "xai/grok-imagine-video/v1.5": (
        ("text-to-video", "image-to-video"),
        Price("second", {"480p": 0.08, "720p": 0.14}, "2026-12-03", _FAL, "size", "720p", 8.0),
    ),
    "bytedance/seedream/v5/pro": (
        ("text-to-image", "edit"),
        Price("image", {"": 0.0675}, "2026-12-03", _FAL, note="up to 1536x1536; $0.135 above"),
    ),
    "fal-ai/reve": (("text-to-image", "edit"), Price("image", {"": 0.04}, "2026-12-03", _FAL)),
    "reve/2.1": (
        ("text-to-image", "edit"),
        Price("image", {"": 0.25}, "2026-12-03", _FAL + "; fal's billing: unit images, price 0.25, one tier"),
    ),
    "meta/muse-image": (("text-to-image", "edit"), Price("image", {"": 0.01}, "2026-12-03", _FAL)),
    "microsoft/mai-image-2.5": (
        ("", "edit"),
        Price(
            "image",
            {"": 0.05},
            "2026-12-03",
            "fal.ai/models/microsoft/mai-image-2.5/llms.txt (fal's own page, stored copy)",
            note="about $0.05 an image (1024 output tokens); input text and images billed per token",
        ),
    ),
    "fal-ai/flux-2-max": (
        ("", "edit"),
        Price("image", {"": 0.07}, "2026-12-03", _FAL, note="first megapixel; $0.03 per further megapixel"),
    ),
    "fal-ai/nano-banana-2": (
        ("", "edit"),
        Price("image", {"1K": 0.08, "2K": 0.12, "4K": 0.16}, "2026-12-03", _FAL, "size", "1K"),
    ),
}
#: (backend, model id) -> the (backend, model id) whose price it has: a fal endpoint id is priced as its family.
SAME_PRICE: dict[tuple[str, str], tuple[str, str]] = {}
for _family, (_routes, _price) in _FAL_PRICES.items():
    PRICES[("fal", _family)] = _price
    SAME_PRICE.update({("fal", f"{_family}/{_route}".rstrip("/")): ("fal", _family) for _route in _routes})


def price_of(backend: str, model_id: str) -> Price | None:
    if backend == "local":
        return Price(unit="call", usd={"": 0.0}, checked="2026-12-03", source="offline: no provider is paid")
    return PRICES.get(SAME_PRICE.get((backend, model_id), (backend, model_id)))


def price_text(price: Price | None) -> str:
    """A short human form: ``$0.006–0.211/image (by quality; read 2026-12-03)``."""
    if price is None:
        return "unknown"
    if price.high == 0:
        return "free"
    span = f"${_fmt(price.low)}" if price.low == price.high else f"${_fmt(price.low)}–{_fmt(price.high)}"
    by = f"by {price.by}; " if price.by else ""
    return f"{span}/{price.unit} ({by}read {price.checked})"


def _fmt(usd: float) -> str:
    return f"{usd:.6f}".rstrip("0").rstrip(".") if usd < 0.01 else f"{usd:.3f}".rstrip("0").rstrip(".")


@dataclass
class Estimate:
    """What a call is expected to cost at list price (None: unknown)."""

    usd: float | None
    unit: str | None = None
    units: float | None = None
    unit_usd: float | None = None
    tier: str | None = None
    checked: str | None = None
    source: str | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = {
            "usd": self.usd,
            "unit": self.unit,
            "units": self.units,
            "unit_usd": self.unit_usd,
            "tier": self.tier or None,
            "price_checked": self.checked,
            "source": self.source,
            "note": self.note or None,
        }
        return {k: v for k, v in data.items() if v is not None}


def _units(price: Price, req: Any) -> float | None:
    prompts = list(req.prompt_list)
    if price.unit == "image":
        return float(req.n * len(prompts))
    if price.unit == "second":
        seconds = req.duration if req.duration is not None else price.default_seconds
        return None if seconds is None else float(seconds) * len(prompts)
    if price.unit == "character":
        return float(sum(len(p) for p in prompts))
    return float(len(prompts))


def estimate(backend: str, model_id: str, req: Any) -> Estimate:
    """The list-price estimate of ``req`` on ``backend``/``model_id``; ``usd`` None when unknown."""
    price = price_of(backend, model_id)
    if price is None:
        return Estimate(usd=None, note=f"no published per-unit price is recorded for {backend}/{model_id}")
    value = getattr(req, price.by, None) if price.by else None
    tier = price.tier(value)
    if tier is None:
        note = f"no published price for {price.by}={value}; known: {', '.join(price.usd)}"
        return Estimate(usd=None, unit=price.unit, checked=price.checked, source=price.source, note=note)
    units = _units(price, req)
    if units is None:
        return Estimate(usd=None, unit=price.unit, checked=price.checked, source=price.source, note="duration unknown")
    unit_usd = price.usd[tier]
    return Estimate(
        usd=round(unit_usd * units, 6),
        unit=price.unit,
        units=units,
        unit_usd=unit_usd,
        tier=tier,
        checked=price.checked,
        source=price.source,
        note=price.note,
    )
