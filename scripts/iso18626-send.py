#!/usr/bin/env python3
"""POST ISO 18626 messages to rota's ISO 18626 front and print each confirmation.

    python3 scripts/iso18626-send.py FILE... [--url http://127.0.0.1:9466/iso18626]

Exits 1 if any message is not confirmed OK (an ERROR confirmation, or an HTTP error).
Standard library only.
"""
import re
import sys
import urllib.error
import urllib.request


def main(argv):
    url = "http://127.0.0.1:9466/iso18626"
    files = []
    it = iter(argv)
    for a in it:
        if a == "--url":
            url = next(it, None) or sys.exit("--url needs a value")
        elif a.startswith("-"):
            sys.exit(f"unknown option {a}; usage: iso18626-send.py FILE... [--url URL]")
        else:
            files.append(a)
    if not files:
        sys.exit("usage: iso18626-send.py FILE... [--url URL]")
    failed = 0
    for f in files:
        with open(f, "rb") as fh:
            body = fh.read()
        req = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/xml"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                text = r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            print(f"{f}: HTTP {e.code} {e.read().decode('utf-8', 'replace').strip()}")
            failed += 1
            continue
        except urllib.error.URLError as e:
            print(f"{f}: cannot reach {url}: {e.reason}")
            failed += 1
            continue
        status = re.search(r"<messageStatus>(\w+)</messageStatus>", text)
        error = re.search(r"<errorType>(\w+)</errorType>.*?<errorValue>(.*?)</errorValue>", text, re.S)
        said = status.group(1) if status else "no confirmation"
        print(f"{f}: {said}" + (f" {error.group(1)}: {error.group(2)}" if error else ""))
        if said != "OK":
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
