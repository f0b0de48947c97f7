"""A minimal client of the curserve daemon, run as another Unix user by the
tenant tests (setpriv ... python3 -c "$(cat line_client.py)" SOCKET JSON).
JSON is a list of steps: a message (object or raw string line) to send, each
followed by one reply read (notifications skipped). With "connect" instead of
a message it connects to that path and sends the next message there, reading
one line. Prints one JSON line per step: the reply, or {"client_error": ...}."""
import json, socket, sys

def main():
    path, steps = sys.argv[1], json.loads(sys.argv[2])
    conns = {}
    def conn(p):
        if p not in conns:
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(30)
            s.connect(p)
            conns[p] = [s, b""]
        return conns[p]
    def read_line(c):
        while b"\n" not in c[1]:
            chunk = c[0].recv(1 << 20)
            if not chunk:
                raise ConnectionError("closed by the daemon")
            c[1] += chunk
        line, c[1] = c[1].split(b"\n", 1)
        return json.loads(line)
    for step in steps:
        try:
            target = step.get("via", path) if isinstance(step, dict) else path
            msg = step.get("send") if isinstance(step, dict) and "send" in step else step
            c = conn(target)
            data = msg if isinstance(msg, str) else json.dumps(msg)
            try:
                c[0].sendall(data.encode() + b"\n")
            except BrokenPipeError:
                pass  # refused: the daemon's reason may still be there to read
            while True:
                reply = read_line(c)
                if reply.get("method") == "progress":
                    continue
                break
            print(json.dumps(reply), flush=True)
        except Exception as e:
            print(json.dumps({"client_error": "%s: %s" % (type(e).__name__, e)}), flush=True)

main()
