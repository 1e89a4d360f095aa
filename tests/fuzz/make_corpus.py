#!/usr/bin/env python3
"""Seeds the corpus of each fuzz target (scripts/fuzz.sh runs this before fuzzing).

    make_corpus.py SOURCE_DIR OUT_DIR

OUT_DIR/<target>/ receives the target's committed seeds (tests/fuzz/seeds/<target>/) and inputs
made from the fixtures: for the parse targets every fixture body once per parser, behind the
selector byte of that parser (parse_differential.hpp's run_selected), with Azure spec examples
unwrapped to the bodies their parsers see and recorded *.http responses cut to their bodies;
every webhook payload as a signed delivery (fuzz_webhook.cpp's format) and, a few, as an HTTP
request to POST /webhooks/github. Files are
named by the SHA-1 of their content, as libFuzzer names what it adds, so a re-run adds nothing
twice and the corpus the fuzzer grew in OUT_DIR is kept.
"""
import hashlib
import json
import pathlib
import sys


def add(out: pathlib.Path, data: bytes) -> None:
    out.mkdir(parents=True, exist_ok=True)
    path = out / hashlib.sha1(data).hexdigest()
    if not path.exists():
        path.write_bytes(data)


def files(root: pathlib.Path):
    return sorted(p for p in root.rglob("*") if p.is_file())


def http_body(data: bytes) -> bytes:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    return body


def spec_example_bodies(data: bytes):
    try:
        doc = json.loads(data)
    except ValueError:
        return
    if not isinstance(doc, dict) or not isinstance(doc.get("responses"), dict):
        return
    for response in doc["responses"].values():
        if isinstance(response, dict) and "body" in response:
            yield json.dumps(response["body"], indent=2).encode()


# How many parsers each parse target selects from (kParsers in fuzz_<target>.cpp).
PARSERS = {"github_parse": 14, "arm_parse": 11}


def add_for_every_parser(out: pathlib.Path, target: str, body: bytes) -> None:
    n = PARSERS[target]
    for k in range(n):
        selector = next(b for b in range(0x30, 0x100) if b % n == k)  # '0'.. : never JSON's start
        add(out / target, bytes([selector]) + body)


def main() -> int:
    source, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    fixtures, seeds = source / "tests/fixtures", source / "tests/fuzz/seeds"
    targets = ["http_request", "webhook", "github_parse", "arm_parse", "config", "state"]
    for target in targets:
        if (seeds / target).is_dir():
            for p in files(seeds / target):
                add(out / target, p.read_bytes())

    for sub in ("github", "recorded/github"):
        for p in files(fixtures / sub):
            if p.suffix == ".json" and "_schemas" not in p.parts:
                add_for_every_parser(out, "github_parse", p.read_bytes())
    for sub in ("azure", "recorded/azure"):
        for p in files(fixtures / sub):
            data = p.read_bytes()
            if p.suffix == ".http":
                add_for_every_parser(out, "arm_parse", http_body(data))
            elif p.suffix == ".json":
                bodies = list(spec_example_bodies(data))
                for body in bodies or [data]:
                    add_for_every_parser(out, "arm_parse", body)

    for n, p in enumerate(sorted((fixtures / "github").glob("*/*.payload.json"))):
        event, body = p.parent.name, p.read_bytes()
        add(out / "webhook", f"{event}\ndelivery-{n}\nsign\n".encode() + body)
        if n % 4 == 0:  # a few: the request target fuzzes the HTTP layer, not the payloads
            head = (f"POST /webhooks/github HTTP/1.1\r\nHost: deployguard\r\n"
                    f"X-GitHub-Event: {event}\r\nX-GitHub-Delivery: delivery-{n}\r\n"
                    f"X-Hub-Signature-256: sha256={'0' * 64}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
            add(out / "http_request", head.encode() + body)

    for p in sorted((source / "config").glob("*.yaml")):
        add(out / "config", p.read_bytes())
    for target in targets:
        count = len(list((out / target).iterdir())) if (out / target).is_dir() else 0
        print(f"corpus {target}: {count} inputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
