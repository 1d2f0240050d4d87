"""The yardstick SPEC §9 names: the FastAPI tutorial app.

Each endpoint is built the way FastAPI's own tutorial builds it
(fastapi.tiangolo.com/tutorial/), doing the same work as the Pan endpoint
the bench compares it with:

- login (`POST /token`): "OAuth2 with Password (and hashing), Bearer with
  JWT tokens": `OAuth2PasswordRequestForm`, pwdlib's recommended hasher
  (Argon2id with argon2-cffi's defaults), a PyJWT access token;
- short-link redirect (`GET /s/{key}`) and share page (`GET /f/{unique}/`):
  "SQL (Relational) Databases": SQLModel on SQLite, one `Session` per
  request from a dependency; the redirect counts the visit and commits, the
  page renders with `Jinja2Templates` ("Templates");
- short-link creation (`POST /links/`): "Request Body" and "SQL (Relational)
  Databases": a pydantic model with an `HttpUrl`, a random key, one row
  added and committed, the row returned as JSON;
- upload (`POST /files/`): "Request Files", an `UploadFile` copied to disk;
- download (`GET /files/{name}`): "Custom Response", `FileResponse`;
- WebSocket echo (`/ws/echo/`): "WebSockets", accept then receive/send.

Endpoints doing I/O are plain `def` as the tutorial writes them (FastAPI
runs them in its thread pool). The bench serves it with uvicorn (uvloop,
httptools), one process pinned like Pan's server, and loads it with the
same client. Run alone: `BENCH_FASTAPI_DIR=/tmp/t uvicorn bench.fastapi_app:app`.
"""

import os
import secrets
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import jwt
from fastapi import Depends, FastAPI, HTTPException, Request, UploadFile, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.security import OAuth2PasswordRequestForm
from fastapi.templating import Jinja2Templates
from pwdlib import PasswordHash
from pydantic import BaseModel, HttpUrl
from sqlmodel import Field, Session, SQLModel, create_engine, select

DIRECTORY = Path(os.environ.get("BENCH_FASTAPI_DIR", "fastapi-bench"))
SECRET_KEY = os.environ.get("BENCH_FASTAPI_SECRET", "tutorial-secret")
password_hash = PasswordHash.recommended()
engine = create_engine(f"sqlite:///{DIRECTORY / 'database.db'}", connect_args={"check_same_thread": False})
templates = Jinja2Templates(directory=Path(__file__).parent / "tutorial_templates")


class Link(SQLModel, table=True):
    key: str = Field(primary_key=True)
    target: str
    visits: int = 0


class SharedFile(SQLModel, table=True):
    unique_name: str = Field(primary_key=True)
    name: str
    size: int
    expires: datetime


class User(SQLModel, table=True):
    username: str = Field(primary_key=True)
    hashed_password: str


def get_session():
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
app = FastAPI()


def create(*, short_key: str, file_unique: str, username: str, password: str) -> None:
    """The bench's data: one link (among a thousand), one file row, one user."""
    (DIRECTORY / "uploads").mkdir(parents=True, exist_ok=True)
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(Link(key=f"k{n:07d}", target=f"https://example.com/{n}") for n in range(1000))
        session.add(Link(key=short_key, target="https://example.com/bench"))
        expires = datetime.now(UTC) + timedelta(days=7)
        session.add(SharedFile(unique_name=file_unique, name="hello.txt", size=12, expires=expires))
        session.add(User(username=username, hashed_password=password_hash.hash(password)))
        session.commit()


@app.post("/token")
def login(form_data: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep):
    user = session.get(User, form_data.username)
    if user is None or not password_hash.verify(form_data.password, user.hashed_password):
        raise HTTPException(status_code=401, detail="Incorrect username or password")
    claims = {"sub": user.username, "exp": datetime.now(UTC) + timedelta(minutes=30)}
    return {"access_token": jwt.encode(claims, SECRET_KEY, algorithm="HS256"), "token_type": "bearer"}


@app.get("/s/{key}")
def redirect(key: str, session: SessionDep):
    link = session.exec(select(Link).where(Link.key == key)).first()
    if link is None:
        raise HTTPException(status_code=404, detail="Link not found")
    link.visits += 1
    session.add(link)
    session.commit()
    return RedirectResponse(link.target, status_code=302)


class LinkCreate(BaseModel):
    url: HttpUrl


@app.post("/links/", status_code=201)
def create_link(body: LinkCreate, session: SessionDep) -> Link:
    link = Link(key=secrets.token_urlsafe(6), target=str(body.url))
    session.add(link)
    session.commit()
    session.refresh(link)
    return link


@app.get("/f/{unique}/", response_class=HTMLResponse)
def file_page(request: Request, unique: str, session: SessionDep, code: str = ""):
    shared = session.get(SharedFile, unique)
    if shared is None:
        raise HTTPException(status_code=404, detail="File not found")
    return templates.TemplateResponse(request=request, name="file.html", context={"file": shared, "code": code})


@app.post("/files/")
def upload(file: UploadFile):
    name = Path(file.filename or "upload.bin").name
    with open(DIRECTORY / "uploads" / name, "wb") as out:
        shutil.copyfileobj(file.file, out)
    return {"filename": name}


@app.get("/files/{name}")
def download(name: str):
    path = DIRECTORY / "uploads" / Path(name).name
    if not path.is_file():
        raise HTTPException(status_code=404, detail="File not found")
    return FileResponse(path, filename=path.name)


@app.websocket("/ws/echo/")
async def echo(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass
