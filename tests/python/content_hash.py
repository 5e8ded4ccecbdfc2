#!/usr/bin/env python3
"""Content hashes of HDF5 files, for comparing the results of two builds of segstream.

    content_hash.py FILE...

Prints, per file, two SHA-256 digests:
- `data`: every dataset's path, dtype, shape and values, in path order;
- `content`: the same, plus every attribute of the root, the groups and the datasets, except the
  provenance attributes that name the build or the run rather than the result (`created_by`, which holds
  the git commit; `provenance`, which records the command's inputs and config; and `fingerprint`, a digest of
  the rest).
Two files with equal `content` digests hold the same results, whatever build wrote them.
"""
import hashlib
import sys

import h5py
import numpy as np

PROVENANCE = {"created_by", "provenance", "fingerprint"}


def attribute_bytes(obj):
    out = []
    for name in sorted(obj.attrs.keys()):
        if name in PROVENANCE:
            continue
        value = obj.attrs[name]
        out.append(name.encode() + b"=" + repr(np.asarray(value).tolist()).encode())
    return b"\n".join(out)


def digests(path):
    data = hashlib.sha256()
    content = hashlib.sha256()
    with h5py.File(path, "r") as f:
        content.update(b"/:" + attribute_bytes(f))
        names = []
        f.visit(names.append)
        for name in sorted(names):
            obj = f[name]
            if isinstance(obj, h5py.Group):
                content.update(f"group {name}:".encode() + attribute_bytes(obj))
                continue
            values = obj[()]
            if obj.dtype.kind == "O" or h5py.check_string_dtype(obj.dtype):
                blob = repr([v.decode() if isinstance(v, bytes) else v for v in np.ravel(values)]).encode()
            else:
                blob = np.ascontiguousarray(values).tobytes()
            head = f"dataset {name} {obj.dtype.str} {obj.shape}:".encode()
            for h in (data, content):
                h.update(head)
                h.update(blob)
            content.update(attribute_bytes(obj))
    return data.hexdigest(), content.hexdigest()


def main():
    for path in sys.argv[1:]:
        data, content = digests(path)
        print(f"{path.rsplit('/', 1)[-1]:<22} data {data[:16]}  content {content[:16]}")


if __name__ == "__main__":
    main()
