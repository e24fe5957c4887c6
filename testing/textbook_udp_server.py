# textbook_udp_server.py: the course assignment's server turned to UDP the
# way the course notes' example is written (socket(AF_INET, SOCK_DGRAM),
# bind, recvfrom(1024), sendto): one request per datagram, answers without
# "\n". `kv check --udp --level assignment` passes it; `kv check --udp`
# (the contract) says what it lacks: the \n, several lines in a datagram,
# and a request longer than its recvfrom(1024), cut there.
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
server_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server_socket.bind(("127.0.0.1", port))
print("listening on 127.0.0.1:%d" % server_socket.getsockname()[1], flush=True)

while True:
    data, addr = server_socket.recvfrom(1024)
    server_socket.sendto(handle(data.decode(errors="replace")).encode(), addr)
