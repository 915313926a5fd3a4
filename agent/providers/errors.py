"""The few provider errors the rest of Duet sees. No SDK exception escapes the provider layer."""

from __future__ import annotations


class ProviderError(Exception):
    """A model call failed. The message is the provider's, with secrets removed."""

    retryable = False

    def __init__(self, message: str, *, model: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.model = model
        self.status = status
        self.billed_attempts: tuple[object, ...] = ()
        """Attempts of the failed call the provider may still bill (agent.providers.base.BilledAttempt)."""


class BadRequest(ProviderError):
    """The provider refused the request (400/404/422); retrying the same request cannot help."""


class ContextTooLong(BadRequest):
    """The prompt exceeds the model's context window."""


class AuthError(ProviderError):
    """Bad key, no permission, or no balance (401/402/403)."""


class ProviderUnavailable(ProviderError):
    """Server errors, connection failures, cut streams and deadlines, after retries."""

    retryable = True


class RateLimited(ProviderUnavailable):
    """429 after retries."""

    def __init__(self, message: str, *, model: str = "", status: int | None = 429,
                 retry_after: float | None = None) -> None:
        super().__init__(message, model=model, status=status)
        self.retry_after = retry_after


class StreamCut(ProviderUnavailable):
    """The stream ended before the answer was complete."""
