#!/usr/bin/env python3
"""Runs every command in README.md, as written, so the docs cannot rot.

Each indented code block line (with its `\\` continuations) is one command. They run in
README order from the repository root, in a fresh HOME (so `~/.local/share/rota`, the
server's default data directory, starts empty) with cargo's own homes kept, and `rota`
resolving to what the README's own `cargo install` line installed (into a scratch
install root, reusing this checkout's build; before that line, to the binary `cargo run
--release` built). A command that starts a server (`serve`)
runs in the background until it is SERVING; the example calls it prints are then run
too, and it is stopped (SIGTERM, which must exit 0) before the next server starts or at
the end. `rota peer serve` (scripted ISO 18626 libraries) runs in the background from
when it says where it listens until the end. Every other command must exit 0 within its
time limit.

One command is not run, said in the output: `cargo test --workspace`, which CI runs as
its own step. Files the commands write into the checkout are removed at the end.

    scripts/readme-check.py            # needs ../shared/data beside the checkout
"""

import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOT_RUN = {"cargo test --workspace": "CI runs it as its own step"}
LIMIT_S = 900


def commands(readme):
    """Indented code blocks, one command per line with continuations joined."""
    out, prev_blank, in_block, cur = [], True, False, ""
    for line in open(readme, encoding="utf-8").read().split("\n"):
        if line.startswith("    ") and (prev_blank or in_block) and line.strip():
            in_block = True
            text = line.strip()
            if cur:
                cur += " " + text
            else:
                cur = text
            if cur.endswith("\\"):
                cur = cur[:-1].rstrip()
            else:
                out.append(cur)
                cur = ""
        else:
            in_block = False
        prev_blank = not line.strip()
    return out


def untracked():
    # -z: paths as they are (without it git quotes those with spaces or quotes)
    r = subprocess.run(
        ["git", "status", "--porcelain", "-z", "--ignored", "--untracked-files=all"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    return {e[3:] for e in r.stdout.split("\0") if e[:2] in ("??", "!!")}


class Server:
    def __init__(self, cmd, env, scratch):
        self.cmd = cmd
        self.out = open(os.path.join(scratch, "serve.out"), "w+")
        self.err = open(os.path.join(scratch, "serve.err"), "w+")
        # exec: the server (or `cargo run`) is the process we signal, not a shell
        self.proc = subprocess.Popen(
            ["/bin/bash", "-c", "exec " + cmd], cwd=ROOT, env=env, stdout=self.out,
            stderr=self.err, start_new_session=True,
        )

    def wait_serving(self, limit):
        t = time.time()
        while time.time() - t < limit:
            if self.proc.poll() is not None:
                return f"exited {self.proc.returncode} before serving"
            self.err.seek(0)
            if "catalogue loaded; serving" in self.err.read():
                return None
            time.sleep(0.5)
        return "not SERVING within the limit"

    def examples(self):
        self.out.seek(0)
        return [l.strip() for l in self.out.read().splitlines() if l.startswith("  rota ")]

    def stop(self):
        """SIGTERM to the server: a graceful stop must drain, checkpoint and exit 0.

        Under `cargo run` the server is cargo's child: it gets the signal, and cargo
        exits with its status."""
        if self.proc.poll() is None:
            kids = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                                  text=True).stdout.split()
            for pid in kids or [str(self.proc.pid)]:
                os.kill(int(pid), signal.SIGTERM)
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                return "did not stop within 120 s of SIGTERM"
        return None if self.proc.returncode == 0 else f"exited {self.proc.returncode}"

    def tail(self):
        self.err.seek(0)
        return "\n".join(self.err.read().splitlines()[-15:])


class Peer:
    """`rota peer serve`: in the background until the end."""

    def __init__(self, cmd, env, scratch):
        self.cmd = cmd
        self.err = open(os.path.join(scratch, "peer.err"), "w+")
        self.proc = subprocess.Popen(
            ["/bin/bash", "-c", "exec " + cmd], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
            stderr=self.err, start_new_session=True,
        )

    def wait_listening(self, limit):
        t = time.time()
        while time.time() - t < limit:
            if self.proc.poll() is not None:
                self.err.seek(0)
                return f"exited {self.proc.returncode}: {self.err.read()[-500:]}"
            self.err.seek(0)
            if "rota peer: libraries at" in self.err.read():
                return None
            time.sleep(0.2)
        return "not listening within the limit"

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)


def main():
    if not os.path.isfile(os.path.join(ROOT, "..", "shared", "data", "README.md")):
        print("readme-check: ../shared/data is not beside the checkout; the README's examples read it",
              file=sys.stderr)
        return 2
    before = untracked()
    scratch = tempfile.mkdtemp(prefix="rota-readme-")
    home = os.path.join(scratch, "home")
    os.makedirs(home)
    env = dict(os.environ)
    real_home = os.path.expanduser("~")
    env.setdefault("CARGO_HOME", os.path.join(real_home, ".cargo"))
    env.setdefault("RUSTUP_HOME", os.path.join(real_home, ".rustup"))
    env["HOME"] = home
    env["CARGO_TARGET_DIR"] = os.path.join(ROOT, "target")
    env["CARGO_INSTALL_ROOT"] = os.path.join(scratch, "install")
    # the installed `rota` first; the one `cargo run --release` built last, for the calls
    # the demo server prints before the README has said how to install
    env["PATH"] = os.pathsep.join(
        [os.path.join(scratch, "install", "bin"), env["PATH"], os.path.join(ROOT, "target", "release")]
    )
    env.setdefault("ROTA_LOG", "info")
    failures, rows, server, peers = [], [], None, []

    def run(cmd, what=""):
        t = time.time()
        try:
            r = subprocess.run(cmd, shell=True, cwd=ROOT, env=env, capture_output=True,
                               text=True, timeout=LIMIT_S, executable="/bin/bash")
            ok, why = r.returncode == 0, f"exit {r.returncode}"
            detail = (r.stdout[-1500:] + r.stderr[-1500:]) if not ok else ""
        except subprocess.TimeoutExpired:
            ok, why, detail = False, f"over {LIMIT_S} s", ""
        rows.append((cmd + what, "ok" if ok else f"FAILED ({why})", time.time() - t))
        if not ok:
            failures.append((cmd, detail))

    try:
        for cmd in commands(os.path.join(ROOT, "README.md")):
            if cmd in NOT_RUN:
                rows.append((cmd, f"not run: {NOT_RUN[cmd]}", 0.0))
                continue
            words = shlex.split(cmd)
            if words[:3] == ["rota", "peer", "serve"]:
                t = time.time()
                peer = Peer(cmd, env, scratch)
                peers.append(peer)
                why = peer.wait_listening(60)
                rows.append((cmd, "listening" if why is None else f"FAILED ({why})", time.time() - t))
                if why:
                    failures.append((cmd, why))
                continue
            if "serve" in words:
                if server:
                    why = server.stop()
                    if why:
                        failures.append((server.cmd + " (stop)", why + "\n" + server.tail()))
                t = time.time()
                server = Server(cmd, env, scratch)
                why = server.wait_serving(LIMIT_S)
                rows.append((cmd, "serving" if why is None else f"FAILED ({why})", time.time() - t))
                if why:
                    failures.append((cmd, server.tail()))
                    server.stop()
                    server = None
                    continue
                for ex in server.examples():
                    run(ex, "   (printed by serve)")
                continue
            run(cmd)
        if server:
            why = server.stop()
            rows.append((server.cmd + " (SIGTERM)", "ok" if why is None else f"FAILED ({why})", 0.0))
            if why:
                failures.append((server.cmd + " (stop)", why + "\n" + server.tail()))
            server = None
    finally:
        if server:
            server.stop()
        for p in peers:
            p.stop()
        for f in sorted(untracked() - before):
            p = os.path.join(ROOT, f)
            if os.path.isfile(p) or os.path.islink(p):
                os.remove(p)
            # and the directories the commands made, once empty
            d = os.path.dirname(f)
            while d and os.path.isdir(os.path.join(ROOT, d)) and not os.listdir(os.path.join(ROOT, d)):
                os.rmdir(os.path.join(ROOT, d))
                d = os.path.dirname(d)
        subprocess.run(["rm", "-rf", scratch])
    for cmd, status, secs in rows:
        print(f"{secs:7.1f} s  {status:<34} {cmd}")
    for cmd, detail in failures:
        print(f"\n--- failed: {cmd}\n{detail}", file=sys.stderr)
    print(f"\nreadme-check: {len(rows)} commands, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
