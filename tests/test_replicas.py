"""Several ``generate-media-mcp --http`` processes behind a round-robin proxy with no sticky sessions
(tests/replicas.py): each request of one client may land on another replica."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio

from tests.conftest import KEYS
from tests.fakes import fake_env
from tests.replicas import proxy, replicas
from tests.test_http import ALICE, TOKENS, connect
from tests.videohelp import Progress

XAI = "XAI_API_KEY"


def replica_env(fake: Any, root: Path, name: str, **extra: str) -> dict[str, str]:
    """One machine's env: its own output and state folders, the shared fake and tokens."""
    return {
        **fake_env(fake),
        XAI: KEYS[XAI],
        "OPENAI_API_KEY": KEYS["OPENAI_API_KEY"],
        **TOKENS,
        "GENERATE_MEDIA_OUTPUT_DIR": str(root / name / "out"),
        "GENERATE_MEDIA_STATE_DIR": str(root / name / "state"),
        "GENERATE_MEDIA_POLL_INTERVAL_S": "0.01",
        "GENERATE_MEDIA_HTTP_STATELESS": "1",
        **extra,
    }


async def test_one_clients_requests_on_two_stateless_replicas_all_work_and_progress_arrives(fake, tmp_path, s3, mode):
    fake.state["xai_video_plan"] = [("pending", 0), ("pending", 50), ("done",)]
    bucket = s3.env(f"stateless-{mode}")
    envs = [replica_env(fake, tmp_path, name, **bucket) for name in "AB"]
    progress = Progress()
    with replicas(envs, tmp_path) as (a, b):
        async with proxy([a, b]) as (url, balancer), connect(url, ALICE, mode) as client:
            with anyio.fail_after(60):
                video = await client.call_tool(
                    "generate_media", {"media_type": "video", "prompt": "waves"}, progress_callback=progress
                )
                image = await client.call_tool("generate_media", {"prompt": "a fox on the other replica"})
    assert not video.is_error, video.content
    assert not image.is_error, image.content
    assert sorted(balancer.methods_by("tools/call")) == ["A", "B"]  # one call on each process
    if mode == "legacy":  # a handshake-era client: B answers without ever having seen its initialize
        assert balancer.methods_by("initialize") == ["A"]
    assert len(progress.values) >= 3 and progress.messages[-1] == "downloading from grok"
    for result in (video, image):
        item = result.structured_content["items"][0]
        assert item["uri"].startswith("s3://media/stateless-")
        assert "/clients/alice/" in item["uri"]
    assert len(fake.of("xai", "/_vidgen/")) == 1
