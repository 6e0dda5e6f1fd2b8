import hashlib, json, os, sys

print(json.dumps({
    "hello": "from scratch",
    "python": sys.version.split()[0],
    "uid": os.getuid(),
    "sha256": hashlib.sha256(b"minroot").hexdigest(),
}))
