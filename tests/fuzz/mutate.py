#!/usr/bin/env python3
"""Deterministic mutants of a fuzz corpus, for CI: the same inputs give the same mutants on
every machine, so a fuzz test's verdict depends on the commit alone (libFuzzer's own guided
search depends on coverage, which differs between runs; it runs in the soak instead).

  mutate.py INPUTS_LIST OUT_DIR COUNT

INPUTS_LIST: a file with one input path per line. COUNT mutants are spread over the inputs;
each is one to four edits (bit flips, boundary bytes, inserted or deleted runs, duplicated
chunks, truncation, a splice with another input), drawn from a PRNG seeded by the input's
index, so the set changes only when the corpus does."""
import os
import random
import sys

INTERESTING = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE, 0x20, 0x2E, 0x3A, 0x5B, 0x5D, 0x25]


def mutate(data: bytearray, other: bytes, rng: random.Random) -> bytearray:
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(8)
        n = len(data)
        if op == 0 and n:
            i = rng.randrange(n)
            data[i] ^= 1 << rng.randrange(8)
        elif op == 1 and n:
            data[rng.randrange(n)] = rng.choice(INTERESTING)
        elif op == 2:
            i = rng.randrange(n + 1)
            data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 3 and n:
            i = rng.randrange(n)
            del data[i:i + rng.randint(1, 8)]
        elif op == 4 and n:
            i = rng.randrange(n)
            chunk = data[i:i + rng.randint(1, 32)]
            j = rng.randrange(len(data) + 1)
            data[j:j] = chunk
        elif op == 5 and n:
            del data[rng.randrange(n):]
        elif op == 6 and other:
            i, j = rng.randrange(len(data) + 1), rng.randrange(len(other))
            data = data[:i] + other[j:j + rng.randint(1, 64)]
        elif op == 7 and n >= 2:
            i = rng.randrange(n - 1)
            data[i], data[i + 1] = data[i + 1], data[i]
    return data


def main() -> int:
    inputs_list, out_dir, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(inputs_list) as f:
        paths = [line.strip() for line in f if line.strip()]
    inputs = []
    for p in paths:
        with open(p, "rb") as f:
            inputs.append(f.read())
    os.makedirs(out_dir, exist_ok=True)
    if not inputs:
        return 0
    per_input = max(1, count // len(inputs))
    for k, data in enumerate(inputs):
        rng = random.Random(k * 1_000_003 + len(inputs))
        for m in range(per_input):
            other = inputs[rng.randrange(len(inputs))]
            out = mutate(bytearray(data), other, rng)
            with open(os.path.join(out_dir, f"{k:05d}-{m:06d}"), "wb") as f:
                f.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
