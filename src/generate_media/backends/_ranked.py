"""Each ranked model's standings on the public boards (``leaderboards.py``), shared by every backend that
serves it: the boards rank the model, not the route, so GPT Image 2 stands the same through OpenAI,
OpenRouter or fal. A backend declares ``standings=RANKED["gpt-image-2"]``; a re-read of a board updates
the model here once. Boards the model is not in the top ten of (as captured) are left out.
"""

from __future__ import annotations

from ..leaderboards import AA_I2V, AA_T2I, AA_T2V, ARENA_EDIT, ARENA_I2V, ARENA_T2I, ARENA_T2V
from ..spec import Standing

__all__ = ["RANKED"]


#: The model (as the boards name it) -> its standings, best source first.
RANKED: dict[str, tuple[Standing, ...]] = {
    # text-to-image (and image edit)
    "gpt-image-2.5-sunburst": (ARENA_T2I.at(1, 1424), AA_T2I.at(1, 1195), ARENA_EDIT.at(1, 1526)),
    "gpt-image-2.5-flare": (ARENA_T2I.at(2, 1401), AA_T2I.at(2, 1189), ARENA_EDIT.at(2, 1482)),
    "gpt-image-2": (
        ARENA_T2I.at(3, 1383, "gpt-image-2 (medium)"),
        AA_T2I.at(3, 1171, "GPT Image 2 (high)"),
        ARENA_EDIT.at(3, 1461),
    ),
    "reve-2.1": (ARENA_T2I.at(5, 1302),),
    "grok-imagine-image-2.0": (
        ARENA_T2I.at(6, 1301, "grok-imagine-image-2.0 (low)"),
        AA_T2I.at(4, 1154, "Grok Imagine Image 2.0"),
        ARENA_EDIT.at(4, 1430, "grok-imagine-image-2.0 (low)"),
    ),
    "muse-image": (ARENA_T2I.at(7, 1276), AA_T2I.at(7, 1111, "Muse Image"), ARENA_EDIT.at(6, 1402)),
    "nano-banana-2": (ARENA_T2I.at(9, 1261, "nano-banana-2 [web-search]"), AA_T2I.at(6, 1124)),
    "seedream-5.0-pro": (ARENA_T2I.at(10, 1256), ARENA_EDIT.at(8, 1394)),
    "mai-image-2.5": (AA_T2I.at(10, 1103, "MAI-Image-2.5"), ARENA_EDIT.at(7, 1400)),
    # video
    "gemini-omni-1.1-flash": (ARENA_T2V.at(1, 1516), AA_T2V.at(6, 1120), ARENA_I2V.at(2, 1488)),
    "flux-3-video": (
        ARENA_T2V.at(3, 1493, "flux-3-video (pre-release)"),
        AA_T2V.at(5, 1129, "FLUX 3"),
        ARENA_I2V.at(9, 1449, "flux-3-video-20260811"),
    ),
    "grok-imagine-video-1.5": (
        ARENA_T2V.at(4, 1492, "grok-imagine-video-1.5-agent"),
        AA_T2V.at(10, 1046),
        ARENA_I2V.at(8, 1456, "grok-imagine-video-1.5-720p"),
        AA_I2V.at(8, 1099),
    ),
    "seedance-2.0": (
        ARENA_T2V.at(5, 1479, "dreamina-seedance-2.0-720p"),
        AA_T2V.at(7, 1118),
        ARENA_I2V.at(5, 1475, "dreamina-seedance-2.0-720p"),
        AA_I2V.at(4, 1176, "Seedance 2.0 720p"),
    ),
    "wan-3.0": (ARENA_T2V.at(6, 1476), AA_T2V.at(1, 1157), ARENA_I2V.at(3, 1480), AA_I2V.at(6, 1164)),
    "seedance-2.5": (
        ARENA_T2V.at(7, 1474, "dreamina-seedance-2.5-720p"),
        AA_T2V.at(3, 1143),
        ARENA_I2V.at(4, 1477, "dreamina-seedance-2.5-720p"),
    ),
    "minimax-h3": (
        ARENA_T2V.at(8, 1460),
        AA_T2V.at(4, 1138, "MiniMax H3 (768p)"),
        ARENA_I2V.at(1, 1495),
        AA_I2V.at(2, 1181),
    ),
    # fal's post-train of H3: AA ranks it on its own; Arena ranks only the base model, which it stands for here.
    "minimax-h3-max": (
        ARENA_T2V.at(8, 1460, "minimax-h3 (the base model; H3 Max is fal's post-train)"),
        ARENA_I2V.at(1, 1495, "minimax-h3 (the base model; H3 Max is fal's post-train)"),
        AA_I2V.at(1, 1194, "MiniMax H3 Max (fal post-train)"),
    ),
    "happyhorse-1.0": (ARENA_T2V.at(10, 1427), ARENA_I2V.at(10, 1442), AA_I2V.at(10, 1083, "HappyHorse-1.0")),
}
