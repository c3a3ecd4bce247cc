"""Why an AI call failed, in the words the job runner needs: a stable reason and whether to retry."""

from __future__ import annotations


class ProviderError(Exception):
    """An AI provider call that did not give a usable answer."""

    reason = "PROVIDER_ERROR"
    retryable = False

    def __init__(self, message: str, *, reason: str | None = None, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        if retryable is not None:
            self.retryable = retryable

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reason={self.reason!r}, retryable={self.retryable}, message={self.message!r})"


class RateLimited(ProviderError):
    """429: the provider asks us to slow down; try again later."""

    reason = "RATE_LIMITED"
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds, when the provider said


class ProviderUnavailable(ProviderError):
    """A 5xx answer or no connection at all."""

    reason = "PROVIDER_UNAVAILABLE"
    retryable = True


class ProviderTimeout(ProviderError):
    """No answer within the configured timeout."""

    reason = "PROVIDER_TIMEOUT"
    retryable = True


class QuotaExceeded(ProviderError):
    """The provider account has no quota left (OpenAI's insufficient_quota): retrying will not help."""

    reason = "QUOTA_EXCEEDED"
    retryable = False


class BadProviderResponse(ProviderError):
    """An answer that is not the JSON (or image) we asked for; a second try often succeeds."""

    reason = "BAD_PROVIDER_RESPONSE"
    retryable = True


class ProviderRejected(ProviderError):
    """A 4xx other than 429: bad key, unknown model, refused prompt; the same call fails again."""

    reason = "PROVIDER_REJECTED"
    retryable = False
