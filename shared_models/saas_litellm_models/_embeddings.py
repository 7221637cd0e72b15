"""Shapes of an embeddings call: ``POST /api/jobs/{job_id}/embeddings`` and ``POST /v1/embeddings``.

Both answer OpenAI's embeddings object (``{object: "list", data: [{object: "embedding", index,
embedding}], model, usage}``) plus the ``call_id`` the call is recorded under. The input is
text: a string or a list of strings (OpenAI's token arrays are refused with a 400 that says so:
a deployment's tokenizer is not the client's to know).
"""

from __future__ import annotations

import base64
import struct
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ._base import (
    MAX_CONTENT_CHARS,
    Count,
    Metadata,
    ModelName,
    NoNul,
    RequestModel,
    ResponseModel,
)

__all__ = [
    "MAX_EMBEDDING_DIMENSIONS",
    "MAX_EMBEDDING_INPUTS",
    "Embedding",
    "EmbeddingInput",
    "EmbeddingsRequest",
    "EmbeddingsResponse",
    "EmbeddingsUsage",
    "OpenAIEmbeddingsRequest",
]

MAX_EMBEDDING_INPUTS = 2048
"""The most texts one request embeds (OpenAI's own limit)."""
MAX_EMBEDDING_DIMENSIONS = 4096
"""The largest ``dimensions`` a request may ask for."""

_Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_CONTENT_CHARS)]
EmbeddingInput = (
    _Text | Annotated[list[_Text], Field(min_length=1, max_length=MAX_EMBEDDING_INPUTS)]
)
"""One text, or up to :data:`MAX_EMBEDDING_INPUTS` texts (none of them empty)."""
_Dimensions = Annotated[Count, Field(ge=1, le=MAX_EMBEDDING_DIMENSIONS)]
_Short = Annotated[str, StringConstraints(min_length=1, max_length=256), NoNul]


class EmbeddingsRequest(RequestModel):
    """Body of ``POST /api/jobs/{job_id}/embeddings``."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"input": ["first text", "second"], "model": "Embed"}]},
    )

    input: EmbeddingInput = Field(description="A text or a list of texts to embed.")
    model: ModelName | None = Field(
        default=None,
        description="An alias with mode 'embedding'; omitted, the team's default model.",
    )
    dimensions: _Dimensions | None = Field(
        default=None, description="The length of each vector (for models that can shorten it)."
    )
    purpose: Annotated[str, StringConstraints(max_length=200), NoNul] | None = Field(
        default=None, description="What this call is for, recorded with the call."
    )
    metadata: Metadata | None = None

    @property
    def texts(self) -> list[str]:
        """The input as a list of texts, in order."""
        return [self.input] if isinstance(self.input, str) else list(self.input)

    def upstream_params(self) -> dict[str, Any]:
        """The parameters to forward upstream, in OpenAI's wire format."""
        return {} if self.dimensions is None else {"dimensions": self.dimensions}


class OpenAIEmbeddingsRequest(BaseModel):
    """Body of ``POST /v1/embeddings`` (OpenAI's request; unknown fields are ignored, as on
    ``/v1/chat/completions``)."""

    model_config = ConfigDict(
        extra="ignore",
        frozen=True,
        allow_inf_nan=False,
        json_schema_extra={"examples": [{"model": "Embed", "input": "Hello"}]},
    )

    model: ModelName = Field(description="An alias with mode 'embedding' the team may use.")
    input: (
        EmbeddingInput
        | Annotated[list[int], Field(min_length=1)]
        | Annotated[list[list[int]], Field(min_length=1)]
    ) = Field(description="A text or a list of texts (token arrays are refused: 400).")
    encoding_format: Literal["float", "base64"] | None = Field(
        default=None, description="'float' (the default) or 'base64' (little-endian float32)."
    )
    dimensions: _Dimensions | None = None
    user: _Short | None = Field(default=None, description="Forwarded; a single-call job's user_id.")
    metadata: Metadata | None = Field(
        default=None, description="Recorded on the call (and a single-call job)."
    )

    def unsupported(self) -> tuple[str, str] | None:
        """The first field this API refuses, and why (``None``: none)."""
        if isinstance(self.input, list) and not all(isinstance(t, str) for t in self.input):
            return "input", "token arrays are not supported: send the text (a string or strings)"
        return None

    def to_embeddings(self) -> EmbeddingsRequest:
        """The native request this one makes (once :meth:`unsupported` said nothing)."""
        return EmbeddingsRequest.model_validate(
            {
                "input": self.input,
                "model": self.model,
                "dimensions": self.dimensions,
                "metadata": self.metadata,
            }
        )

    def forwarded(self) -> dict[str, Any]:
        """What goes upstream beyond the native request's parameters."""
        return {} if self.user is None else {"user": self.user}


class Embedding(ResponseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str = Field(
        description="The vector; a base64 string of little-endian float32 with "
        "encoding_format 'base64'."
    )


class EmbeddingsUsage(ResponseModel):
    prompt_tokens: int = 0
    total_tokens: int = 0


class EmbeddingsResponse(ResponseModel):
    """OpenAI's embeddings object plus ``call_id``; ``model`` is the alias."""

    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingsUsage
    call_id: str

    @property
    def vectors(self) -> list[list[float]]:
        """The vectors in input order (float-encoded answers only)."""
        return [e.embedding for e in self.data if isinstance(e.embedding, list)]

    def as_base64(self) -> EmbeddingsResponse:
        """The same answer with each vector as base64 of little-endian float32 (what the openai
        package asks for, and decodes, by default)."""
        return self.model_copy(
            update={
                "data": [
                    e.model_copy(update={"embedding": _base64(e.embedding)}) for e in self.data
                ]
            }
        )


def _base64(vector: list[float] | str) -> str:
    if isinstance(vector, str):
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
