#!/usr/bin/env python3
"""ruleq on Apache Spark: the same alert documents from a cluster as from
one `ruleq run` over the whole input.

Spark does the distribution and the shuffle; ruleq stays the only
evaluator. Every event file is cut into splits of consecutive lines; each
split is piped to `ruleq run --stage map`, which writes the final alerts of
rules whose alerts depend on no other event (`A` lines), the candidate
records of every other rule with their partition key (`R` lines, without
their event's text), each such event's text once (`T` lines) and its
figures (`S` line). The records are shuffled by partition key; each Spark
partition's records are piped to `ruleq run --stage shown` (the events its
alerts show), then, with those events' texts, to `ruleq run --stage
reduce`. The `A` documents and the reduces' documents are written to
`--output` as uncompressed NDJSON part files, and `ruleq run --stage
summary` prints the summary of the stages' figures, as one run prints it.

    spark-submit spark/ruleq_spark.py -r rules --output out events/
    python spark/ruleq_spark.py -r rules --output out events/   # pyspark installed

Exit codes as `ruleq run`: 0, 2 usage or I/O errors, 3 when some rules
failed to load (they are reported with `ruleq check`'s diagnostics and left
out; the rest ran).
"""

import argparse
import datetime
import fnmatch
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVENT_SUFFIXES = (".json", ".ndjson", ".jsonl")
GLOB_CHARS = set("*?[")


# `ruleq run`'s report of a malformed event: `NAME:LINE: malformed event: ...`.
MALFORMED = re.compile(r"^(.*):(\d+): malformed event: ")
# The malformed events `ruleq run` reports one by one per file.
REPORTED_PER_FILE = 20


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="ruleq_spark.py",
        description="Run ruleq detection rules over event files on Apache Spark; "
        "the alert documents equal `ruleq run`'s over the whole input.",
    )
    p.add_argument("events", nargs="+", metavar="EVENTS",
                   help="event files, folders or globs (local paths, or Hadoop URIs on a cluster)")
    p.add_argument("-r", "--rules", action="append", required=True, metavar="PATH",
                   help="rule files or folders (repeatable)")
    p.add_argument("--output", required=True, metavar="DIR",
                   help="output folder (must not exist): NDJSON part files and _SUCCESS")
    p.add_argument("--ruleq", metavar="PATH",
                   default=os.path.join(os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO_ROOT, "target"), "release", "ruleq"),
                   help="the ruleq binary, shipped to executors (default: the release build, under $CARGO_TARGET_DIR or target/)")
    p.add_argument("--master", default=None,
                   help="Spark master (default: local[*], or spark-submit's --master)")
    p.add_argument("--max-partition-bytes", type=int, default=128 * 1024 * 1024, metavar="N",
                   help="largest share of a file one map task reads (default 128 MiB)")
    p.add_argument("--reduce-partitions", type=int, default=None, metavar="N",
                   help="reduce tasks (default: Spark's default parallelism)")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--now", metavar="TIME",
                      help="execution time, RFC 3339 (default: the driver's clock, read once)")
    when.add_argument("--schedule", action="store_true", help="replay Kibana's schedule")
    p.add_argument("--index", metavar="NAME")
    p.add_argument("--mapping", action="append", default=[], metavar="FILE")
    p.add_argument("--indicators", action="append", default=[], metavar="FILE")
    p.add_argument("--exceptions", action="append", default=[], metavar="FILE")
    p.add_argument("--value-list", action="append", default=[], metavar="ID=FILE")
    p.add_argument("--history", action="append", default=[], metavar="FILE")
    p.add_argument("--saved-object-id", metavar="ID")
    p.add_argument("--max-partials", type=int, metavar="N")
    return p.parse_args(argv)


# ---------------------------------------------------------------- inputs


def has_scheme(path):
    return "://" in path and not path.startswith("file://")


def local(path):
    return path[len("file://"):] if path.startswith("file://") else path


def is_event_file(name):
    base = name
    for c in (".gz", ".zst"):
        if base.endswith(c):
            base = base[: -len(c)]
            break
    return base.endswith(EVENT_SUFFIXES)


def walk(folder):
    """Event files below folder as ruleq walks it: hidden entries skipped,
    sorted by path components."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for f in files:
            if not f.startswith(".") and is_event_file(f):
                found.append(os.path.join(root, f))
    found.sort(key=lambda p: os.path.relpath(p, folder).split(os.sep))
    return found


def expand_inputs(args_events, hadoop=None):
    """(path, name) for every event file in argument order, named as `ruleq
    run` names it: a file given directly by its base name, a file found in
    a folder by its path relative to the folder, a glob's by its path
    relative to the glob's directory part."""
    out = []
    for arg in args_events:
        if has_scheme(arg):
            out.extend(hadoop(arg))
            continue
        path = local(arg)
        if any(c in GLOB_CHARS for c in path):
            parts = path.split(os.sep)
            fixed = []
            for part in parts:
                if any(c in GLOB_CHARS for c in part):
                    break
                fixed.append(part)
            base = os.sep.join(fixed) or "."
            matches = sorted(glob.glob(path), key=lambda p: p.split(os.sep))
            if not matches:
                raise SystemExit(f"error: {arg}: no file matches")
            for m in matches:
                if os.path.isdir(m):
                    out.extend((f, os.path.relpath(f, base).replace(os.sep, "/")) for f in walk(m))
                else:
                    out.append((m, os.path.relpath(m, base).replace(os.sep, "/")))
        elif os.path.isdir(path):
            out.extend((f, os.path.relpath(f, path).replace(os.sep, "/")) for f in walk(path))
        elif os.path.exists(path):
            out.append((path, os.path.basename(path)))
        else:
            raise SystemExit(f"error: {arg}: No such file or directory")
    return [(os.path.abspath(p) if not has_scheme(p) else p, n) for p, n in out]


def hadoop_lister(sc):
    """Lists a Hadoop URI (file, folder or glob) through the JVM's FileSystem."""
    jvm = sc._jvm
    conf = sc._jsc.hadoopConfiguration()

    def list_uri(uri):
        path = jvm.org.apache.hadoop.fs.Path(uri)
        fs = path.getFileSystem(conf)
        statuses = fs.globStatus(path) or []
        base = uri
        if any(c in GLOB_CHARS for c in uri):
            base = uri[: min(uri.index(c) for c in GLOB_CHARS if c in uri)].rsplit("/", 1)[0]
        out = []
        for st in sorted(statuses, key=lambda s: s.getPath().toString().split("/")):
            p = st.getPath().toString()
            if st.isDirectory():
                found = []
                it = fs.listFiles(st.getPath(), True)
                while it.hasNext():
                    f = it.next().getPath().toString()
                    rel = f[len(p.rstrip("/")) + 1:]
                    if not any(x.startswith(".") for x in rel.split("/")) and is_event_file(f.rsplit("/", 1)[1]):
                        found.append((f, rel))
                found.sort(key=lambda t: t[1].split("/"))
                out.extend(found)
            elif base != uri and st.getPath().getName().startswith("."):
                continue  # a glob's hidden match, as a shell glob skips it
            elif base != uri:
                out.append((p, p[len(base.rstrip("/")) + 1:] if p.startswith(base) else p.rsplit("/", 1)[1]))
            else:
                out.append((p, p.rsplit("/", 1)[1]))
        if not out:
            raise SystemExit(f"error: {uri}: no file matches")
        return out

    return list_uri


def read_head(path, sc, n=65536):
    if has_scheme(path):
        jvm = sc._jvm
        p = jvm.org.apache.hadoop.fs.Path(path)
        fs = p.getFileSystem(sc._jsc.hadoopConfiguration())
        size = min(n, fs.getFileStatus(p).getLen())
        stream = fs.open(p)
        try:
            try:  # commons-io is on Spark's class path
                return bytes(jvm.org.apache.commons.io.IOUtils.toByteArray(stream, size))
            except Exception:
                pass
            buf = bytearray()
            while len(buf) < min(size, 4096):
                b = stream.read()
                if b < 0:
                    break
                buf.append(b)
            return bytes(buf)
        finally:
            stream.close()
    with open(path, "rb") as f:
        return f.read(n)


def read_whole(head):
    """Whether a file must be read whole by one task: compressed, a JSON
    array, or pretty-printed (its first line is no whole JSON object)."""
    if head[:2] == b"\x1f\x8b" or head[:4] == b"\x28\xb5\x2f\xfd":
        return True
    text = head.lstrip(b" \t\r\n\xef\xbb\xbf")
    if text[:1] == b"[":
        return True
    if text[:1] != b"{":
        return False  # ruleq reports such lines as malformed, line by line
    first = text.split(b"\n", 1)[0]
    if b"\n" not in text and len(head) >= 65536:
        return False  # a long first line: NDJSON
    try:
        return not isinstance(json.loads(first), dict)
    except ValueError:
        return True


# ---------------------------------------------------------------- tasks


def ruleq_path(shipped):
    """The binary on this executor: shipped with SparkFiles, or a local path."""
    if shipped.startswith("sparkfiles:"):
        from pyspark import SparkFiles
        path = SparkFiles.get(shipped[len("sparkfiles:"):])
        if not os.access(path, os.X_OK):
            os.chmod(path, 0o755)
        return path
    return shipped


def resolve(common):
    """The common options with shipped files resolved on this executor."""
    out = []
    for a in common:
        if a.startswith("sparkfiles:"):
            from pyspark import SparkFiles
            out.append(SparkFiles.get(a[len("sparkfiles:"):]))
        elif a.startswith("sparkfiles-kv:"):
            from pyspark import SparkFiles
            key, name = a[len("sparkfiles-kv:"):].split("=", 1)
            out.append(f"{key}={SparkFiles.get(name)}")
        else:
            out.append(a)
    return out


def pipe(cmd, lines, what):
    """Runs cmd, feeding it lines (str, no newline) on stdin from a thread;
    yields its stdout lines. Raises on a failing exit (0 and 3 are fine: 3
    is rules that failed to load, reported on the driver)."""
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    err = []

    def feed():
        try:
            for line in lines:
                proc.stdin.write(line.encode("utf-8", "surrogateescape"))
                proc.stdin.write(b"\n")
        except BrokenPipeError:
            pass
        finally:
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass

    def drain():
        err.append(proc.stderr.read())

    t_in = threading.Thread(target=feed, daemon=True)
    t_err = threading.Thread(target=drain, daemon=True)
    t_in.start()
    t_err.start()
    for raw in proc.stdout:
        yield raw.rstrip(b"\n").decode("utf-8", "surrogateescape")
    t_in.join()
    code = proc.wait()
    t_err.join()
    stderr = (err[0] if err else b"").decode("utf-8", "replace")
    if code not in (0, 3):
        raise RuntimeError(f"{what}: ruleq exited {code}: {stderr}")
    for line in stderr.splitlines():
        if line.strip():
            yield "N\t" + line


def tag_map_output(lines, name):
    for line in lines:
        tag, _, rest = line.partition("\t")
        if tag == "A":
            yield ("A", rest)
        elif tag == "R":
            key, _, record = rest.partition("\t")
            yield ("R", key, record)
        elif tag == "T":
            # An event's text, once: keyed by the event (file, line).
            file, line_no, _ = rest.split("\t", 2)
            yield ("T", file + "\t" + line_no, line)
        elif tag == "S":
            yield ("S", name, rest)
        elif tag == "N":
            yield ("N", name, rest)


def event_time(line):
    try:
        ts = json.loads(line).get("@timestamp")
    except (ValueError, AttributeError):
        return None
    return ts if isinstance(ts, str) else None


def parse_time(ts):
    try:
        return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    except (ValueError, AttributeError, TypeError):
        return None


def map_lines(binary, common, name, index):
    """The map task over one Spark partition of (line, index) pairs of one
    file: each run of consecutive lines goes to one ruleq map process."""

    def run(pairs):
        exe = ruleq_path(binary)
        opts = resolve(common)
        it = iter(pairs)
        pending = next(it, None)
        while pending is not None:
            first = pending[1]
            run_lines = []
            expect = first
            while pending is not None and pending[1] == expect:
                run_lines.append(pending[0])
                expect += 1
                pending = next(it, None)
            cmd = [exe, "run", "-q", "--stage", "map", "--split-name", name,
                   "--split-index", str(index), "--split-first-line", str(first + 1)] + opts + ["-"]
            yield from tag_map_output(pipe(cmd, run_lines, f"{name}:{first + 1}"), name)
            yield ("O", name, first + 1, time_order(run_lines, first + 1))

    return run


def time_order(lines, first_line):
    """(first time, last time, first line out of time order or None) of a run
    of lines, by their `@timestamp` strings (ISO 8601 parsed)."""
    first_t = last_t = None
    bad = None
    for n, line in enumerate(lines):
        t = parse_time(event_time(line))
        if t is None:
            continue
        if first_t is None:
            first_t = t
        if last_t is not None and t < last_t and bad is None:
            bad = first_line + n
        last_t = t
    return (first_t, last_t, bad)


def map_whole(binary, common, name, index, suffix):
    """The map task over a whole file (compressed, JSON array, pretty-printed),
    given as (path, bytes) from binaryFiles."""

    def run(pairs):
        import tempfile
        exe = ruleq_path(binary)
        opts = resolve(common)
        for _path, data in pairs:
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "events" + suffix)
                with open(path, "wb") as f:
                    f.write(data)
                cmd = [exe, "run", "-q", "--stage", "map", "--split-name", name,
                       "--split-index", str(index), "--split-first-line", "1"] + opts + [path]
                yield from tag_map_output(pipe(cmd, [], name), name)

    return run


def record_lines(first, pairs):
    """A reduce partition's (key, record) pairs as record lines."""
    yield "R\t" + first[0] + "\t" + first[1]
    for key, record in pairs:
        yield "R\t" + key + "\t" + record


def shown_partition(binary, common):
    """The first reduce over one reduce partition's records: the events
    (`file<TAB>line`) whose text its alerts show, as (partition, event)."""
    def run(index, pairs):
        first = next(pairs, None)
        if first is None:
            return
        exe = ruleq_path(binary)
        cmd = [exe, "run", "-q", "--stage", "shown"] + resolve(common) + ["-"]
        for line in pipe(cmd, record_lines(first, pairs), "shown"):
            if line.startswith("U\t"):
                yield (index, line[2:])

    return run


def reduce_partition(binary, common, texts):
    """The reduce over one reduce partition's records, with the texts of
    the events its alerts show (a broadcast: partition -> text lines)."""
    def run(index, pairs):
        first = next(pairs, None)
        if first is None:
            return

        def lines():
            yield from texts.value.get(index, ())
            yield from record_lines(first, pairs)

        exe = ruleq_path(binary)
        cmd = [exe, "run", "-q", "--stage", "reduce"] + resolve(common) + ["-"]
        for line in pipe(cmd, lines(), "reduce"):
            if line.startswith("N\t"):
                yield ("N", line[2:])
            elif line.startswith("S\t"):
                yield ("S", line[2:])
            elif line:
                yield ("D", line)

    return run


# ---------------------------------------------------------------- driver


def summary_args(common):
    """The options of the summary stage: the run's, but the event-like
    files (history, indicators: the stages counted them) and what the
    driver cannot read (URIs)."""
    out = []
    i = 0
    while i < len(common):
        flag = common[i]
        if flag == "--schedule":
            out.append(flag)
            i += 1
            continue
        value = common[i + 1]
        i += 2
        if flag in ("--indicators", "--history") or has_scheme(value.split("=", 1)[-1]):
            continue
        out += [flag, value]
    return out


def shuffle_bytes(sc):
    """The bytes the job's shuffles wrote (as Spark counts them, compressed),
    from the driver's status API; None when it cannot be read."""
    try:
        import urllib.request
        url = sc.uiWebUrl
        if not url:
            return None
        with urllib.request.urlopen(f"{url}/api/v1/applications/{sc.applicationId}/stages", timeout=10) as r:
            stages = json.load(r)
        return sum(st.get("shuffleWriteBytes", 0) for st in stages if st.get("status") == "COMPLETE")
    except Exception:  # the UI is off, or unreachable: no figure
        return None


def check_rules(ruleq, rules):
    """`ruleq check` on the rules: its diagnostics on stderr; whether all load."""
    proc = subprocess.run([ruleq, "check"] + rules, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout)
        sys.stderr.write(proc.stderr)
    return proc.returncode


def clean_output(sc, output):
    """Leaves only the part files and _SUCCESS: no .crc files, no folders."""
    if output.startswith("file://"):
        # Hadoop's local file system hides its .crc files from listings.
        folder = output[len("file://"):]
        for name in os.listdir(folder):
            path = os.path.join(folder, name)
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif name.endswith(".crc") or name.startswith("."):
                os.remove(path)
        return
    jvm = sc._jvm
    path = jvm.org.apache.hadoop.fs.Path(output)
    fs = path.getFileSystem(sc._jsc.hadoopConfiguration())
    for st in fs.listStatus(path):
        name = st.getPath().getName()
        if st.isDirectory() or name.endswith(".crc") or name.startswith("."):
            fs.delete(st.getPath(), True)


def main(argv):
    started = time.time()
    args = parse_args(argv)
    ruleq = os.path.abspath(args.ruleq)
    if not os.access(ruleq, os.X_OK):
        print(f"error: {args.ruleq}: no ruleq binary (build it with `cargo build --release`, or give --ruleq)",
              file=sys.stderr)
        return 2
    if args.max_partition_bytes < 1:
        print("error: --max-partition-bytes must be positive", file=sys.stderr)
        return 2
    # Rules load and check on the driver.
    check = check_rules(ruleq, [os.path.abspath(r) for r in args.rules])
    if check not in (0, 1, 3):
        print(f"error: ruleq check exited {check}", file=sys.stderr)
    rules_failed = check != 0

    # The clock, read once for every task.
    now = args.now
    if not args.schedule and now is None:
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    from pyspark import SparkConf, SparkContext
    conf = SparkConf().setAppName("ruleq").set("spark.ui.showConsoleProgress", "false")
    if args.master or not conf.contains("spark.master"):
        conf.setMaster(args.master or "local[*]")
    sc = SparkContext.getOrCreate(conf)
    sc.setLogLevel("WARN")
    hconf = sc._jsc.hadoopConfiguration()
    hconf.set("mapreduce.output.fileoutputformat.compress", "false")
    local_master = sc.master.startswith("local")

    # The binary and every option file: local paths on a local master,
    # else shipped with Spark's file distribution (each under its own name).
    shipped_names = {}

    def ship(path):
        if local_master:
            return os.path.abspath(path)
        path = os.path.abspath(path) if not has_scheme(path) else path
        if os.path.isdir(path):
            sc.addFile(path, recursive=True)
        else:
            sc.addFile(path)
        name = path.rstrip("/").rsplit("/", 1)[-1]
        if shipped_names.setdefault(name, path) != path:
            raise SystemExit(f"error: two option files are both named {name}; rename one to ship them")
        return "sparkfiles:" + name

    binary = ship(ruleq)
    common = []
    for r in args.rules:
        common += ["-r", ship(r)]
    if args.schedule:
        common.append("--schedule")
    else:
        common += ["--now", now]
    if args.index:
        common += ["--index", args.index]
    for flag, files in (("--mapping", args.mapping), ("--indicators", args.indicators),
                        ("--exceptions", args.exceptions), ("--history", args.history)):
        for f in files:
            common += [flag, ship(f)]
    for vl in args.value_list:
        key, _, f = vl.partition("=")
        shipped = ship(f)
        common += ["--value-list", shipped.replace("sparkfiles:", "sparkfiles-kv:" + key + "=", 1)
                   if shipped.startswith("sparkfiles:") else f"{key}={shipped}"]
    if args.saved_object_id:
        common += ["--saved-object-id", args.saved_object_id]
    if args.max_partials is not None:
        common += ["--max-partials", str(args.max_partials)]

    # The options as the driver's own ruleq sees them (for the summary).
    driver_common = [a for a in common]
    if not local_master:
        driver_common = []
        for a in common:
            if a.startswith("sparkfiles:"):
                a = shipped_names[a[len("sparkfiles:"):]]
            elif a.startswith("sparkfiles-kv:"):
                key, name = a[len("sparkfiles-kv:"):].split("=", 1)
                a = f"{key}={shipped_names[name]}"
            driver_common.append(a)
    files = expand_inputs(args.events, hadoop_lister(sc))
    names = {}
    for path, name in files:
        names.setdefault(name, []).append(path)
    for name, paths in names.items():
        if len(paths) > 1:
            print(f"note: event files {', '.join(paths)} are all named {name} in alert ids "
                  "(an event without `_id` is named by its file and line): their events without "
                  "`_id` can share alert ids; name them apart or give the events an `_id`", file=sys.stderr)

    # Map: one RDD per file, its lines numbered, each partition piped.
    mapped_parts = []
    input_bytes = 0
    for index, (path, name) in enumerate(files):
        uri = path if has_scheme(path) else "file://" + path
        head = read_head(path, sc)
        if has_scheme(path):
            jp = sc._jvm.org.apache.hadoop.fs.Path(path)
            size = jp.getFileSystem(hconf).getFileStatus(jp).getLen()
        else:
            size = os.path.getsize(path)
        input_bytes += size
        if read_whole(head):
            suffix = "".join(s for s in (".gz", ".zst") if path.endswith(s)) or ".json"
            rdd = sc.binaryFiles(uri, minPartitions=1)
            mapped_parts.append(rdd.mapPartitions(map_whole(binary, common, name, index, suffix)))
        else:
            parts = max(1, -(-size // args.max_partition_bytes))
            lines = sc.textFile(uri, minPartitions=parts).zipWithIndex()
            mapped_parts.append(lines.mapPartitions(map_lines(binary, common, name, index)))
    if not mapped_parts:
        print("error: no event files", file=sys.stderr)
        return 2
    from pyspark import StorageLevel
    mapped = sc.union(mapped_parts).persist(StorageLevel.MEMORY_AND_DISK)

    # Shuffle the records by partition key; one reduce per Spark partition.
    reduces = args.reduce_partitions or sc.defaultParallelism
    records = mapped.filter(lambda t: t[0] == "R").map(lambda t: (t[1], t[2]))
    shuffled = records.partitionBy(reduces)
    # Records leave their event's text out (it goes once per event, apart):
    # a first reduce tells which events its alerts show; only their texts
    # go to the reduce (through the driver: they are the alerts' events).
    shown = shuffled.mapPartitionsWithIndex(shown_partition(binary, common)).collect()
    needed = sc.broadcast(frozenset(event for _, event in shown))
    texts = dict(mapped.filter(lambda t: t[0] == "T" and t[1] in needed.value)
                 .map(lambda t: (t[1], t[2])).collect())
    by_partition = {}
    for index, event in shown:
        by_partition.setdefault(index, []).append(texts[event])
    given = sc.broadcast(by_partition)
    reduced = shuffled.mapPartitionsWithIndex(reduce_partition(binary, common, given)) \
        .persist(StorageLevel.MEMORY_AND_DISK)
    documents = mapped.filter(lambda t: t[0] == "A").map(lambda t: t[1]) \
        .union(reduced.filter(lambda t: t[0] == "D").map(lambda t: t[1]))

    out_uri = args.output if has_scheme(args.output) else "file://" + os.path.abspath(local(args.output))
    documents.saveAsTextFile(out_uri)
    clean_output(sc, out_uri)

    # The summary, as `ruleq run` prints it: every stage's figures added up
    # by `ruleq run --stage summary`.
    stats = mapped.filter(lambda t: t[0] in ("S", "N", "O")).collect()
    reduce_figures = reduced.filter(lambda t: t[0] == "S").map(lambda t: t[1]).collect()
    shuffled = shuffle_bytes(sc)
    sc.stop()

    orders = {}
    # Malformed events, per file: (line, report) as the tasks reported them
    # (each at its line in the whole file), and how many in all. The tasks'
    # other notes are in their figures.
    bad_lines = {}
    bad_counts = {}
    figures = []
    for t in stats:
        if t[0] == "S":
            figures.append(t[2])
            bad_counts[t[1]] = bad_counts.get(t[1], 0) + json.loads(t[2])["malformed"]
        elif t[0] == "N":
            m = MALFORMED.match(t[2])
            if m and m.group(1) == t[1]:
                bad_lines.setdefault(t[1], []).append((int(m.group(2)), t[2]))
        else:
            orders.setdefault(t[1], []).append((t[2], t[3]))
    # As `ruleq run` reports them: the first of each file in line order,
    # then how many more (printed by the summary stage, where one run
    # prints them).
    reports = []
    for name in sorted(bad_counts):
        shown = sorted(bad_lines.get(name, []))[:REPORTED_PER_FILE]
        reports += [report for _, report in shown]
        rest = bad_counts[name] - len(shown)
        if rest > 0:
            reports.append(f"{name}: {rest} more malformed events not shown ({bad_counts[name]} in this file)")
    # Files not in time order: within a split, or across splits.
    for name, splits in orders.items():
        splits.sort()
        last = None
        for first_line, (first_t, last_t, bad) in splits:
            if bad is None and last is not None and first_t is not None and first_t < last:
                bad = first_line
            if bad is not None:
                print(f"note: {name}: not in time order (the first at {name}:{bad}): "
                      "sort the input by time for the same alerts as one run", file=sys.stderr)
                break
            if last_t is not None:
                last = last_t
    secs = time.time() - started
    summary = subprocess.run(
        [ruleq, "run", "--stage", "summary", "--elapsed", f"{secs:.3f}"] + summary_args(driver_common) + ["-"],
        input="".join(["M\t" + r + "\n" for r in reports]
                      + ["S\t" + f + "\n" for f in figures + reduce_figures]).encode("utf-8"),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sys.stderr.write(summary.stderr.decode("utf-8", "replace"))
    splits = sum(1 for t in stats if t[0] == "S")
    line = f"spark: {len(files)} event files in {splits} map splits, {reduces} reduce partitions"
    if shuffled is not None:
        line += f"; {shuffled:,} bytes shuffled ({shuffled / max(input_bytes, 1):.2f} times the {input_bytes:,} bytes of input)"
    print(line, file=sys.stderr)
    if summary.returncode == 2:
        return 2
    if summary.returncode not in (0, 3):
        print(f"error: ruleq run --stage summary exited {summary.returncode}", file=sys.stderr)
        return 2
    return 3 if rules_failed or summary.returncode == 3 else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
