"""Stock tuspy against mediaq: a whole upload with sha1 checksums, then an
upload interrupted after two chunks and resumed by a new client from the
offset the server reports. Prints the two upload URLs, one per line.

usage: tuspy_upload.py ENDPOINT KEY FILE
"""
import sys

from tusclient import client

endpoint, key, path = sys.argv[1:4]
headers = {"Authorization": f"Bearer {key}"}
chunk = 256 * 1024

whole = client.TusClient(endpoint, headers=headers).uploader(
    path, chunk_size=chunk, metadata={"filename": "tuspy whole.jpg"}, upload_checksum=True
)
whole.upload()
print(whole.url, flush=True)

# Interrupted: two chunks, then the client goes away.
first = client.TusClient(endpoint, headers=headers).uploader(
    path, chunk_size=chunk, metadata={"filename": "tuspy resumed.jpg"}, upload_checksum=True
)
first.upload_chunk()
first.upload_chunk()
url = first.url
del first
# A new client resumes from the server's offset (HEAD).
again = client.TusClient(endpoint, headers=headers).uploader(path, chunk_size=chunk, url=url, upload_checksum=True)
assert again.offset == 2 * chunk, f"resumed at {again.offset}, not at the server's offset"
again.upload()
print(again.url, flush=True)
