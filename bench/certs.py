"""The test certificate for bench/'s scripts that serve TLS: the CA,
certificate and key of testing/tls.ts, read from its source, and written as
PEM files (with a password file beside them) that only their owner reads.
"""
import os
import re


def pem_blocks(cwd):
    """The test CA, certificate and key of CWD/testing/tls.ts, in that order."""
    with open(os.path.join(cwd, "testing", "tls.ts")) as f:
        return re.findall(r"-----BEGIN [A-Z ]+-----\n.*?-----END [A-Z ]+-----\n", f.read(), re.S)


def write_private(path, text):
    """Writes `text` to `path`, a file only its owner may read (mode 0600), replacing what it held."""
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(text)


def write_test_certificate(folder, cwd):
    """Writes the test CA, certificate and key as folder/ca.pem, cert.pem and key.pem; returns their paths."""
    paths = []
    for name, text in zip(("ca.pem", "cert.pem", "key.pem"), pem_blocks(cwd)):
        paths.append(os.path.join(folder, name))
        write_private(paths[-1], text)
    return paths
