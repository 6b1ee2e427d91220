#!/usr/bin/python3
"""Writes the small data files test_data.cpp reads. Deterministic: rerunning gives the same bytes.

Run from anywhere: /usr/bin/python3 tests/data/make_fixtures.py
The formulas here are repeated in test_data.cpp, which checks every value.
"""
import gzip
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def gz(data):
    return gzip.compress(data, mtime=0)


def idx(type_code, dims, payload):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


# ---- CSV ----
write("basic.csv", b"a,b,label\n1,2.5,0\n-3,4e-1,1\n5, 6 ,2\n+7,8,1\n")
write("crlf.csv", b"a,b,label\r\n1,2,0\r\n3,4,1\r\n\r\n\r\n")
write("multi_label.csv", b"l1,f1,f2,l2\n0,1,2,10\n1,3,4,11\n2,5,6,12\n")
write("semicolon.csv", b"1;2;3\n4;5;6\n")
write("ragged.csv", b"a,b,label\n1,2,0\n3,4\n5,6,1\n")
write("non_numeric.csv", b"x,y,label\n1,2,0\n3,4,1\n5,abc,0\n")
write("empty.csv", b"")
write("header_only.csv", b"a,b,label\n\n")
# Like sklearn's digits.csv.gz: no header, 64 pixel columns (0..16) then the class.
digits = "".join(",".join(str((r * 64 + c) * 5 % 17) for c in range(64)) + ",%d\n" % (r % 10) for r in range(6))
write("digits_small.csv.gz", gz(digits.encode()))
write("truncated.csv.gz", gz(digits.encode())[:60])

# ---- IDX ----
pixels = bytes((i * 6 + r * 2 + c) * 7 % 256 for i in range(5) for r in range(3) for c in range(2))
labels = bytes([3, 1, 4, 1, 5])
write("images.idx3-ubyte", idx(0x08, [5, 3, 2], pixels))
write("labels.idx1-ubyte", idx(0x08, [5], labels))
write("images.idx3-ubyte.gz", gz(idx(0x08, [5, 3, 2], pixels)))
write("labels.idx1-ubyte.gz", gz(idx(0x08, [5], labels)))
write("labels4.idx1-ubyte", idx(0x08, [4], labels[:4]))
write("byte.idx", idx(0x09, [3], struct.pack(">3b", -128, -1, 127)))
write("short.idx", idx(0x0B, [3], struct.pack(">3h", -300, 2, 32767)))
write("int.idx", idx(0x0C, [3], struct.pack(">3i", -70000, 0, 2147483647)))
write("float.idx", idx(0x0D, [2, 3], struct.pack(">6f", 0.5, -1.25, 3.0, 1e-3, 65504.0, -0.0)))
write("double.idx", idx(0x0E, [4], struct.pack(">4d", 0.1, -2.5, 1e300, 3.0)))
write("bad_magic.idx", bytes([1, 2, 8, 1]) + struct.pack(">I", 1) + b"\0")
write("truncated.idx", idx(0x08, [4], b"\1\2"))
write("truncated_header.idx", bytes([0, 0, 8, 3, 0, 0, 0, 5]))
write("trailing.idx", idx(0x08, [2], b"\1\2\3"))
write("unknown_type.idx", idx(0x0A, [1], b"\0"))
