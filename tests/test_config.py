from pathlib import Path

import pytest

from agent.config import load_config
from agent.errors import ConfigError, MissingKeyError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_builtin_catalog_and_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path, environ={"HOME": str(tmp_path)})
    assert config.models["deepseek-v4-flash"].context_window == 1_000_000
    assert config.models["deepseek-v4-pro"].images is False
    assert config.models["gpt-5.5"].images is True
    assert config.base_url_of("deepseek-v4-pro") == "https://api.deepseek.com"
    assert config.base_url_of("gpt-5.5") == "https://api.openai.com/v1"


def test_layers_later_wins(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write(home / ".config/duet/config.toml", 'route = "cheap"\nmax_turns = 7\nshell_timeout_s = 30\n')
    write(tmp_path / ".duet/config.toml", "max_turns = 9\n")
    env = {"HOME": str(home), "DUET_ROUTE": "best"}
    config = load_config(tmp_path, {"max_turns": 11, "model": None}, env)
    assert config.shell_timeout_s == 30  # user file
    assert config.route == "best"  # environment beats the user file
    assert config.max_turns == 11  # flag beats the project file
    assert load_config(tmp_path, {}, env).max_turns == 7  # an untrusted project may only tighten the user's limit
    from agent import trust
    from agent.config import user_config_path

    trust.record_trust(tmp_path, user_config_path(env))
    assert load_config(tmp_path, {}, env).max_turns == 9  # a trusted project beats the user


def test_model_pointed_at_any_base_url(tmp_path: Path) -> None:
    # The user's own file: a project's file may not move keys to other servers until trusted (test_trust.py).
    write(tmp_path / ".config/duet/config.toml", '[models.deepseek-v4-pro]\nbase_url = "http://gpu-box:8000/v1"\n'
          '[providers.vllm]\ndialect = "deepseek"\nbase_url = "http://h:1/v1"\napi_key_env = "VLLM_KEY"\n'
          '[models.local-v4]\nprovider = "vllm"\napi_model = "deepseek-ai/DeepSeek-V4"\n'
          'context_window = 1000000\nmax_output_tokens = 8000\n')
    config = load_config(tmp_path, environ={"HOME": str(tmp_path), "DEEPSEEK_BASE_URL": "http://gw/v1"})
    assert config.base_url_of("deepseek-v4-pro") == "http://gpu-box:8000/v1"
    assert config.base_url_of("deepseek-v4-flash") == "http://gw/v1"
    assert config.base_url_of("local-v4") == "http://h:1/v1"
    assert config.models["deepseek-v4-pro"].thinking is True  # partial override keeps the rest


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    path = write(tmp_path / ".duet/config.toml", "max_turn = 3\n")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path, environ={"HOME": str(tmp_path)})
    message = str(err.value)
    assert str(path) in message and "'max_turn'" in message and "\n" not in message


def test_wrong_type_names_file_and_key(tmp_path: Path) -> None:
    path = write(tmp_path / "home/.config/duet/config.toml", '[models."gpt-5.5"]\nimages = "sometimes"\n')
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path, environ={"HOME": str(tmp_path / "home")})
    assert str(path) in str(err.value) and "models.gpt-5.5.images" in str(err.value)


def test_bad_toml_is_one_line(tmp_path: Path) -> None:
    write(tmp_path / ".duet/config.toml", "route = \n")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path, environ={"HOME": str(tmp_path)})
    assert "config.toml" in str(err.value) and "\n" not in str(err.value)


def test_bad_environment_value_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="environment: DUET_ROUTE"):
        load_config(tmp_path, environ={"HOME": str(tmp_path), "DUET_ROUTE": "fastest"})


def test_missing_key_names_variable_not_value(tmp_path: Path) -> None:
    config = load_config(tmp_path, environ={"HOME": str(tmp_path)})
    with pytest.raises(MissingKeyError) as err:
        config.api_key_of("gpt-5.5", {"DEEPSEEK_API_KEY": "sk-secret-value-123456"})
    assert "OPENAI_API_KEY" in str(err.value) and "agent demo" in str(err.value)
    assert config.api_key_of("deepseek-v4-flash", {"DEEPSEEK_API_KEY": "sk-secret-value-123456"})
