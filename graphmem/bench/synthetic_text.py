"""A synthetic corpus of generated prose for load and scale benchmarks: real text, so extraction and embedding
run for real, about made-up people, towns and companies that recur across documents (a connected graph).

    python -m graphmem.bench.synthetic_text --documents 1000 > corpus.jsonl

Deterministic for a seed. Each document is about one person, about 60-90 words in five or six sentences.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator

ONSETS = ["Br", "C", "D", "El", "F", "G", "H", "Is", "J", "K", "L", "M", "N", "Or", "P", "R", "S", "T", "V", "W"]
VOWELS = ["a", "e", "i", "o", "u", "ae", "ia", "ou"]
CODAS = ["n", "r", "l", "th", "ck", "mond", "ley", "son", "wick", "dale", "more", "ford"]
JOBS = ["engineer", "teacher", "nurse", "carpenter", "chemist", "pilot", "baker", "librarian", "surveyor", "architect"]
THINGS = ["a bridge", "a lighthouse", "a school", "a ferry", "a library", "a mill", "a harbour wall", "a museum"]
HOBBIES = ["sailing", "chess", "birdwatching", "pottery", "rowing", "astronomy", "gardening", "fencing"]


def _name(rng: random.Random, parts: int = 2) -> str:
    return " ".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(parts))


def _pools(rng: random.Random, documents: int) -> dict[str, list[str]]:
    """Names shared by the corpus: about one town per 20 documents and one company per 10."""
    towns = sorted({_name(rng, 1) + rng.choice(["", "ton", "bury", "port"]) for _ in range(max(5, documents // 20))})
    companies = sorted({_name(rng, 1) + " " + rng.choice(["Works", "Shipping", "Mills", "Trust", "Press"])
                        for _ in range(max(5, documents // 10))})  # fmt: skip
    return {"town": towns, "company": companies}


def documents(n: int, seed: int = 11) -> Iterator[dict[str, str]]:
    """``n`` documents as graphmem's documents JSONL records (id, title, date, text)."""
    rng = random.Random(seed)
    pools = _pools(rng, n)
    people: list[str] = []
    for i in range(n):
        person = _name(rng)
        born, town, other = rng.randrange(1940, 2000), rng.choice(pools["town"]), rng.choice(pools["town"])
        company, job = rng.choice(pools["company"]), rng.choice(JOBS)
        friend = rng.choice(people) if people else _name(rng)
        moved = born + rng.randrange(20, 40)
        sentences = [
            f"{person} was born in {town} in {born} and studied in {other}.",
            f"{person} works as a {job} at {company}, which built {rng.choice(THINGS)} in {town}.",
            f"In {moved} {person.split()[0]} moved to {other} with {friend}, an old friend from school.",
            f"{friend} later joined {rng.choice(pools['company'])} in {rng.choice(pools['town'])}.",
            f"{person.split()[0]} is known in {other} for {rng.choice(HOBBIES)} and restored {rng.choice(THINGS)}.",
        ]
        if rng.random() < 0.6:
            since = min(2025, moved + rng.randrange(1, 15))
            sentences.append(f"Since {since} {person} has led {rng.choice(pools['company'])}.")
        people.append(person)
        yield {"id": f"syn-{i:06d}", "title": person, "date": f"{2000 + i % 25}-{1 + i % 12:02d}-01",
               "text": " ".join(sentences)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    for record in documents(args.documents, args.seed):
        sys.stdout.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
