"""Where an uploaded import file waits for its job: a private folder of this process
(``tempfile.mkdtemp``: mode 0700, a name no one can guess) under ``CATALOGUE_IMPORT_DIR``
(the system's temporary directory by default), each file created new under a random name
(``O_CREAT | O_EXCL | O_NOFOLLOW``, mode 0600), so that nothing planted in advance, a
symlink included, is followed or overwritten. A job removes its file however it ends; at
start-up the folders that stopped processes of this instance left are removed.

A folder's name says whose it is: ``catalogue-imports-<instance>-<pid>-<random>``, the
instance a digest of the database URL (other instances on the machine keep theirs)."""

from __future__ import annotations

import atexit
import hashlib
import os
import secrets
import shutil
import stat
import tempfile
import threading
from pathlib import Path

from app.config import get_settings

PREFIX = "catalogue-imports-"

_lock = threading.Lock()
#: process id → its folder (a forked process makes its own)
_folders: dict[int, Path] = {}


def _parent() -> Path:
    return Path(get_settings().import_dir or tempfile.gettempdir())


def _mine() -> str:
    """The start of this instance's folder names."""
    digest = hashlib.sha256(get_settings().database_url.encode()).hexdigest()[:12]
    return f"{PREFIX}{digest}-"


def upload_folder() -> Path:
    """This process's private folder, made at its first upload."""
    with _lock:
        folder = _folders.get(os.getpid())
        if folder is None or not folder.is_dir():
            parent = _parent()
            parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            folder = Path(tempfile.mkdtemp(prefix=f"{_mine()}{os.getpid()}-", dir=parent))
            _folders[os.getpid()] = folder
            atexit.register(_remove_on_exit, os.getpid(), folder)
        return folder


def _remove_on_exit(pid: int, folder: Path) -> None:
    """A process that ends leaves no folder (a killed one's is removed at the next start);
    a forked child inherits the handler, not the folder."""
    if os.getpid() == pid:
        shutil.rmtree(folder, ignore_errors=True)


def save_upload(content: bytes, suffix: str) -> Path:
    """Write an upload to a new file of the private folder; its path."""
    folder = upload_folder()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    while True:
        path = folder / f"upload-{secrets.token_hex(8)}.{suffix}"
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            continue
        break
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def remove_leftovers() -> int:
    """Remove the folders this instance's stopped processes left (a process's own, when it
    has none yet: a restart may reuse the process id); how many were removed. Only real
    directories of this user are removed, a symlink of the same name never followed."""
    mine, me = _mine(), os.getpid()
    current = _folders.get(me)
    try:
        entries = list(os.scandir(_parent()))
    except FileNotFoundError:
        return 0
    removed = 0
    for entry in entries:
        pid = entry.name[len(mine) :].split("-", 1)[0]
        if not entry.name.startswith(mine) or not pid.isdigit():
            continue
        if (int(pid) != me and _alive(int(pid))) or Path(entry.path) == current:
            continue
        info = entry.stat(follow_symlinks=False)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue
        shutil.rmtree(entry.path, ignore_errors=True)  # never follows a link inside
        removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
