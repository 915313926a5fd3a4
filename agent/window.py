"""How a model's configured context window is shared: room kept for the answer, the repository's share,
and the output limit that still fits. Every model's own window is used (from its config entry), so a
4K-token local model gets a prompt that fits it, or a clear refusal before anything is sent."""

from __future__ import annotations

from agent.catalog import ModelConfig

# Room kept free for the answer and the next tool results: this much, or a quarter of a small window.
WINDOW_RESERVE_TOKENS = 32_000
# The smallest answer worth asking for; a prompt that leaves less is refused before it is sent.
MIN_ANSWER_TOKENS = 256
COMPACT_TOOLS_BELOW = 32_768
"""Models with a smaller window get each tool's description cut to its first sentence (agent.instructions.toolset),
so each first sentence carries its tool's rules: the full schemas (about 2,400 tokens) would take most of a 4K
window."""
# The repository (pack aside) takes at most this share of the window.
REPO_SHARE_DIVISOR = 8


def reserve_tokens(spec: ModelConfig) -> int:
    """Tokens kept free in `spec`'s window for the answer and what follows it."""
    return min(WINDOW_RESERVE_TOKENS, spec.context_window // 4)


def fits(spec: ModelConfig, prompt_tokens: int) -> bool:
    """Does a prompt of this size leave the reserve free?"""
    return prompt_tokens + reserve_tokens(spec) <= spec.context_window


def can_answer(spec: ModelConfig, prompt_tokens: int) -> bool:
    """Is there room for at least a minimal answer after the prompt?"""
    return prompt_tokens + min(MIN_ANSWER_TOKENS, spec.max_output_tokens) <= spec.context_window


def output_limit(spec: ModelConfig, prompt_tokens: int) -> int:
    """The output limit to send: the model's own, lowered so prompt and answer fit the window together."""
    return max(1, min(spec.max_output_tokens, spec.context_window - prompt_tokens))


def repo_budget(spec: ModelConfig) -> int:
    """Tokens the repository map (and whole files after it) may take in `spec`'s window."""
    return spec.context_window // REPO_SHARE_DIVISOR


def compact_tools(spec: ModelConfig | None) -> bool:
    """Should `spec` get the short tool descriptions?"""
    return spec is not None and spec.context_window < COMPACT_TOOLS_BELOW
