"""Every setting is documented: the README's Configuration table names its environment variable."""

from __future__ import annotations

from pathlib import Path

from workers.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")


def env_names(name: str) -> list[str]:
    """The environment variables that set ``name`` (``WIREWATCH_<NAME>`` unless it has aliases)."""
    alias = Settings.model_fields[name].validation_alias
    choices = getattr(alias, "choices", None)
    return [str(c) for c in choices] if choices else [f"WIREWATCH_{name.upper()}"]


def undocumented(text: str) -> list[str]:
    return [name for name in Settings.model_fields if not any(f"`{n}`" in text for n in env_names(name))]


def test_every_setting_is_in_the_readme() -> None:
    assert not undocumented(README), f"settings missing from README, Configuration: {undocumented(README)}"


def test_a_setting_left_out_is_reported() -> None:
    assert undocumented(README.replace("`WIREWATCH_CREATE_TOPICS`", "")) == ["create_topics"]
    assert "bootstrap_servers" in undocumented("")
