"""Local: offline generation with no key. One module per media type (``audio.py``, ``image.py``,
``video.py``); see ``backends/_compose.py``.

Real: piper speech, algorithmic MIDI music, narrated Ken Burns slideshows, neural restyle and
Real-ESRGAN upscaling. Placeholders (declared ``placeholder=True``, never auto-selected): an image
from a prompt (a seeded Pillow scene) and sound effects (numpy recipes). Everything heavy is
imported inside the functions that use it, so listing the backend costs nothing.
"""

from .._compose import compose
from ._probe import extra_missing

SPEC, BACKEND = compose(
    __name__,
    name="local",
    title="Local (offline)",
    env_keys=(),
    availability=extra_missing,
    notes="Offline, no key. Needs the [local] extra; lowest priority, so it only runs when asked or no key fits.",
)
