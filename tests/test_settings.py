"""Every environment variable the code reads is declared once, and the docs come from the declarations.

The scan reads every module under ``src/`` with ``ast``: each string constant shaped like a variable
name (``GENERATE_MEDIA_…``, ``…_API_KEY``, ``…_BASE_URL``, ``GOOGLE_…``), any upper-case name looked up
in the environment whatever its prefix (``settings.get("AWS_REGION")``), and each f-string passed to an
env lookup (``settings.get(f"GENERATE_MEDIA_PRIORITY_{t}")``), which must match a declared pattern. The
process environment itself is read in one place only (``Settings.from_env``), so nothing escapes the scan.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from generate_media.config import Limits, Settings
from generate_media.docs import declared_settings, env_names, tool_markdown
from generate_media.registry import load_registry
from generate_media.settings import CORE_SETTINGS

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "generate_media"
ENV_NAME = re.compile(
    r"^(GENERATE_MEDIA_[A-Z0-9_]+|FAL_[A-Z0-9_]+|[A-Z][A-Z0-9]*_(API_KEY|API_TOKEN|BASE_URL)|GOOGLE_[A-Z0-9_]+)$"
)
#: Any upper-case variable name: looked up in the environment, it must be declared whatever its prefix.
LOOKED_UP_NAME = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$")
LOOKUPS = {"get", "getenv", "pop", "setdefault"}


def _template(node: ast.JoinedStr) -> str:
    return "".join(str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values)


def _exported(tree: ast.AST) -> set[int]:
    """The string constants of ``__all__`` lists: names of Python objects, not variables."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            ids |= {id(c) for c in ast.walk(node.value) if isinstance(c, ast.Constant)}
    return ids


def _looked_up(node: ast.AST) -> ast.AST | None:
    """The key of an env lookup: ``x.get(KEY)``, ``getenv(KEY)``, ``environ[KEY]``."""
    if isinstance(node, ast.Call) and node.args:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        return node.args[0] if name in LOOKUPS else None
    if isinstance(node, ast.Subscript):
        target = node.value
        name = target.attr if isinstance(target, ast.Attribute) else target.id if isinstance(target, ast.Name) else ""
        return node.slice if name in ("environ", "env") else None
    return None


def read_names(source: str) -> tuple[set[str], set[str]]:
    """(variable names, f-string templates) a module's code reads."""
    tree = ast.parse(source)
    skip = _exported(tree) | {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    names: set[str] = set()
    templates: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            names |= {node.value} if ENV_NAME.match(node.value) else set()
        key = _looked_up(node)
        if isinstance(key, ast.Constant) and isinstance(key.value, str) and LOOKED_UP_NAME.match(key.value):
            names.add(key.value)
        if isinstance(key, ast.JoinedStr):
            template = _template(key)
            if ENV_NAME.match(template.replace("{}", "X")):
                templates.add(template)
    return names, templates


def undeclared(source: str, where: str) -> list[str]:
    declared = declared_settings(load_registry())
    names, templates = read_names(source)
    missing = [n for n in sorted(names) if not any(s.matches(n) for s in declared)]
    missing += [t for t in sorted(templates) if t not in {s.template for s in declared if s.is_pattern}]
    return [f"{where}: {name}" for name in missing]


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_every_variable_the_code_reads_is_declared():
    assert len(_modules()) > 40
    problems = [p for path in _modules() for p in undeclared(path.read_text("utf-8"), str(path.relative_to(ROOT)))]
    assert not problems, "declare these in settings.py or the backend's spec (settings=...): " + ", ".join(problems)


def test_every_declared_variable_is_read_somewhere():
    names: set[str] = set()
    templates: set[str] = set()
    for path in _modules():
        if path.name in ("settings.py", "docs.py"):
            continue  # the declarations themselves and the text made from them
        found, built = read_names(path.read_text("utf-8"))
        names |= found
        templates |= built
    # The Settings dataclass reads core settings through their declarations (declared.X.name).
    config = "".join((SRC / p).read_text("utf-8") for p in ("config.py", "server/http.py", "storage.py"))
    used = set(re.findall(r"declared\.([A-Z_]+)\b", config))
    import generate_media.settings as declared_module

    by_object = {getattr(declared_module, attr).name for attr in used}
    unread = [
        s.name
        for s in declared_settings(load_registry())
        if (s.template not in templates if s.is_pattern else s.name not in names | by_object)
    ]
    assert not unread, f"declared but never read: {unread}"


def test_the_scan_catches_an_undeclared_name_and_an_undeclared_pattern():
    source = (
        "import os\n"
        "a = os.environ.get('GENERATE_MEDIA_SHINY')\n"
        "b = settings.get(f'GENERATE_MEDIA_{kind}_COLOUR')\n"
        "c = os.getenv('ACME_API_KEY')\n"
        "d = settings.get(f'GENERATE_MEDIA_PRIORITY_{t}')\n"  # declared pattern
        "e = settings.get('GENERATE_MEDIA_OPENAI_IMAGE_MODEL')\n"  # an instance of a declared pattern
        "f = settings.get('AWS_PROFILE')\n"  # any prefix, when looked up
        "g = settings.get('AWS_REGION')\n"  # declared
        "__all__ = ['DEFAULT_BASE_URL']\n"  # a Python name, not a variable
    )
    assert undeclared(source, "m.py") == [
        "m.py: ACME_API_KEY",
        "m.py: AWS_PROFILE",
        "m.py: GENERATE_MEDIA_SHINY",
        "m.py: GENERATE_MEDIA_{}_COLOUR",
    ]


_PROCESS_ENV = ("environ", "environb", "getenv", "getenvb")


def _by_literal_name(tree: ast.AST) -> set[int]:
    """``os.environ`` / ``os.getenv`` nodes used only to read one literal name (which the scan checks)."""
    ok: set[int] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
            continue
        if not (isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            continue
        func = node.func
        if func.attr == "getenv":
            ok.add(id(func))
        elif func.attr == "get" and isinstance(func.value, ast.Attribute) and func.value.attr == "environ":
            ok.add(id(func.value))
    return ok


def _reads_the_process_environment(tree: ast.AST) -> list[int]:
    """Lines that read the process environment other than by one literal name: ``os.environ`` passed
    on, iterated or indexed by a variable, or ``environ``/``getenv`` imported from os."""
    literal = _by_literal_name(tree)
    attributes = [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and n.attr in _PROCESS_ENV and id(n) not in literal
    ]
    imports = [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module == "os" and any(a.name in _PROCESS_ENV for a in n.names)
    ]
    return sorted(attributes + imports)


def test_only_settings_from_env_reads_the_whole_process_environment():
    # Everything else reads Settings, or one literal name (SSL_CERT_FILE for httpx's TLS context), which
    # the scan above checks: any other read would be a variable no declaration, table or scan knows about.
    readers = {
        str(path.relative_to(ROOT)): lines
        for path in _modules()
        if (lines := _reads_the_process_environment(ast.parse(path.read_text("utf-8"))))
    }
    assert list(readers) == ["src/generate_media/config.py"] and len(readers["src/generate_media/config.py"]) == 1
    assert _reads_the_process_environment(ast.parse("import os\nx = os.getenv(name)\n")) == [2]
    assert _reads_the_process_environment(ast.parse("import os\nx = dict(os.environ)\n")) == [2]
    assert _reads_the_process_environment(ast.parse("from os import environ\n")) == [1]
    assert _reads_the_process_environment(ast.parse("import os\nx = os.environ.get('SSL_CERT_FILE')\n")) == []


def test_the_variables_issue_12_found_undocumented_are_in_tool_md():
    text = tool_markdown(load_registry())
    settings = text[text.index("## Settings") :]
    for name in (
        "GENERATE_MEDIA_JOB_DEADLINE_S",
        "GENERATE_MEDIA_CALL_DEADLINE_S",
        "GENERATE_MEDIA_POLL_INTERVAL_S",
        "GENERATE_MEDIA_REQUEST_TIMEOUT_S",
        "GENERATE_MEDIA_MAX_RETRIES",
        "GENERATE_MEDIA_ALLOW_HTTP_URLS",
        "GENERATE_MEDIA_ALLOW_PRIVATE_URLS",
        "GENERATE_MEDIA_MAX_DOWNLOAD_BYTES",
        "GENERATE_MEDIA_PREVIEW_BYTES",
        "GENERATE_MEDIA_HTTP_ALLOWED_HOSTS",
        "GOOGLE_GENAI_USE_VERTEXAI",
        "GOOGLE_VERTEX_BASE_URL",
        "GENERATE_MEDIA_ELEVENLABS_VOICE",
    ):
        assert f"`{name}`" in settings, name
    for setting in declared_settings(load_registry()):
        assert f"| `{setting.name}` | {setting.kind} | {setting.shown_default} |" in settings


def test_defaults_come_from_the_declarations():
    settings, limits = Settings.from_env({}), Limits.from_env({})
    by_name = {s.name: s for s in CORE_SETTINGS}
    assert settings.job_deadline_s == by_name["GENERATE_MEDIA_JOB_DEADLINE_S"].default == 3600.0
    assert settings.max_retries == by_name["GENERATE_MEDIA_MAX_RETRIES"].default == 2
    assert limits.max_download_bytes == by_name["GENERATE_MEDIA_MAX_DOWNLOAD_BYTES"].default
    assert settings.wait_budget_s is None and settings.call_deadline_s is None and settings.budget_usd is None
    changed = Settings.from_env({"GENERATE_MEDIA_JOB_DEADLINE_S": "60", "GENERATE_MEDIA_CALL_DEADLINE_S": "0"})
    assert changed.job_deadline_s == 60.0 and changed.call_deadline_s is None


def test_server_json_lists_only_declared_variables_with_their_kind():
    import json

    server = json.loads((ROOT / "server.json").read_text("utf-8"))
    by_name = {s.name: s for s in declared_settings(load_registry())}
    formats = {"path": "filepath", "int": "number", "float": "number"}
    listed = server["packages"][0]["environmentVariables"]
    assert len(listed) >= 6
    for var in listed:
        setting = by_name[var["name"]]  # KeyError: server.json names a variable the code does not read
        assert var["isSecret"] is (setting.kind == "secret"), var["name"]
        assert var["format"] == formats.get(setting.kind, "string"), var["name"]


def test_the_readme_names_only_declared_variables_and_points_to_the_full_table():
    readme = (ROOT / "README.md").read_text("utf-8")
    names = set(
        re.findall(r"\b(?:GENERATE_MEDIA_[A-Z0-9_<>]+|[A-Z][A-Z0-9]*_(?:API_KEY|BASE_URL)|GOOGLE_[A-Z_]+)", readme)
    )
    declared = declared_settings(load_registry())
    assert not [n for n in names if not any(s.matches(n) or s.name.startswith(n) for s in declared)]
    assert "TOOL.md#settings" in readme
    assert "GENERATE_MEDIA_PRIORITY_IMAGE" in env_names(load_registry())


# --- availability checks see the settings --------------------------------------------------------

VEO = {"media_type": "video", "prompt": "waves", "backend": "google", "model": "veo-3.1-generate-001"}
NO_VERTEX = {"GOOGLE_VERTEX_BASE_URL": "", "GOOGLE_GENAI_USE_VERTEXAI": ""}


async def test_a_vertex_only_model_is_refused_before_any_call_when_vertex_is_off(make_server, fake):
    from mcp import Client

    from tests.assertions import one_line_error

    async with Client(make_server("GEMINI_API_KEY", env=NO_VERTEX)) as client:
        named = await client.call_tool("generate_media", VEO)
        # negative_prompt is a Veo option: auto skips every Veo model with the reason, and says so
        auto = await client.call_tool("generate_media", {**VEO, "model": None, "negative_prompt": "rain"})
    reason = "runs on Vertex AI only: set GOOGLE_GENAI_USE_VERTEXAI=true (express key) or GOOGLE_VERTEX_BASE_URL"
    one_line_error(named, "Error (invalid_request):", f"veo-3.1-generate-001: {reason}")
    one_line_error(auto, "veo-3.1-lite-generate-001", reason)
    assert fake.requests == []


async def test_with_vertex_on_the_selector_takes_the_vertex_only_model(make_server, fake):
    from mcp import Client

    async with Client(make_server("GEMINI_API_KEY")) as client:  # the fake's GOOGLE_VERTEX_BASE_URL turns Vertex on
        result = await client.call_tool("generate_media", {**VEO, "model": None, "negative_prompt": "rain"})
    assert result.structured_content["model"].startswith("veo-3.1"), result.content
    assert fake.requests and all("/vertex/" in r.path for r in fake.requests)
