# textbook_server.py: the course assignment's server, written the way its
# students write it: one client at a time, one recv(1024) per request,
# answers without "\n". `kv check --level assignment` passes it;
# `kv check` (the contract) says what a real client would trip on.
# With --fragile it has no try around a client's conversation, as many
# students' first servers: a client that resets its connection stops it.
# With --greeting it greets each client as it connects, before any request,
# as many tutorials' servers do: every answer then comes one late.
import socket
import sys

store = {}


def handle(request):
    parts = [part.strip() for part in request.split(",")]
    command = parts[0].upper()
    if command == "PUT" and len(parts) >= 3:
        store[parts[1]] = parts[2]
        return "Success!"
    if command == "GET" and len(parts) == 2:
        return store.get(parts[1], "Not exist!")
    if command == "DELETE" and len(parts) == 2:
        if parts[1] in store:
            del store[parts[1]]
            return "Success!"
        return "Not exist!"
    if command == "LIST":
        if not store:
            return "Not exist!"
        return "\n".join(f"{key}, {value}" for key, value in store.items())
    return "Wrong request!"


port = int(sys.argv[1]) if len(sys.argv) > 1 else 12000
fragile = "--fragile" in sys.argv[2:]
greeting = "--greeting" in sys.argv[2:]
server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server_socket.bind(("127.0.0.1", port))
server_socket.listen()
print("listening on 127.0.0.1:%d" % server_socket.getsockname()[1], flush=True)

while True:
    client_socket, addr = server_socket.accept()
    if greeting:
        try:
            client_socket.sendall(b"Welcome to the kv server!\n")
        except OSError:
            pass
    if fragile:
        while True:
            data = client_socket.recv(1024)
            if not data:
                break
            client_socket.sendall(handle(data.decode(errors="replace")).encode())
        client_socket.close()
        continue
    try:
        while True:
            data = client_socket.recv(1024)
            if not data:
                break
            answer = handle(data.decode(errors="replace"))
            client_socket.sendall(answer.encode())
    except OSError as error:  # a client that left abruptly
        print("client error:", error, flush=True)
    finally:
        client_socket.close()
