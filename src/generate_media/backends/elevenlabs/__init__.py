"""ElevenLabs: speech, sound effects, music, voice conversion, isolation, design, cloning, dubbing."""

from .._compose import compose
from .voices import VOICE_SETTING, warm

SPEC, BACKEND = compose(
    __name__,
    name="elevenlabs",
    title="ElevenLabs",
    env_keys=("ELEVENLABS_API_KEY",),
    base_url_env="ELEVENLABS_BASE_URL",
    warm=warm,
    docs_url="https://elevenlabs.io/docs/api-reference",
    settings=(VOICE_SETTING,),
)
