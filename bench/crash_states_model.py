"""The model behind bench/crash_states.py: strace's output parsed into the
calls that change or sync the files of kv's data folder, and each file's bytes
and the folder's entries, durable and not, replayed from them into the states
a power cut may leave (see crash_states.py's usage for what those are)."""
import os
import re

PAGE = 4096


# --- Parsing the trace into file-system events. ---

HEX = re.compile(r'"((?:\\x[0-9a-f]{2})*)"')
LINE = re.compile(r"^(\d+)\s+(\d+\.\d+) (.*)$")


def unhex(s):
    return bytes.fromhex(s.replace("\\x", ""))


def fd_path(s):
    """`12</path>` -> (12, '/path') with the path decoded."""
    m = re.match(r"(-?\d+)<((?:\\x[0-9a-f]{2})*)>", s)
    return (int(m.group(1)), unhex(m.group(2)).decode(errors="replace")) if m else (None, None)


def calls(trace):
    """Yields (time, name, args text, result text) per finished call, in the order strace saw them finish."""
    unfinished = {}
    for raw in open(trace, encoding="latin-1"):
        m = LINE.match(raw.rstrip("\n"))
        if not m:
            continue
        pid, ts, rest = m.group(1), float(m.group(2)), m.group(3)
        if rest.endswith("<unfinished ...>"):
            unfinished[pid] = rest[: -len("<unfinished ...>")].rstrip()
            continue
        r = re.match(r"<\.\.\. (\w+) resumed>(.*)$", rest)
        if r:
            rest = unfinished.pop(pid, r.group(1) + "(") + r.group(2)
        c = re.match(r"(\w+)\((.*)\) += (.*)$", rest)
        if c:
            yield ts, c.group(1), c.group(2), c.group(3)


def events(trace, folder):
    """The calls that change files in `folder` or sync them, as (time, kind, ...) tuples; fds resolved to paths at open."""
    out = []
    fds = {}  # fd -> ('file', path at open) | ('dir',)
    prefix = folder + "/"
    for ts, name, argtext, result in calls(trace):
        if result.startswith("-1") or result.startswith("?"):
            continue
        first_fd, _ = fd_path(argtext)
        if name in ("openat", "creat"):
            fd, path = fd_path(result)
            if fd is None:
                continue
            if path == folder:
                fds[fd] = ("dir",)
                out.append((ts, "opendir", fd))
            elif path.startswith(prefix):
                flags = argtext.split(", ")[2] if name == "openat" else "O_CREAT|O_TRUNC"
                fds[fd] = ("file", os.path.basename(path))
                out.append((ts, "open", fd, os.path.basename(path), "O_CREAT" in flags, "O_TRUNC" in flags))
            else:
                fds.pop(fd, None)
        elif name in ("fcntl", "dup", "dup2", "dup3"):
            if name == "fcntl" and "F_DUPFD" not in argtext:
                continue
            fd, _ = fd_path(result)
            if fd is None:
                continue
            if first_fd in fds:
                fds[fd] = fds[first_fd]
                out.append((ts, "dup", first_fd, fd))
            else:
                fds.pop(fd, None)
        elif name == "close":
            if first_fd in fds:
                del fds[first_fd]
                out.append((ts, "close", first_fd))
        elif first_fd is not None and first_fd in fds and name in ("write", "pwrite64", "writev", "pwritev", "pwritev2"):
            n = int(result.split()[0])
            data = b"".join(unhex(s) for s in HEX.findall(argtext))[:n]
            offset = None
            if name in ("pwrite64", "pwritev", "pwritev2"):
                offset = int(argtext.rsplit(", ", 1 if name == "pwrite64" else 2)[1].split(",")[0])
            out.append((ts, "write", first_fd, data, offset))
        elif first_fd is not None and first_fd in fds and name in ("fsync", "fdatasync"):
            out.append((ts, "sync", first_fd))
        elif first_fd is not None and first_fd in fds and name == "ftruncate":
            out.append((ts, "truncate", first_fd, int(argtext.rsplit(", ", 1)[1])))
        elif name in ("rename", "renameat", "renameat2", "link", "linkat", "unlink", "unlinkat"):
            paths = [unhex(s).decode(errors="replace") for s in HEX.findall(argtext)]
            paths = [p for p in paths if not p.startswith("/") or p.startswith(prefix) or p == folder]
            names = [os.path.basename(p) for p in paths if p.startswith(prefix)]
            kind = {"rename": "rename", "renameat": "rename", "renameat2": "rename",
                    "link": "link", "linkat": "link"}.get(name, "unlink")
            if len(names) == (1 if kind == "unlink" else 2):
                out.append((ts, kind, *names))
    return out


# --- The model: each file's bytes (durable and not), the folder's entries (durable and not). ---

class Inode:
    def __init__(self, ident):
        self.ident = ident
        self.durable = b""
        self.pending = []  # ('w', offset|None, bytes) | ('t', size)

    def replay(self, ops, base=None):
        data = bytearray(self.durable if base is None else base)
        for op in ops:
            if op[0] == "t":
                del data[op[1]:]
                data.extend(b"\0" * (op[1] - len(data)))
            else:
                at = len(data) if op[1] is None else op[1]
                if at > len(data):
                    data.extend(b"\0" * (at - len(data)))
                data[at:at + len(op[2])] = op[2]
        return bytes(data)

    def current(self):
        return self.replay(self.pending)

    def options(self):
        """(label, bytes) for each content a power cut may leave."""
        out = [("synced", self.durable)]
        for j, op in enumerate(self.pending):
            before = self.replay(self.pending[:j])
            if op[0] == "w":
                n = len(op[2])
                for cut in sorted({1, 12, n // 2, n - 1}):
                    if 0 < cut < n:
                        out.append((f"+{j} calls, then {cut}/{n} bytes of the next",
                                    self.replay([("w", op[1], op[2][:cut])], before)))
            out.append((f"+{j + 1} calls", self.replay(self.pending[: j + 1])))
        full = self.current()
        start = len(self.durable)
        pages = list(range(start // PAGE, (len(full) - 1) // PAGE))  # pages with bytes after them
        for p in sorted({pages[0], pages[len(pages) // 2], pages[-1]} if pages else set()):
            lo, hi = max(p * PAGE, start), min((p + 1) * PAGE, len(full))
            if lo < hi:
                out.append((f"all {len(self.pending)} calls, zeros in [{lo}, {hi})",
                            full[:lo] + b"\0" * (hi - lo) + full[hi:]))
        return out


class Model:
    def __init__(self):
        self.inodes = {}
        self.fds = {}
        self.dir = {}  # name -> Inode (what the running system sees)
        self.durable_dir = {}
        self.dir_pending = []  # ('create'|'link'|'rename'|'unlink', ...)
        self.next = 0

    def apply(self, ev):
        kind = ev[1]
        if kind == "opendir":
            self.fds[ev[2]] = "dir"
        elif kind == "open":
            _, _, fd, name, create, trunc = ev
            if name not in self.dir:
                node = Inode(self.next)
                self.next += 1
                self.dir[name] = node
                self.dir_pending.append(("create", name, node))
            node = self.dir[name]
            if trunc:
                node.pending.append(("t", 0))
            self.fds[fd] = node
        elif kind == "dup":
            if ev[2] in self.fds:
                self.fds[ev[3]] = self.fds[ev[2]]
        elif kind == "close":
            self.fds.pop(ev[2], None)
        elif kind == "write":
            node = self.fds.get(ev[2])
            if node is not None:
                node.pending.append(("w", ev[4], ev[3]))
        elif kind == "truncate":
            node = self.fds.get(ev[2])
            if node is not None:
                node.pending.append(("t", ev[3]))
        elif kind == "sync":
            node = self.fds.get(ev[2])
            if node == "dir":
                self.durable_dir = dict(self.dir)
                self.dir_pending = []
            elif node is not None:
                node.durable = node.current()
                node.pending = []
        elif kind == "rename":
            _, _, src, dst = ev
            if src in self.dir:
                self.dir[dst] = self.dir.pop(src)
                self.dir_pending.append(("rename", src, dst))
        elif kind == "link":
            _, _, src, dst = ev
            if src in self.dir:
                self.dir[dst] = self.dir[src]
                self.dir_pending.append(("link", src, dst))
        elif kind == "unlink":
            if ev[2] in self.dir:
                del self.dir[ev[2]]
                self.dir_pending.append(("unlink", ev[2]))

    def dir_options(self):
        out = []
        d = dict(self.durable_dir)
        out.append(("folder as synced", dict(d)))
        for i, op in enumerate(self.dir_pending):
            if op[0] == "create":
                d[op[1]] = op[2]
            elif op[0] == "rename" and op[1] in d:
                d[op[2]] = d.pop(op[1])
            elif op[0] == "link" and op[1] in d:
                d[op[2]] = d[op[1]]
            elif op[0] == "unlink":
                d.pop(op[1], None)
            out.append((f"folder +{i + 1} of {len(self.dir_pending)} changes ({op[0]} {op[1]})", dict(d)))
        return out

    def states(self):
        """(description, {name: bytes}) for the crash states at this boundary."""
        out = []
        for dlabel, entries in self.dir_options():
            nodes = {n.ident: n for n in entries.values()}
            opts = {i: n.options() for i, n in nodes.items()}
            # Vary one file's content at a time; the others as synced, or with all their writes.
            for vary in nodes:
                for others in ("synced", "all"):
                    for label, data in opts[vary]:
                        files, desc = {}, [dlabel]
                        for name, n in sorted(entries.items()):
                            if n.ident == vary:
                                files[name] = data
                                desc.append(f"{name}: {label}")
                            else:
                                files[name] = n.durable if others == "synced" else n.current()
                                desc.append(f"{name}: {others}")
                        out.append(("; ".join(desc), files))
            if not nodes:
                out.append((dlabel + "; no files", {}))
        return out


def describe_event(ev):
    kind = ev[1]
    if kind == "write":
        return f"write(fd {ev[2]}, {len(ev[3])} bytes)"
    if kind == "open":
        return f"openat({ev[3]}{', O_CREAT' if ev[4] else ''}{', O_TRUNC' if ev[5] else ''}) = fd {ev[2]}"
    if kind == "sync":
        return f"fsync/fdatasync(fd {ev[2]})"
    if kind == "truncate":
        return f"ftruncate(fd {ev[2]}, {ev[3]})"
    if kind in ("rename", "link"):
        return f"{kind}({ev[2]}, {ev[3]})"
    return f"{kind}({', '.join(str(x) for x in ev[2:])})"
