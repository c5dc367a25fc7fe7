"""URLs against WebFetch patterns (``domain:example.com`` or a glob of the URL).

A URL has two readings that matter: Python's (``urllib.parse``) and the WHATWG
URL standard's, which the child's Node follows (a backslash is a slash in an
http URL, tabs and newlines vanish, the host is percent-decoded and mapped to
lower case, ideographic full stops are dots). ``https://evil.net\\@example.com/``
is example.com to one and evil.net to the other. An allow covers only a plain
URL on which both agree by construction: http or https, a host of letters,
digits, dots and hyphens, an optional port, and no backslash, space, control
character or user part. A deny covers a URL if either reading's host matches.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote, urlsplit

_PLAIN = re.compile(
    r"https?://(?P<host>[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?\.?)(?::[0-9]{1,5})?(?:[/?#][!-~]*)?",
    re.IGNORECASE,
)
_SPECIAL = frozenset({"http", "https", "ws", "wss", "ftp", "file"})


def _normal_host(host: str) -> str:
    host = unicodedata.normalize("NFKC", unquote(host))
    host = re.sub("[\u3002\uff0e\uff61]", ".", host)
    return host.casefold().rstrip(".")


def _whatwg_host(url: str) -> str | None:
    text = re.sub(r"[\t\n\r]", "", url.strip("".join(chr(c) for c in range(33))))
    scheme = re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", text)
    if scheme is None:
        return None
    rest = text[scheme.end() :]
    if scheme[0][:-1].lower() in _SPECIAL:
        rest = rest.replace("\\", "/").lstrip("/")
    elif rest.startswith("//"):
        rest = rest[2:]
    else:
        return None
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")[2]
    if authority.startswith("["):
        return authority.split("]", 1)[0] + "]"
    return authority.split(":", 1)[0]


def _python_host(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def hosts(url: str) -> set[str]:
    """Every host the URL may reach, by each reading, normalised."""
    found = {host for host in (_python_host(url), _whatwg_host(url)) if host}
    return {_normal_host(host) for host in found} | {host.casefold() for host in found}


def _domain_matches(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def url_matches(pattern: str, url: str, *, deny: bool) -> bool:
    if pattern.startswith("domain:"):
        domain = _normal_host(pattern.removeprefix("domain:"))
        if deny:
            found = hosts(url)
            return not found or any(_domain_matches(host, domain) for host in found)
        plain = _PLAIN.fullmatch(url)
        return plain is not None and _domain_matches(_normal_host(plain["host"]), domain)
    if deny:
        readings = {url, url.replace("\\", "/"), url.casefold(), re.sub(r"[\t\n\r]", "", url)}
        return any(_glob(pattern).fullmatch(reading) for reading in readings)
    return _PLAIN.fullmatch(url) is not None and bool(_glob(pattern).fullmatch(url))
