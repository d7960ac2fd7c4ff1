"""Validate recorded answers against the OpenAPI document's schemas.

Usage: validate_responses.py OPENAPI.json RECORDS.json

RECORDS is a list of {"method", "path" (the document's path template),
"status", "content_type", "body" (parsed JSON, or text, or null)}. Each
answer's status must be documented for its operation, its media type must
be one the document gives for that status, and its body must validate
(JSON Schema 2020-12, as OpenAPI 3.1 uses) against that schema. Every
documented operation must have been driven with a success, and (outside the
Operations tag) with an error. Prints every problem; exits 1 if any.
"""

import json
import sys

import jsonschema


def main() -> int:
    doc = json.load(open(sys.argv[1]))
    records = json.load(open(sys.argv[2]))
    problems = []
    seen = {}
    for r in records:
        method, path, status = r["method"].lower(), r["path"], str(r["status"])
        where = f"{method.upper()} {path} → {status}"
        op = doc["paths"].get(path, {}).get(method)
        if op is None:
            problems.append(f"{where}: not a documented operation")
            continue
        seen.setdefault((method, path), set()).add(int(status))
        response = op["responses"].get(status) or op["responses"].get("default")
        if response is None:
            problems.append(f"{where}: status not documented ({sorted(op['responses'])})")
            continue
        content = response.get("content")
        media = (r.get("content_type") or "").split(";")[0].strip()
        if not content:
            if r.get("body") not in (None, ""):
                problems.append(f"{where}: a body where the document has none")
            continue
        if media not in content:
            problems.append(f"{where}: content type {media!r} not documented ({sorted(content)})")
            continue
        schema = content[media].get("schema")
        if schema is None:
            continue
        root = dict(schema)
        root["components"] = doc.get("components", {})
        try:
            jsonschema.Draft202012Validator(root).validate(r["body"])
        except jsonschema.ValidationError as e:
            at = "/".join(str(p) for p in e.absolute_path)
            problems.append(f"{where}: body does not match its schema at /{at}: {e.message}")
    for path, item in doc["paths"].items():
        for method, op in item.items():
            statuses = seen.get((method, path), set())
            if not any(200 <= s < 300 for s in statuses):
                problems.append(f"{method.upper()} {path}: never driven with a success")
            if "Operations" not in op.get("tags", []) and not any(400 <= s < 500 for s in statuses):
                problems.append(f"{method.upper()} {path}: never driven with an error")
    for p in problems:
        print(p)
    print(f"{len(records)} answers of {len(seen)} operations checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
