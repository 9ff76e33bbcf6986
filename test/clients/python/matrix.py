"""The official `openai` Python SDK and LangChain's `langchain-openai` against a Tollgate gateway.

Run by test/e2e/python-clients.test.ts: `python matrix.py` with a JSON job on stdin
({"base_url", "api_key", "targets": [{"label", "chat", "embeddings", "json_schema"}]}). Prints one JSON object,
label -> check -> observed result (or {"error": ...}), and leaves every assertion to the test: a failing client call
is recorded, not raised, so one failure does not hide the others.
"""

import json
import sys
import time
import traceback

import openai
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI, OpenAIEmbeddings
from pydantic import BaseModel


class Answer(BaseModel):
    echo: str


LOOKUP = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Look something up",
        "parameters": {"type": "object", "properties": {"echo": {"type": "string"}}, "required": ["echo"]},
    },
}


@tool
def lookup(echo: str) -> str:
    """Look something up"""
    return f"sunny in {echo}"


def api_error(error: openai.APIStatusError) -> dict:
    body = error.body if isinstance(error.body, dict) else {}
    return {
        "status": error.status_code,
        "type": body.get("type"),
        "code": body.get("code"),
        "message": error.message,
        "request_id_is_tollgates": bool(error.request_id) and error.request_id == error.response.headers.get("x-tollgate-request-id"),
    }


# ---------------------------------------------------------------- openai SDK


def sdk_chat(client: openai.OpenAI, t: dict) -> dict:
    raw = client.chat.completions.with_raw_response.create(
        model=t["chat"], messages=[{"role": "user", "content": "the quick brown fox"}]
    )
    data = raw.parse()
    return {
        "content": data.choices[0].message.content,
        "finish_reason": data.choices[0].finish_reason,
        "usage_adds_up": data.usage.total_tokens == data.usage.prompt_tokens + data.usage.completion_tokens,
        "completion_tokens": data.usage.completion_tokens,
        "provider": raw.headers.get("x-tollgate-provider"),
        "has_request_id": bool(data._request_id),
        "request_id_is_tollgates": data._request_id == raw.headers.get("x-tollgate-request-id"),
    }


def sdk_stream(client: openai.OpenAI, t: dict) -> dict:
    messages = [{"role": "user", "content": "jumps over the lazy dog"}]
    text, chunks, usage_chunks = "", 0, 0
    for chunk in client.chat.completions.create(model=t["chat"], messages=messages, stream=True):
        chunks += 1
        usage_chunks += chunk.usage is not None
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
    last = None
    for chunk in client.chat.completions.create(
        model=t["chat"], messages=messages, stream=True, stream_options={"include_usage": True}
    ):
        last = chunk
    with client.chat.completions.stream(model=t["chat"], messages=messages) as helper:
        final = helper.get_final_completion()
    return {
        "text": text,
        "chunks": chunks,
        "usage_chunks": usage_chunks,
        "last_chunk": {"choices": len(last.choices), "completion_tokens": last.usage and last.usage.completion_tokens},
        "helper_text": final.choices[0].message.content,
    }


def sdk_tools(client: openai.OpenAI, t: dict) -> dict:
    question = {"role": "user", "content": "Paris"}
    first = client.chat.completions.create(model=t["chat"], messages=[question], tools=[LOOKUP], tool_choice="required")
    call = first.choices[0].message.tool_calls[0]
    second = client.chat.completions.create(
        model=t["chat"],
        tools=[LOOKUP],
        messages=[
            question,
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
        ],
    )
    with client.chat.completions.stream(model=t["chat"], messages=[question], tools=[LOOKUP], tool_choice="required") as helper:
        streamed = helper.get_final_completion().choices[0].message.tool_calls[0]
    return {
        "finish_reason": first.choices[0].finish_reason,
        "name": call.function.name,
        "arguments": json.loads(call.function.arguments),
        "streamed_arguments": json.loads(streamed.function.arguments),
        "answer": second.choices[0].message.content,
    }


def sdk_structured(client: openai.OpenAI, t: dict) -> dict:
    try:
        result = client.chat.completions.parse(
            model=t["chat"], messages=[{"role": "user", "content": "Give me JSON"}], response_format=Answer
        )
    except openai.APIStatusError as error:
        return {"refused": api_error(error)}
    return {"parsed": result.choices[0].message.parsed.model_dump()}


def sdk_responses(client: openai.OpenAI, t: dict) -> dict:
    whole = client.responses.create(model=t["chat"], input="the quick brown fox")
    text = ""
    types = []
    for event in client.responses.create(model=t["chat"], input="jumps over", stream=True):
        types.append(event.type)
        if event.type == "response.output_text.delta":
            text += event.delta
    return {"output_text": whole.output_text, "stream_text": text, "last_event": types[-1] if types else None}


def sdk_stream_cut(client: openai.OpenAI, t: dict) -> dict:
    # The fake cuts the connection after two chunks: the client must raise, never see a clean end of stream.
    chunks = 0
    try:
        for _ in client.chat.completions.create(
            model=t["chat"], messages=[{"role": "user", "content": "a b c d e f g h"}], stream=True,
            extra_headers={"x-fake-fault": "cut-stream=2"},
        ):
            chunks += 1
    except Exception as error:  # whichever transport error the client raises
        return {"raised": type(error).__name__, "chunks_before": chunks}
    return {"raised": None, "chunks_before": chunks}


def sdk_embeddings(client: openai.OpenAI, t: dict) -> dict:
    packed = client.embeddings.create(model=t["embeddings"], input=["alpha", "beta"])
    floats = client.embeddings.create(model=t["embeddings"], input=["alpha", "beta"], encoding_format="float")
    return {
        "count": len(packed.data),
        "dimensions": len(packed.data[0].embedding),
        "base64_equals_float": [d.embedding for d in packed.data] == [d.embedding for d in floats.data],
        "distinct": packed.data[0].embedding != packed.data[1].embedding,
    }


def sdk_unknown_model(client: openai.OpenAI, t: dict) -> dict:
    try:
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
    except openai.NotFoundError as error:
        return api_error(error)
    return {"status": 200}


# ---------------------------------------------------------------- LangChain


def chat_model(job: dict, t: dict, **kwargs) -> ChatOpenAI:
    return ChatOpenAI(model=t["chat"], base_url=job["base_url"], api_key=job["api_key"], max_retries=0, **kwargs)


def lc_invoke(job: dict, t: dict) -> dict:
    message = chat_model(job, t).invoke("the quick brown fox")
    return {"content": message.content, "output_tokens": (message.usage_metadata or {}).get("output_tokens")}


def lc_stream(job: dict, t: dict) -> dict:
    pieces, total = [], None
    for chunk in chat_model(job, t, stream_usage=True).stream("jumps over the lazy dog"):
        pieces.append(chunk.content)
        total = chunk if total is None else total + chunk
    return {
        "text": "".join(pieces),
        "pieces": len([p for p in pieces if p]),
        "output_tokens": (total.usage_metadata or {}).get("output_tokens"),
    }


def lc_tools(job: dict, t: dict) -> dict:
    model = chat_model(job, t).bind_tools([lookup], tool_choice="required")
    question = HumanMessage("Paris")
    first = model.invoke([question])
    call = first.tool_calls[0]
    result = lookup.invoke(call)
    second = chat_model(job, t).bind_tools([lookup]).invoke([question, first, result])
    streamed = None
    for chunk in model.stream([HumanMessage("Lyon")]):
        streamed = chunk if streamed is None else streamed + chunk
    return {
        "name": call["name"],
        "args": call["args"],
        "is_tool_message": isinstance(result, ToolMessage),
        "answer": second.content,
        "streamed_calls": [{"name": c["name"], "args": c["args"]} for c in streamed.tool_calls],
    }


def lc_structured(job: dict, t: dict) -> dict:
    try:
        parsed = chat_model(job, t).with_structured_output(Answer).invoke("Give me JSON")
    except openai.APIStatusError as error:
        return {"refused": api_error(error)}
    return {"parsed": parsed.model_dump()}


def lc_responses(job: dict, t: dict) -> dict:
    model = chat_model(job, t, use_responses_api=True)
    whole = model.invoke("the quick brown fox")
    streamed = "".join(chunk.text for chunk in model.stream("jumps over"))
    return {"text": whole.text, "stream_text": streamed}


def lc_embeddings(job: dict, t: dict) -> dict:
    # check_embedding_ctx_length=False: LangChain would otherwise tokenize with tiktoken (which downloads its
    # encodings at first use) and send token ids, which Gemini refuses (it embeds text only).
    embeddings = OpenAIEmbeddings(
        model=t["embeddings"], base_url=job["base_url"], api_key=job["api_key"], check_embedding_ctx_length=False, max_retries=0
    )
    vectors = embeddings.embed_documents(["alpha", "beta"])
    query = embeddings.embed_query("alpha")
    return {"count": len(vectors), "dimensions": len(vectors[0]), "query_equals_document": query == vectors[0]}


SDK_CHECKS = [sdk_chat, sdk_stream, sdk_stream_cut, sdk_tools, sdk_structured, sdk_responses, sdk_unknown_model]
LC_CHECKS = [lc_invoke, lc_stream, lc_tools, lc_structured, lc_responses]


TIMINGS_MS: dict = {}


def run(check, *args) -> dict:
    started = time.monotonic()
    try:
        return check(*args)
    except Exception as error:  # recorded for the test to show, whatever the client raised
        return {"error": f"{type(error).__name__}: {error}", "trace": traceback.format_exc(limit=3)}
    finally:
        name = check.__name__
        TIMINGS_MS[name] = TIMINGS_MS.get(name, 0) + round((time.monotonic() - started) * 1000)


def main() -> None:
    started = time.monotonic()
    job = json.load(sys.stdin)
    client = openai.OpenAI(base_url=job["base_url"], api_key=job["api_key"], max_retries=0)
    results = {}
    for t in job["targets"]:
        checks = {check.__name__: run(check, client, t) for check in SDK_CHECKS}
        checks.update({check.__name__: run(check, job, t) for check in LC_CHECKS})
        if t["embeddings"]:
            checks["sdk_embeddings"] = run(sdk_embeddings, client, t)
            checks["lc_embeddings"] = run(lc_embeddings, job, t)
        results[t["label"]] = checks
    TIMINGS_MS["total"] = round((time.monotonic() - started) * 1000)
    json.dump({"versions": {"openai": openai.__version__}, "results": results, "timings_ms": TIMINGS_MS}, sys.stdout)


if __name__ == "__main__":
    main()
