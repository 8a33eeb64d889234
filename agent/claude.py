"""The Claude model adapter: the Messages API through the injected ``anthropic`` client.

It streams the reply (text goes to the listener as it arrives), marks the system prompt, the
last tool definition and the newest message as cache breakpoints, and retries 429 (honouring
``retry-after``), 529/5xx, connection errors, timeouts and streams that cannot be decoded
with exponential backoff and jitter through ``tenacity``. The SDK's own retries are off
(``max_retries=0``) so backoff never doubles up.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable, Iterator
from typing import Any, get_args

import anthropic
from anthropic.types import Message as ApiMessage
from anthropic.types import Model
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from agent.model import (
    Block,
    Effort,
    Message,
    ModelError,
    ModelListener,
    ModelTurn,
    SystemPrompt,
    Usage,
)
from agent.pricing import cost_usd

DEFAULT_MAX_TOKENS = 16_000
"""Output budget of one turn (the report is the longest turn)."""

DEFAULT_MAX_ATTEMPTS = 6
"""Calls per turn before giving up (the first call plus five retries)."""

RETRY_AFTER_MAX_S = 120.0
"""The longest ``retry-after`` the adapter honours for one wait."""

_CACHE: dict[str, str] = {"type": "ephemeral"}
_RETRYABLE_STATUS = {408, 409, 429}
_RETRYABLE_STREAM_ERRORS = {"overloaded_error", "api_error", "rate_limit_error"}


def newest_opus_model() -> str:
    """The newest Opus model id the installed SDK lists (from ``anthropic.types.Model``)."""
    best: tuple[tuple[int, int], str] | None = None
    for literal in get_args(Model):
        for name in get_args(literal):
            match = re.fullmatch(r"claude-opus-(\d+)(?:-(\d{1,2}))?", str(name))
            if match:
                key = ((int(match[1]), int(match[2] or 0)), str(name))
                best = key if best is None or key > best else best
    if best is None:
        raise ModelError("The installed anthropic SDK lists no Opus model; pass --model.")
    return best[1]


def make_client(*, api_key: str | None = None) -> anthropic.Anthropic:
    """A client with the SDK's retries off (``ANTHROPIC_BASE_URL`` is honoured by the SDK)."""
    return anthropic.Anthropic(api_key=api_key, max_retries=0)


class ClaudeModel:
    """A :class:`~agent.model.ModelClient` over the Messages API.

    Args:
        client: the injected SDK client (``make_client()`` in production).
        model: the model id.
        max_tokens: output budget per turn.
        max_attempts: calls per turn before the run fails.
        sleep: how to wait between attempts (tests inject a recorder).
        wait_initial_s: the first backoff wait; it doubles each attempt, plus jitter.
        wait_max_s: the longest backoff wait.
        effort: ``output_config.effort`` (low … max); None sends none: the model's default.
    """

    def __init__(
        self,
        client: anthropic.Anthropic,
        *,
        model: str,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
        wait_initial_s: float = 2.0,
        wait_max_s: float = 60.0,
        effort: Effort | None = None,
    ) -> None:
        self._client = client
        self._model = model
        self._max_tokens = max_tokens
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._backoff = wait_exponential_jitter(multiplier=wait_initial_s, max=wait_max_s, jitter=1)
        self._effort = effort

    @property
    def name(self) -> str:
        """The model id."""
        return self._model

    def cost_usd(self, usage: Usage) -> float | None:
        """The price of ``usage`` on this model (None when the family has no known price)."""
        return cost_usd(self._model, usage)

    def create(
        self,
        *,
        system: SystemPrompt,
        messages: list[Message],
        tools: list[dict[str, Any]],
        listener: ModelListener,
    ) -> ModelTurn:
        """One streamed Messages API call, retried on transient errors."""
        params: dict[str, Any] = {
            "model": self._model,
            "max_tokens": self._max_tokens,
            "system": _system_blocks(system),
            "tools": _cached_tools(tools),
            "messages": _cached_messages(messages),
        }
        if self._effort is not None:
            params["output_config"] = {"effort": self._effort}

        def attempt() -> ModelTurn:
            with self._client.messages.stream(**params) as stream:
                for event in _decoded(stream):
                    if event.type == "text":
                        listener.on_text(event.text)
                return _final_turn(stream)

        return self._with_retries(attempt, listener)

    def _with_retries(self, attempt: Callable[[], ModelTurn], listener: ModelListener) -> ModelTurn:
        def announce(state: RetryCallState) -> None:
            wait = state.next_action.sleep if state.next_action else 0.0
            error = state.outcome.exception() if state.outcome else None
            listener.on_retry(state.attempt_number, self._max_attempts, wait, _reason(error))

        retrying = Retrying(
            stop=stop_after_attempt(self._max_attempts),
            wait=self._wait,
            retry=retry_if_exception(is_retryable),
            sleep=self._sleep,
            before_sleep=announce,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except anthropic.APIError as exc:
            raise ModelError(explain_api_error(exc, self._max_attempts)) from exc
        except MalformedStream as exc:
            raise ModelError(
                f"The Anthropic API sent a stream that could not be read {self._max_attempts} "
                f"times in a row ({exc}). Try again later."
            ) from exc

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        told = retry_after_s(error)
        return told if told is not None else float(self._backoff(state))


class MalformedStream(Exception):
    """The reply stream could not be decoded (a bad SSE data line, an event of the wrong shape,
    a connection cut mid-stream); like an overload, the call is worth repeating."""


def _decoded(stream: Any) -> Iterator[Any]:
    """The stream's events; a failure to decode one becomes :class:`MalformedStream`.

    The SDK raises whatever its parsing hits (``JSONDecodeError`` on a bad data line,
    ``AttributeError`` when ``message_start`` carries no object, ``RuntimeError`` on events out
    of order); only its own API errors (SSE ``error`` events) keep their type.
    """
    events = iter(stream)
    while True:
        try:
            event = next(events)
        except StopIteration:
            return
        except anthropic.APIError:
            raise
        except Exception as exc:
            raise MalformedStream(f"{type(exc).__name__}: {exc}") from exc
        yield event


def _final_turn(stream: Any) -> ModelTurn:
    """The assembled message as a turn; a message missing parts becomes :class:`MalformedStream`."""
    try:
        return _to_turn(stream.get_final_message())
    except anthropic.APIError:
        raise
    except Exception as exc:  # the stream ended early, or its message lacks content or usage
        raise MalformedStream(f"{type(exc).__name__}: {exc}") from exc


def is_retryable(error: BaseException) -> bool:
    """Whether a failed call is worth repeating (rate limit, overload, 5xx, network, a stream
    that could not be decoded)."""
    if isinstance(error, anthropic.APIConnectionError | MalformedStream):
        return True
    if isinstance(error, anthropic.APIStatusError):
        if error.status_code >= 500 or error.status_code in _RETRYABLE_STATUS:
            return True
        return _stream_error_type(error) in _RETRYABLE_STREAM_ERRORS
    return False


def retry_after_s(error: BaseException | None) -> float | None:
    """The wait the server asked for (``retry-after-ms`` or ``retry-after``), capped."""
    if not isinstance(error, anthropic.APIStatusError):
        return None
    headers = error.response.headers
    try:
        if "retry-after-ms" in headers:
            return min(float(headers["retry-after-ms"]) / 1000, RETRY_AFTER_MAX_S)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return min(max(float(value), 0.0), RETRY_AFTER_MAX_S)
        except ValueError:
            when = email.utils.parsedate_to_datetime(value).timestamp()
            return min(max(when - time.time(), 0.0), RETRY_AFTER_MAX_S)
    except (TypeError, ValueError):
        return None


def explain_api_error(error: anthropic.APIError, attempts: int) -> str:
    """One plain sentence saying why the model could not be called."""
    if isinstance(error, anthropic.AuthenticationError):
        return "The Anthropic API rejected the API key (HTTP 401): check ANTHROPIC_API_KEY."
    if isinstance(error, anthropic.APIConnectionError):
        return f"The Anthropic API could not be reached after {attempts} attempts: {error}."
    if isinstance(error, anthropic.APIStatusError):
        status = error.status_code
        if is_retryable(error):
            return (
                f"The Anthropic API still failed after {attempts} attempts "
                f"(HTTP {status}, {_stream_error_type(error) or type(error).__name__}): "
                f"{error.message}. Try again later."
            )
        return f"The Anthropic API refused the request (HTTP {status}): {error.message}"
    return f"The Anthropic API call failed: {error}"


def _stream_error_type(error: anthropic.APIStatusError) -> str | None:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("type"), str):
            return str(inner["type"])
    return None


def _reason(error: BaseException | None) -> str:
    if isinstance(error, anthropic.APIStatusError):
        kind = _stream_error_type(error) or type(error).__name__
        return f"HTTP {error.status_code} {kind}"
    if isinstance(error, MalformedStream):
        return f"malformed stream: {str(error)[:120]}"
    return type(error).__name__ if error else "unknown error"


def _system_blocks(system: SystemPrompt) -> list[dict[str, Any]]:
    """The system blocks, the cache breakpoint after the first (static) one.

    The per-run part (date, repository, memory) comes after the breakpoint, so a memory edit or
    a new day does not rewrite the cached instructions; the newest message's breakpoint covers
    the per-run part within a run.
    """
    parts = [system] if isinstance(system, str) else [p for p in system if p]
    blocks: list[dict[str, Any]] = [{"type": "text", "text": text} for text in parts]
    if blocks:
        blocks[0]["cache_control"] = _CACHE
    return blocks


def _cached_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    copied = [dict(tool) for tool in tools]
    if copied:
        copied[-1]["cache_control"] = _CACHE
    return copied


def _cached_messages(messages: list[Message]) -> list[Message]:
    """The history with a cache breakpoint on the newest user block (copies; history untouched).

    Only a user message gets the marker: a resent (paused) assistant turn may end in a block
    type that cannot carry ``cache_control``.
    """
    if not messages or messages[-1]["role"] != "user" or not messages[-1]["content"]:
        return messages
    last = dict(messages[-1])
    content = [dict(block) for block in last["content"]]
    content[-1]["cache_control"] = _CACHE
    last["content"] = content
    return [*messages[:-1], last]


def _to_turn(message: ApiMessage) -> ModelTurn:
    usage = Usage(
        input_tokens=message.usage.input_tokens,
        output_tokens=message.usage.output_tokens,
        cache_read_tokens=message.usage.cache_read_input_tokens or 0,
        cache_write_tokens=message.usage.cache_creation_input_tokens or 0,
    )
    # The API refuses empty text blocks when the history is sent back, so they are dropped.
    blocks = [_to_block(b) for b in message.content if not (b.type == "text" and not b.text)]
    return ModelTurn(blocks, message.stop_reason, usage)


def _to_block(block: Any) -> Block:
    if block.type == "text":
        return {"type": "text", "text": block.text}
    if block.type == "tool_use":
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    # Thinking and server-tool blocks go back to the API exactly as they came.
    data: Block = block.to_dict(mode="json", exclude_none=True)
    return data
