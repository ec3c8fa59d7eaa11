"""``data_paths``: a data directory as the application gives it, as the text the data path claim hashes.

The claim is ``data_path_hash(product, text)``, so every SDK must make the same text of the
same directory: ``pathlib``'s ``str(Path(data_dir).absolute())`` on that OS, in the working
directory ``cwd`` (``client.fingerprint.absolute_text``). Nothing resolves links or ``..``
and case is kept: ``/a/../b`` and ``/b`` are two installations, as they always were.
"""

from __future__ import annotations

from typing import Any

from licentia.client.fingerprint import absolute_text
from licentia.core.fingerprint import data_path_hash
from sections.common import PRODUCT

POSIX_CWD = "/home/ada/work"
WINDOWS_CWD = "C:\\Users\\Ada\\work"


def _inputs() -> list[tuple[str, str, str, str]]:
    """(name, os, cwd, the data directory as given)."""
    posix = [
        ("clean absolute", "/home/ada/.local/share/my-app"),
        ("a trailing slash is dropped", "/home/ada/.local/share/my-app/"),
        ("repeated slashes are one", "/home//ada///.local/share/my-app"),
        ("dot parts are dropped", "/home/./ada/.local/./share/my-app/."),
        ("dot-dot is kept", "/home/ada/../ada/.local/share/my-app"),
        ("case is kept", "/Home/Ada/My-App"),
        ("relative, joined to the working directory", "data/my-app"),
        ("relative with dot and dot-dot", "./data/../my-app/"),
        ("the working directory itself", "."),
        ("empty is the working directory", ""),
        ("a leading double slash is kept", "//server/share/my-app"),
        ("three leading slashes are one", "///srv/my-app"),
        ("a tilde is not the home directory", "~/my-app"),
        ("a backslash is a character on POSIX", "C:\\Users\\Ada\\my-app"),
        ("spaces and non-ASCII are kept", "/home/\u00e5sa/My App \u4e2d\u6587/ "),
    ]
    windows = [
        ("drive and backslashes", "C:\\Users\\Ada\\AppData\\Roaming\\my-app"),
        ("forward slashes are backslashes", "C:/Users/Ada/AppData/Roaming/my-app"),
        ("a trailing backslash is dropped", "C:\\Users\\Ada\\AppData\\Roaming\\my-app\\"),
        ("repeated and mixed separators are one", "C:\\Users//Ada\\\\AppData/Roaming\\my-app"),
        ("dot parts are dropped", "C:\\Users\\.\\Ada\\my-app\\."),
        ("dot-dot is kept", "C:\\Users\\Ada\\..\\Ada\\my-app"),
        ("case is kept, the drive letter's too", "c:\\users\\ada\\My-App"),
        ("relative, joined to the working directory", "data\\my-app"),
        ("relative with forward slashes", "./data/../my-app/"),
        ("rooted without a drive takes the working directory's drive", "\\ProgramData\\my-app"),
        ("another drive", "D:\\Apps\\my-app"),
        ("a drive root", "D:\\"),
        ("a UNC share", "\\\\server\\share\\my-app"),
        ("a UNC share with forward slashes", "//server/share/my-app/"),
        ("non-ASCII is kept", "C:\\Users\\\u00c5sa\\AppData\\Roaming\\my-app"),
    ]
    return [(name, "posix", POSIX_CWD, text) for name, text in posix] + [
        (name, "windows", WINDOWS_CWD, text) for name, text in windows
    ]


def expected(case: dict[str, Any]) -> dict[str, Any]:
    text = absolute_text(case["data_dir"], case["cwd"], windows=case["os"] == "windows")
    return {"absolute": text, "data_path": data_path_hash(case["product"], text)}


def cases() -> list[dict[str, Any]]:
    out = []
    for name, system, cwd, data_dir in _inputs():
        case: dict[str, Any] = {"name": name, "os": system, "cwd": cwd, "data_dir": data_dir, "product": PRODUCT}
        case["expected"] = expected(case)
        out.append(case)
    return out
