"""OpenAI SDK failures (and image downloads) translated into ProviderErrors."""

from __future__ import annotations

from urllib.parse import urlsplit

import openai

try:
    import httpx2 as httpx
except ImportError:  # openai before 3.0 is built on httpx
    import httpx  # type: ignore[no-redef]

from writer_service.ai.errors import (
    BadProviderResponse,
    ProviderError,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
    QuotaExceeded,
    RateLimited,
)

MAX_IMAGE_BYTES = 32 * 1024 * 1024
QUOTA_CODE = "insufficient_quota"


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("retry-after", ""))
    except ValueError:
        return None


def _is_quota_error(exc: openai.APIStatusError) -> bool:
    if QUOTA_CODE in (exc.code, exc.type):
        return True
    return QUOTA_CODE in str(exc.body)


def translate(exc: openai.OpenAIError) -> ProviderError:
    """The ProviderError an SDK exception means, after the SDK's own retries."""
    if isinstance(exc, openai.APITimeoutError):
        return ProviderTimeout(f"the OpenAI API did not answer in time: {exc}")
    if isinstance(exc, openai.APIConnectionError):
        return ProviderUnavailable(f"could not reach the OpenAI API: {exc}")
    if isinstance(exc, openai.RateLimitError):
        if _is_quota_error(exc):
            return QuotaExceeded(f"the OpenAI account has no quota left ({QUOTA_CODE}): check the plan and billing "
                                 f"of the API key; the API said: {exc.message}")
        return RateLimited(f"the OpenAI API is rate limiting requests: {exc.message}",
                           retry_after=_retry_after(exc.response))
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code >= 500:
            return ProviderUnavailable(f"the OpenAI API failed with {exc.status_code}: {exc.message}")
        if exc.status_code == 408:
            return ProviderTimeout(f"the OpenAI API timed out the request: {exc.message}")
        return ProviderRejected(f"the OpenAI API refused the request ({exc.status_code}): {exc.message}")
    if isinstance(exc, openai.APIResponseValidationError):
        return BadProviderResponse(f"the OpenAI API answered something unexpected: {exc.message}")
    return ProviderError(f"the OpenAI SDK failed: {exc}")


async def download(url: str, *, timeout_seconds: float, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    """The file at an image URL the API answered, at most max_bytes."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise BadProviderResponse(f"the image API answered a URL that is not http(s): {url[:100]!r}")
    try:
        async with (httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=True) as http,
                    http.stream("GET", url) as response):
            if response.status_code >= 500:
                raise ProviderUnavailable(f"downloading the generated image failed with {response.status_code}")
            if response.status_code >= 400:
                raise BadProviderResponse(f"the generated image URL answered {response.status_code}")
            declared = int(response.headers.get("content-length") or 0)
            if declared > max_bytes:
                raise BadProviderResponse(f"the generated image is {declared} bytes, over {max_bytes}")
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data.extend(chunk)
                if len(data) > max_bytes:
                    raise BadProviderResponse(f"the generated image is over {max_bytes} bytes")
            return bytes(data)
    except httpx.TimeoutException as exc:
        raise ProviderTimeout(f"downloading the generated image timed out: {exc!r}") from exc
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"downloading the generated image failed: {exc!r}") from exc
