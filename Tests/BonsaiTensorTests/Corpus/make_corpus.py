#!/usr/bin/env python3
"""Generates the safetensors corpus used by SafetensorsCorpusTests (Python standard library only).

Every file here is small and deterministic. `expected.json` maps each file name to the
`SafetensorsError` case the reader must throw ("truncated", "badHeader", "badEntry") or to null for
the few valid edge cases that must load. Run from anywhere:

    python3 Tests/BonsaiTensorTests/Corpus/make_corpus.py

It deletes the previous *.safetensors files in this folder first, so the folder always matches the
script.
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTED = {}


def raw(name, data, error, why):
    """Writes `data` verbatim."""
    assert name not in EXPECTED, name
    with open(os.path.join(HERE, name + ".safetensors"), "wb") as f:
        f.write(data)
    EXPECTED[name + ".safetensors"] = {"error": error, "why": why}


def framed(name, header, data=b"", error="badHeader", why="", pad=True):
    """An 8-byte little-endian length, `header` (bytes or str, padded with spaces to 8), `data`."""
    if isinstance(header, str):
        header = header.encode("utf-8")
    if pad:
        header += b" " * (-len(header) % 8)
    raw(name, struct.pack("<Q", len(header)) + header + data, error, why)


def entry_file(name, entry, data_size=16, error="badEntry", why=""):
    """One tensor 'x' described by `entry` (a dict dumped as JSON) over `data_size` zero bytes."""
    framed(name, json.dumps({"x": entry}), b"\0" * data_size, error, why)


def good(dtype="F32", shape=(2, 2), offsets=(0, 16)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


def main():
    for old in os.listdir(HERE):
        if old.endswith(".safetensors"):
            os.remove(os.path.join(HERE, old))

    # The 8-byte length prefix and the file size.
    raw("empty", b"", "truncated", "empty file")
    raw("short-5-bytes", b"\x02\0\0\0\0", "truncated", "fewer than 8 bytes")
    raw("header-longer-than-file", struct.pack("<Q", 1000) + b"{}      ", "truncated",
        "header length 1000 but 8 bytes follow")
    raw("header-length-200MB", struct.pack("<Q", 200_000_000) + b"{}      ", "badHeader",
        "header length above the 100 MB limit, refused before reading")
    raw("header-length-u64-max", b"\xff" * 8 + b"{}      ", "badHeader", "header length 2^64 - 1")
    framed("header-length-zero", b"", error="badHeader", why="empty header is not JSON")

    # The header as JSON.
    framed("not-json", "{not json}", why="not JSON")
    framed("truncated-json", '{"x": {"dtype": "F32", ', why="JSON ends early")
    framed("json-array", "[1, 2, 3]", why="JSON, not an object")
    framed("json-string", '"{}"', why="JSON string, not an object")
    framed("leading-space", " {}", why="header must start with '{'")
    framed("utf8-bom", b"\xef\xbb\xbf{}", why="byte-order mark before '{'")
    framed("utf16-header", "{}".encode("utf-16-le"), why="UTF-16, not UTF-8")
    framed("trailing-garbage", "{} x", why="characters after the object")
    framed("nul-padding", b"{}\0\0\0\0\0\0", why="padding must be spaces", pad=False)
    framed("non-utf8-key", b'{"\xff\xfe": {}}', why="invalid UTF-8 in a key")
    framed("non-utf8-overlong", b'{"a\xc0\xaf": {}}', why="overlong UTF-8 encoding")
    framed("non-utf8-surrogate", b'{"a\xed\xa0\x80": {}}', why="UTF-8-encoded surrogate")
    framed("non-utf8-truncated-sequence", b'{"a\xe2\x82": {}}', why="truncated multi-byte sequence")
    framed("lone-surrogate-escape", '{"a\\ud800": {}}', why="\\ud800 without its low half")
    framed("control-character", '{"a\nb": {}}', why="raw newline inside a string")
    framed("bad-escape", '{"a\\q": {}}', why="unknown escape \\q")
    framed("duplicate-entry", '{"x": %s, "x": %s}' % (json.dumps(good()), json.dumps(good())),
           b"\0" * 16, why="two entries named x")
    framed("deep-nesting", '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}",
           why="100000 nested arrays (must not overflow the stack)")
    framed("metadata-not-object", '{"__metadata__": "text"}', why="__metadata__ is a string")
    framed("metadata-null", '{"__metadata__": null}', why="__metadata__ is null")
    framed("metadata-number-value", '{"__metadata__": {"epoch": 3}}', why="metadata value is a number")
    framed("metadata-nested-value", '{"__metadata__": {"a": {"b": "c"}}}', why="metadata value is an object")
    framed("metadata-null-value", '{"__metadata__": {"a": null}}', why="metadata value is null")

    # Entries.
    entry_file("entry-number", 5, why="entry is a number")
    entry_file("entry-array", [1, 2], why="entry is an array")
    entry_file("entry-string", "F32", why="entry is a string")
    entry_file("missing-dtype", {"shape": [2, 2], "data_offsets": [0, 16]}, why="no dtype")
    entry_file("dtype-number", dict(good(), dtype=4), why="dtype is a number")
    for dtype in ["F16", "BF16", "I32", "F8_E4M3", "f32", ""]:
        entry_file("dtype-unknown-" + (dtype or "empty"), dict(good(), dtype=dtype), why="unsupported dtype %r" % dtype)
    shapes = {
        "shape-negative": [-2, -2],
        "shape-float": [2.5, 2],
        "shape-float-integral": [2.0, 2],
        "shape-exponent": [2e0, 2],
        "shape-boolean": [True, 2],
        "shape-string": ["2", 2],
        "shape-null-item": [None, 2],
        "shape-nested": [[2], 2],
        "shape-not-array": 4,
    }
    for name, shape in shapes.items():
        entry = dict(good(), shape=shape)
        # json.dumps writes 2.0 as "2.0" and 2e0 as "2.0"; spell the exponent case by hand.
        text = json.dumps({"x": entry})
        if name == "shape-exponent":
            text = text.replace("[2.0, 2]", "[2e0, 2]")
        framed(name, text, b"\0" * 16, "badEntry", "shape %s" % json.dumps(shape))
    framed("shape-beyond-int64", '{"x": {"dtype": "F32", "shape": [18446744073709551616], "data_offsets": [0, 16]}}',
           b"\0" * 16, "badEntry", "dimension 2^64")
    entry_file("missing-shape", {"dtype": "F32", "data_offsets": [0, 16]}, why="no shape")
    offsets = {
        "offsets-one": [0],
        "offsets-three": [0, 8, 16],
        "offsets-empty": [],
        "offsets-negative": [-16, 0],
        "offsets-reversed": [16, 0],
        "offsets-beyond-data": [8, 24],
        "offsets-float": [0.0, 16.0],
        "offsets-string": ["0", "16"],
        "offsets-not-array": 16,
    }
    for name, value in offsets.items():
        entry_file(name, dict(good(), data_offsets=value), why="data_offsets %s" % json.dumps(value))
    entry_file("missing-offsets", {"dtype": "F32", "shape": [2, 2]}, why="no data_offsets")
    entry_file("byte-count-too-small", good(offsets=(0, 12)), why="[2,2] F32 needs 16 bytes, range has 12")
    entry_file("byte-count-too-large", good(shape=(3,), offsets=(0, 16)), why="[3] F32 needs 12 bytes, range has 16")
    entry_file("byte-count-dtype", good(dtype="F64"), why="[2,2] F64 needs 32 bytes, range has 16")
    entry_file("data-truncated", good(shape=(4, 4), offsets=(0, 64)), data_size=16, why="range ends beyond the file")
    entry_file("shape-product-overflow", good(shape=(4294967296, 4294967296, 16), offsets=(0, 16)),
               why="element count overflows Int64")
    entry_file("shape-bytes-overflow", good(dtype="F64", shape=(2 ** 61, 2), offsets=(0, 16)),
               why="element count fits, byte count overflows")
    framed("overlap", json.dumps({"a": good(offsets=(0, 16)), "b": good(offsets=(8, 24))}), b"\0" * 24,
           "badEntry", "ranges [0,16) and [8,24) overlap")
    framed("overlap-same-range", json.dumps({"a": good(), "b": good()}), b"\0" * 16,
           "badEntry", "two tensors on the same bytes")
    framed("overlap-contained", json.dumps({"a": good(shape=(8,), offsets=(0, 32)), "b": good(shape=(1,), offsets=(4, 8))}),
           b"\0" * 32, "badEntry", "a range inside another")

    # Valid edge cases that must load (guarding against over-strict validation).
    framed("valid-empty-header", "{}", error=None, why="no tensors")
    framed("valid-zero-elements", json.dumps({"e": good(shape=(0, 3), offsets=(0, 0)), "x": good()}), b"\0" * 16,
           None, "a zero-element tensor next to a normal one")
    framed("valid-extra-keys", json.dumps({"x": dict(good(), comment="ignored")}), b"\0" * 16, None,
           "unknown keys in an entry are ignored")
    framed("valid-gap", json.dumps({"a": good(offsets=(0, 16)), "b": good(offsets=(24, 40))}), b"\0" * 40, None,
           "unused bytes between tensors")
    framed("valid-whitespace-escapes",
           '{ "\\u00e9t\\u00e9\\ud83c\\udf33" :\n {"dtype":"U8","shape":[ 2 ],\t"data_offsets":[0,2]},'
           '"__metadata__":{"k\\"":"v\\\\"} }', b"\x01\x02", None, "escapes, a surrogate pair, whitespace")
    framed("valid-unpadded", "{}", error=None, why="header not padded to 8 bytes", pad=False)

    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(EXPECTED, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
