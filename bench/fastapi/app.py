"""The FastAPI peer of hello_server for the http suite (bench/run http).

`GET /plaintext`, `GET /json` and `GET /items/{item_id}?q=...` with the same bodies and
content types as the Rust servers, written as a FastAPI user would: a typed path parameter,
an optional query parameter, pydantic response models. The harness runs it with

    uvicorn app:app --host 127.0.0.1 --port P --workers 1 --loop uvloop --http httptools \
        --no-access-log --log-level warning

pinned to one core.
"""

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel


class Message(BaseModel):
    message: str


class Item(BaseModel):
    item_id: int
    q: str | None = None


app = FastAPI()


@app.get("/plaintext", response_class=PlainTextResponse)
async def plaintext() -> str:
    return "Hello, World!"


@app.get("/json")
async def json() -> Message:
    return Message(message="Hello, World!")


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None) -> Item:
    return Item(item_id=item_id, q=q)
