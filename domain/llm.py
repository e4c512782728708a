"""Chat models for the optional LLM features (ingest cleaning, pricing hints), built from Settings.

One place decides which provider is used (OpenAI first, then Anthropic, none without a key), how
the real LangChain clients are configured (model, API key, ``*_base_url`` so tests can point them
at local servers, timeout, no retries, temperature 0) and how a prompt is chained to a model with
structured output through tool calling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from aiqleads.domain.settings import Settings

if TYPE_CHECKING:  # LangChain (most of a second to import) is imported when a model is built
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable

OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-haiku-4-5"

Provider = Literal["openai", "anthropic"]


@dataclass(frozen=True)
class ChatModel:
    """A configured chat model and where it comes from."""

    model: BaseChatModel
    provider: Provider
    timeout_seconds: float


def build_chat_model(settings: Settings, *, anthropic_max_tokens: int) -> ChatModel | None:
    """The chat model of the configured provider (OpenAI first), or None when no API key is set."""
    timeout = settings.llm_timeout_seconds
    if settings.openai_api_key:
        from langchain_openai import ChatOpenAI

        openai_model = ChatOpenAI(
            model=OPENAI_MODEL,
            api_key=settings.openai_api_key,  # type: ignore[arg-type]
            base_url=settings.openai_base_url,
            timeout=timeout,
            max_retries=0,
            temperature=0,
        )
        return ChatModel(openai_model, "openai", timeout)
    if settings.anthropic_api_key:
        from langchain_anthropic import ChatAnthropic

        anthropic_model = ChatAnthropic(  # type: ignore[call-arg]
            model=ANTHROPIC_MODEL,
            api_key=settings.anthropic_api_key,  # type: ignore[arg-type]
            base_url=settings.anthropic_base_url,
            timeout=timeout,
            max_retries=0,
            temperature=0,
            max_tokens=anthropic_max_tokens,
        )
        return ChatModel(anthropic_model, "anthropic", timeout)
    return None


def structured_chain(
    model: BaseChatModel, system_prompt: str, human_prompt: str, schema: type[BaseModel]
) -> Runnable[dict[str, Any], Any]:
    """prompt | model answering with ``schema`` through tool calling (a model instance or a dict)."""
    from langchain_core.prompts import ChatPromptTemplate

    prompt = ChatPromptTemplate.from_messages([("system", system_prompt), ("human", human_prompt)])
    structured = model.with_structured_output(schema, method="function_calling")
    return prompt | structured
