"""Times Python eql (1.0.1) on one EQL query over an NDJSON file of ECS events.

Used by `cargo bench --bench throughput`: prints `events results seconds` for
the query given, reading and parsing the events inside the timed loop, as
ruleq does. The event type is the first `event.category`.
"""
import json
import sys
import time

import eql


def main():
    path, query = sys.argv[1], sys.argv[2]
    engine = eql.PythonEngine()
    parsed = eql.parse_query(query, implied_any=True)
    engine.add_query(parsed)
    results = []
    engine.add_output_hook(results.append)
    events = 0
    started = time.perf_counter()
    with open(path, "rb") as f:
        for line in f:
            data = json.loads(line)
            category = data.get("event", {}).get("category", "generic")
            if isinstance(category, list):
                category = category[0] if category else "generic"
            engine.stream_event(eql.Event(category, 0, data))
            events += 1
    engine.finalize()
    seconds = time.perf_counter() - started
    print(events, len(results), f"{seconds:.3f}")


if __name__ == "__main__":
    main()
