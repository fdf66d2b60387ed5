"""Browser code from npm, vendored into the site at build time (no CDN, no Node).

A package's tarball is fetched once over HTTPS with urllib, checked against a pinned sha512
(the registry's `dist.integrity`) and cached in ~/.cache/kb, so later builds and the tests
need no network. Used for onnxruntime-web (kb.search.browser_model) and mermaid
(kb.emit.diagrams). $KB_NPM_REGISTRY points at another registry (the tests serve one on
127.0.0.1); $KB_CACHE_HOME moves the cache.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import sys
import tarfile
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


class Unavailable(Exception):
    """The package cannot be had (offline, bad hash, missing file): the caller falls back."""


@dataclass(frozen=True)
class NpmPackage:
    name: str
    version: str
    integrity: str  # "sha512-<base64>", as the registry publishes it

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    @property
    def tarball_name(self) -> str:
        return f"{self.name}-{self.version}.tgz"


def user_cache() -> Path:
    """$KB_CACHE_HOME, else $XDG_CACHE_HOME/kb, else ~/.cache/kb."""
    if os.environ.get("KB_CACHE_HOME"):
        return Path(os.environ["KB_CACHE_HOME"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kb"


def tarball_url(pkg: NpmPackage) -> str:
    registry = os.environ.get("KB_NPM_REGISTRY", "https://registry.npmjs.org").rstrip("/")
    return f"{registry}/{pkg.name}/-/{pkg.tarball_name}"


def integrity_ok(pkg: NpmPackage, data: bytes) -> bool:
    algo, _, want = pkg.integrity.partition("-")
    return base64.b64encode(hashlib.new(algo, data).digest()).decode() == want


_FAILED: dict[str, str] = {}  # url -> why its fetch failed in this process


def tarball(pkg: NpmPackage, fetch: bool = True) -> bytes:
    """The verified tarball: from the user cache, else from the npm registry."""
    cached = user_cache() / pkg.tarball_name
    if cached.is_file():
        data = cached.read_bytes()
        if integrity_ok(pkg, data):
            return data
    if not fetch:
        raise Unavailable(f"{pkg.label} is not in {cached.parent}")
    url = tarball_url(pkg)
    if url in _FAILED:  # kb serve rebuilds after every edit: try the network once per process
        raise Unavailable(_FAILED[url])
    try:
        with urllib.request.urlopen(url, timeout=60) as r:  # noqa: S310 - https by default, hash-pinned
            data = r.read()
    except (OSError, ValueError) as exc:
        _FAILED[url] = f"cannot fetch {url}: {exc}"
        raise Unavailable(_FAILED[url]) from exc
    if not integrity_ok(pkg, data):
        _FAILED[url] = f"{url}: sha512 does not match the pinned integrity {pkg.integrity[:24]}…"
        raise Unavailable(_FAILED[url])
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, cached)
    except OSError as exc:  # an unwritable home still builds; the next build fetches again
        print(f"kb: could not cache {cached}: {exc.strerror or exc}", file=sys.stderr)
    return data


def extract(pkg: NpmPackage, select: Callable[[str], str | None], required: Iterable[str] = (),
            fetch: bool = True) -> dict[str, bytes]:
    """{name: bytes} of the tarball's regular files that `select` names (member path -> name, or
    None to leave it out); Unavailable if one of the `required` names is missing."""
    data = tarball(pkg, fetch)
    out: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            name = select(member.name) if member.isfile() else None
            f = tar.extractfile(member) if name else None
            if name and f is not None:
                out[name] = f.read()
    missing = [n for n in required if n not in out]
    if missing:
        raise Unavailable(f"{pkg.label}: {', '.join(missing)} missing from the tarball")
    return out


def extract_cached(pkg: NpmPackage, tag: str, select: Callable[[str], str | None], required: Iterable[str] = (),
                   fetch: bool = True) -> dict[str, bytes]:
    """extract(), kept unpacked in the user cache under `tag` (which names the selection): a build then
    reads the files instead of gunzipping the whole tarball again (mermaid: 0.75 s for 107 of its
    1,405 files, on every build of a vault with a diagram)."""
    folder = user_cache() / f"{pkg.name}-{pkg.version}-{tag}"
    listing = folder / ".files"
    if listing.is_file():
        names = listing.read_text(encoding="utf-8").splitlines()
        if names and all(_inside(n) for n in names):
            try:
                return {n: (folder / n).read_bytes() for n in names}
            except OSError:
                pass  # a file gone: unpack again
    files = extract(pkg, select, required, fetch)
    _unpack(folder, files)
    return files


def _inside(name: str) -> bool:
    """A cached file's name stays below its folder."""
    parts = PurePosixPath(name).parts
    return bool(parts) and not PurePosixPath(name).is_absolute() and ".." not in parts


def _unpack(folder: Path, files: dict[str, bytes]) -> None:
    """Write `files` into `folder` whole or not at all (the listing last, then a rename); an
    unwritable cache only costs the next build the unpacking."""
    tmp = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        for name, data in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_bytes(data)
        (tmp / ".files").write_text("\n".join(sorted(files)) + "\n", encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)


def fetch_command(argv: list[str], module: str, label: str, get: Callable[[], dict[str, bytes]]) -> int:
    """`python -m <module> fetch`: put a package in the user cache (`make setup` does), so builds and
    tests need no network; exit status 1 with the reason when it cannot be had."""
    if argv[:1] != ["fetch"]:
        print(f"usage: python -m {module} fetch", file=sys.stderr)
        return 2
    try:
        files = get()
    except Unavailable as exc:
        print(f"kb: {exc}", file=sys.stderr)
        return 1
    print(f"{label} in {user_cache()} ({len(files)} files, {sum(map(len, files.values())) / 1e6:.1f} MB to vendor)")
    return 0
