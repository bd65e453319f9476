"""Sanity check for the wirewatch dev set: python seeds/eval/check.py [DIR]"""

import collections
import json
import sys
from datetime import datetime
from pathlib import Path

d = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent)
arts = [json.loads(row) for row in (d / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
labs = [json.loads(row) for row in (d / "labels.jsonl").read_text(encoding="utf-8").splitlines()]
err = []
if len(arts) != len(labs):
    err.append(f"line counts differ: {len(arts)} articles vs {len(labs)} labels")
ids = [a["id"] for a in arts]
if len(set(ids)) != len(ids):
    err.append("duplicate ids: %s" % [i for i, n in collections.Counter(ids).items() if n > 1])
seen = {}
for n, (a, row) in enumerate(zip(arts, labs, strict=True), 1):
    if a["id"] != row["id"]:
        err.append(f"line {n}: id mismatch {a['id']} / {row['id']}")
    for k in ("id", "title", "body", "source", "published_at"):
        if not isinstance(a.get(k), str) or not a[k].strip():
            err.append(f"{a.get('id')}: missing/empty {k}")
    extra = set(a) - {"id", "title", "body", "source", "language", "published_at", "url"}
    if extra:
        err.append(f"{a['id']}: unexpected fields {extra}")
    if datetime.fromisoformat(a["published_at"].replace("Z", "+00:00")).tzinfo is None:
        err.append(f"{a['id']}: published_at has no timezone")
    if "language" in a and a["language"] != row["language"]:
        err.append(f"{a['id']}: language field {a['language']} != label {row['language']}")
    if row["language"] not in ("fr", "en"):
        err.append(f"{a['id']}: bad language label")
    types = [x["type"] for x in row["alerts"]]
    if len(types) != len(set(types)):
        err.append(f"{a['id']}: more than one alert of a type")
    for x in row["alerts"]:
        if x["type"] not in ("ceasefire_violation", "airstrike", "ground_offensive"):
            err.append(f"{a['id']}: bad alert type {x['type']}")
        if not isinstance(x["hedged"], bool):
            err.append(f"{a['id']}: hedged not bool")
        if not x["evidence"] or x["evidence"] not in a["body"]:
            err.append(f"{a['id']}: evidence not in body: {x['evidence']!r}")
    cans = [e["canonical"] for e in row["entities"]]
    if len(cans) != len(set(cans)):
        err.append(f"{a['id']}: entity listed twice")
    for e in row["entities"]:
        if e["label"] not in ("PER", "ORG", "LOC"):
            err.append(f"{a['id']}: bad entity label {e}")
    dup = row["duplicate_of"]
    if dup is not None:
        if dup not in seen:
            err.append(f"{a['id']}: duplicate_of {dup} is not an earlier id")
        elif seen[dup] is not None:
            err.append(f"{a['id']}: duplicate_of {dup} is itself a duplicate")
        else:
            o = labs[ids.index(dup)]
            if o["language"] != row["language"]:
                err.append(f"{a['id']}: duplicate in another language")
    seen[a["id"]] = dup

nolang = sum("language" not in a for a in arts)
c = collections.Counter()
for row in labs:
    c["lang_" + row["language"]] += 1
    c["duplicates"] += row["duplicate_of"] is not None
    c["no_alert"] += not row["alerts"]
    for x in row["alerts"]:
        c[x["type"] + ("_hedged" if x["hedged"] else "_asserted")] += 1
groups = collections.Counter(row["duplicate_of"] for row in labs if row["duplicate_of"])
print(f"articles={len(arts)} labels={len(labs)} unique_ids={len(set(ids))}")
print(f"no_language_field={nolang} ({nolang / len(arts):.0%})")
print(f"duplicate_groups={len(groups)} copies={sum(groups.values())} sizes={sorted(n + 1 for n in groups.values())}")
print(f"html_bodies={sum('<p>' in a['body'] for a in arts)} entities={sum(len(row['entities']) for row in labs)}")
for k in sorted(c):
    print(f"  {k}={c[k]}")
if err:
    print("ERRORS:")
    print("\n".join("  " + e for e in err))
    sys.exit(1)
print("OK")
