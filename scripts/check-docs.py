#!/usr/bin/env python3
"""Checks that the READMEs say what the code does (run by scripts/test-docs).

1. Every environment variable the library and the command read (a string literal
   "OTEL_..." or "ORDERTRACE_..." in the sources of LIBRARY_SOURCES) is a row of the configuration table
   in README.md (a table line starting with `| \\`NAME\\``).
2. Every fenced ```sh block of a README whose first line is `# runnable` runs, from the
   repository root, with bash -euo pipefail. The environment keeps installs away from the
   user's own: CARGO_INSTALL_ROOT is a fresh folder whose bin/ leads PATH.
3. A ```text block right after the line `<!-- output of: ordertrace demo -->` is what
   `ordertrace demo` prints for the default seed, up to the times (timestamps, durations, ages).

Usage: check-docs.py <work dir> [README ...]; exits non-zero naming each mismatch.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The sources of what users run: the core, the command, the bridges and the watcher.
LIBRARY_SOURCES = ("core/src", "cli/src", "ffi/src", "bridge-common/src", "bindings-java/src", "watch/src")
ENV_LITERAL = re.compile(r'"((?:OTEL|ORDERTRACE)_[A-Z0-9_]+)"')
FENCE = re.compile(r"^```(\w*)\s*$")


def env_vars_read_by_code():
    found = {}
    for folder in LIBRARY_SOURCES:
        if not (ROOT / folder).is_dir():
            continue
        for path in sorted((ROOT / folder).rglob("*.rs")):
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if line.lstrip().startswith("//"):
                    continue
                for name in ENV_LITERAL.findall(line):
                    found.setdefault(name, f"{path.relative_to(ROOT)}:{n}")
    return found


def documented_env_vars(readme):
    rows = [l for l in readme.read_text().splitlines() if l.startswith("| `")]
    return {m for l in rows for m in re.findall(r"`((?:OTEL|ORDERTRACE)_[A-Z0-9_]+)`", l.split("|")[1])}


def blocks(readme):
    """(kind, first line number, lines, the line before the fence) of each fenced block."""
    lines = readme.read_text().splitlines()
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i].strip())
        if m and m.group(1):
            start, body = i, []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            prev = next((lines[j].strip() for j in range(start - 1, -1, -1) if lines[j].strip()), "")
            out.append((m.group(1), start + 1, body, prev))
        i += 1
    return out


TIME = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+Z")
DURATION = re.compile(r"\b\d+(\.\d+)?(ns|µs|ms|s|m|h)\b")
HEARTBEATS = re.compile(r"\(\d+ heartbeats\)|\d+ heartbeats")


def normalise(text):
    out = []
    for line in text.strip().splitlines():
        line = TIME.sub("<time>", line)
        line = HEARTBEATS.sub("<n> heartbeats", line)
        line = DURATION.sub("<dur>", line)
        out.append(re.sub(r"\s+", " ", line.rstrip()))
    return out


def main():
    work = Path(sys.argv[1])
    readmes = [Path(p) for p in sys.argv[2:]] or sorted(ROOT.glob("**/README.md"))
    readmes = [r for r in readmes if "target" not in r.parts and "node_modules" not in r.parts]
    failures = []

    code_vars = env_vars_read_by_code()
    documented = documented_env_vars(ROOT / "README.md")
    for name, where in sorted(code_vars.items()):
        if name not in documented:
            failures.append(f"README.md: the configuration table lacks {name} (read at {where})")
    print(f"[check-docs] {len(code_vars)} variables read by the code, {len(documented)} in README.md's table")

    env = dict(os.environ)
    install_root = work / "cargo-root"
    env["CARGO_INSTALL_ROOT"] = str(install_root)
    env["PATH"] = f"{install_root / 'bin'}:{env['PATH']}"
    run = 0
    samples = []
    for readme in readmes:
        rel = readme.resolve().relative_to(ROOT)
        for kind, line, body, prev in blocks(readme):
            if kind == "text" and prev == "<!-- output of: ordertrace demo -->":
                samples.append((rel, line, body))
            if not (kind == "sh" and body and body[0].strip().startswith("# runnable")):
                continue
            run += 1
            print(f"[check-docs] running {rel}:{line}", flush=True)
            r = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(body)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            (work / f"block-{str(rel).replace('/', '_')}-{line}.log").write_text(r.stdout)
            if r.returncode != 0:
                tail = "\n    ".join(r.stdout.strip().splitlines()[-15:])
                failures.append(f"{rel}:{line}: runnable block exited {r.returncode}:\n    {tail}")

    # The samples are checked with the command the runnable blocks installed.
    ordertrace = install_root / "bin" / "ordertrace"
    for rel, line, body in samples:
        if not ordertrace.exists():
            failures.append(f"{rel}:{line}: no runnable block installed {ordertrace} to check the demo sample with")
            continue
        demo = subprocess.run([str(ordertrace), "demo", "--file", str(work / "demo-sample.jsonl")],
                              cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if demo.returncode != 0:
            failures.append(f"{rel}:{line}: ordertrace demo exited {demo.returncode}: {demo.stderr[-500:]}")
            continue
        actual = normalise(demo.stdout)
        for sample_line in normalise("\n".join(body)):
            if sample_line not in actual:
                failures.append(f"{rel}:{line}: the demo (default seed) prints no line like: {sample_line}")
        print(f"[check-docs] {rel}:{line}: demo sample checked against the default seed's output")
    print(f"[check-docs] ran {run} runnable blocks")
    for f in failures:
        print(f"[check-docs] FAILED: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
