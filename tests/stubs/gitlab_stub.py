#!/usr/bin/env python3
"""A stateful stub of the GitLab REST v4 endpoints that `prepare_gitlab_workspace` uses.

Stdlib only. The Rust tests (server/playbook-engine/tests/gitlab.rs) hold a twin of it and
check that both answer alike.

    python3 tests/stubs/gitlab_stub.py --port 0 --token glpat-test \\
        --group openg2p/implementations --user aurelia-dev:registry-team@social.aurelia.example \\
        [--http-base http://127.0.0.1:8929/git]

prints its API root (``http://127.0.0.1:<port>/api/v4``) as the first line on stdout, then
serves until killed. Point ``GITLAB_API_URL`` at that line. Projects get
``http_url_to_repo = <http-base>/<path_with_namespace>.git`` (``--http-base`` defaults to the
stub's own root), so pushes can go to a real git server.

API (every call needs ``PRIVATE-TOKEN: <token>``, else 401):
    GET  /api/v4/groups/:id-or-url-encoded-path        POST /api/v4/groups
    GET  /api/v4/projects/:id-or-url-encoded-path      POST /api/v4/projects
    PUT  /api/v4/projects/:id                          (default_branch: an existing branch only)
    GET  /api/v4/projects/:id/repository/branches/:b   POST /api/v4/projects/:id/repository/branches?branch=&ref=
    GET  /api/v4/users?username=&per_page=&page=       (X-Next-Page pagination)
    GET  /api/v4/projects/:id/members/all/:user_id     (direct or inherited from the groups)
    GET  /api/v4/projects/:id/members/:user_id         POST /api/v4/projects/:id/members
    PUT  /api/v4/projects/:id/members/:user_id

Control (no token; for tests):
    GET  /_stub/requests   every API request: {method, path, token_ok, body}
    GET  /_stub/state      groups, projects, users, memberships
    POST /_stub/reset      back to the start (the --group/--user seeds); requests and faults cleared
    POST /_stub/fault      {"method", "path" (without /api/v4 and query), "status", "body", "times"?}
    POST /_stub/group      {"path" (full), "marked_for_deletion_on"?}
    POST /_stub/project    {"path" (full), "default_branch"?, "branches"?, "visibility"?, "marked_for_deletion_at"?}
    POST /_stub/user       {"username", "public_email"?}
    POST /_stub/member     {"project" (full path), "username", "access_level", "group"? (full path, for inherited)}
"""

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict"}


class State:
    def __init__(self, token, groups, users, http_base):
        self.lock = threading.Lock()
        self.token = token
        self.seed_groups = list(groups)
        self.seed_users = list(users)
        self.http_base = http_base
        self.reset()

    def reset(self):
        self.next_id = 100
        self.groups = []  # dicts: id, path, full_path, parent_id, marked
        self.projects = []  # dicts: id, path, full_path, namespace_id, default_branch, branches, visibility, marked
        self.users = []  # dicts: id, username, public_email
        self.members = {}  # (project_id, user_id) -> level
        self.group_members = {}  # (group_id, user_id) -> level
        self.faults = {}  # (method, path) -> [status, body, times or None]
        self.requests = []
        for g in self.seed_groups:
            self.ensure_group(g)
        for username, email in self.seed_users:
            self.add_user(username, email)

    def new_id(self):
        self.next_id += 1
        return self.next_id

    def ensure_group(self, full_path):
        full_path = full_path.strip("/")
        for g in self.groups:
            if g["full_path"] == full_path:
                return g
        parent_path, _, path = full_path.rpartition("/")
        parent = self.ensure_group(parent_path) if parent_path else None
        g = {"id": self.new_id(), "path": path, "full_path": full_path, "parent_id": parent["id"] if parent else None, "marked": None}
        self.groups.append(g)
        return g

    def add_user(self, username, email=""):
        u = {"id": self.new_id(), "username": username, "public_email": email or ""}
        self.users.append(u)
        return u

    def add_project(self, full_path, default_branch="main", branches=(), visibility="private", marked=None):
        group_path, _, path = full_path.strip("/").rpartition("/")
        group = self.ensure_group(group_path)
        p = {
            "id": self.new_id(),
            "path": path,
            "full_path": full_path.strip("/"),
            "namespace_id": group["id"],
            "default_branch": default_branch,
            "branches": list(branches),
            "visibility": visibility,
            "marked": marked,
        }
        self.projects.append(p)
        return p

    def group_json(self, g):
        return {
            "id": g["id"],
            "name": g["path"],
            "path": g["path"],
            "full_path": g["full_path"],
            "parent_id": g["parent_id"],
            "visibility": "private",
            "web_url": f"{self.http_base}/groups/{g['full_path']}",
            "marked_for_deletion_on": g["marked"],
        }

    def project_json(self, p):
        return {
            "id": p["id"],
            "name": p["path"],
            "path": p["path"],
            "path_with_namespace": p["full_path"],
            "namespace": {"id": p["namespace_id"], "full_path": p["full_path"].rpartition("/")[0]},
            "default_branch": p["default_branch"],
            "empty_repo": not p["branches"],
            "visibility": p["visibility"],
            "http_url_to_repo": f"{self.http_base}/{p['full_path']}.git",
            "web_url": f"{self.http_base}/{p['full_path']}",
            "marked_for_deletion_at": p["marked"],
        }

    def find_group(self, key):
        return next((g for g in self.groups if str(g["id"]) == key or g["full_path"] == key), None)

    def find_project(self, key):
        return next((p for p in self.projects if str(p["id"]) == key or p["full_path"] == key), None)

    def effective_level(self, p, uid):
        best = self.members.get((p["id"], uid))
        gid = p["namespace_id"]
        while gid is not None:
            level = self.group_members.get((gid, uid))
            if level is not None:
                best = level if best is None else max(best, level)
            g = self.find_group(str(gid))
            gid = g["parent_id"] if g else None
        return best

    def snapshot(self):
        return {
            "groups": self.groups,
            "projects": self.projects,
            "users": self.users,
            "members": [{"project_id": k[0], "user_id": k[1], "access_level": v} for k, v in self.members.items()],
            "group_members": [{"group_id": k[0], "user_id": k[1], "access_level": v} for k, v in self.group_members.items()],
        }


def not_found(what):
    return 404, {"message": f"404 {what} Not Found"}


def route(st, method, path, query, body):
    """The API proper; `path` without /api/v4 and query. Returns (status, json, extra headers)."""
    fault = st.faults.get((method, path))
    if fault is not None:
        status, answer, times = fault
        if times is not None:
            fault[2] = times - 1
            if fault[2] <= 0:
                del st.faults[(method, path)]
        return status, answer, {}
    segs = [unquote(s) for s in path.strip("/").split("/")]
    n = len(segs)

    if method == "GET" and n == 2 and segs[0] == "groups":
        g = st.find_group(segs[1])
        return (200, st.group_json(g), {}) if g else (*not_found("Group"), {})
    if method == "POST" and segs == ["groups"]:
        parent = st.find_group(str(body.get("parent_id")))
        if parent is None:
            return 400, {"message": {"parent_id": ["is invalid"]}}, {}
        full_path = f"{parent['full_path']}/{body.get('path', '')}"
        if st.find_group(full_path):
            return 400, {"message": {"path": ["has already been taken"]}}, {}
        g = {"id": st.new_id(), "path": body.get("path", ""), "full_path": full_path, "parent_id": parent["id"], "marked": None}
        st.groups.append(g)
        return 201, st.group_json(g), {}
    if method == "GET" and n == 2 and segs[0] == "projects":
        p = st.find_project(segs[1])
        return (200, st.project_json(p), {}) if p else (*not_found("Project"), {})
    if method == "POST" and segs == ["projects"]:
        group = st.find_group(str(body.get("namespace_id")))
        if group is None:
            return 400, {"message": {"namespace": ["is not valid"]}}, {}
        full_path = f"{group['full_path']}/{body.get('path', '')}"
        if st.find_project(full_path):
            return 400, {"message": {"path": ["has already been taken"]}}, {}
        # As GitLab: without a README the repository is empty and `default_branch` is ignored.
        p = st.add_project(full_path, "main", [], body.get("visibility", "private"))
        return 201, st.project_json(p), {}
    if method == "PUT" and n == 2 and segs[0] == "projects":
        p = st.find_project(segs[1])
        if p is None:
            return (*not_found("Project"), {})
        branch = body.get("default_branch")
        if branch is not None:
            if branch not in p["branches"]:
                return 400, {"message": f"Could not set the default branch. Do you have a branch named '{branch}'?"}, {}
            p["default_branch"] = branch
        return 200, st.project_json(p), {}
    if n == 5 and segs[0] == "projects" and segs[2:4] == ["repository", "branches"] and method == "GET":
        p = st.find_project(segs[1])
        if p and segs[4] in p["branches"]:
            return 200, {"name": segs[4]}, {}
        return (*not_found("Branch"), {})
    if n == 4 and segs[0] == "projects" and segs[2:4] == ["repository", "branches"] and method == "POST":
        p = st.find_project(segs[1])
        if p is None:
            return (*not_found("Project"), {})
        if query.get("ref") not in p["branches"]:
            return 400, {"message": "Invalid reference name"}, {}
        p["branches"].append(query.get("branch", ""))
        return 201, {"name": query.get("branch", "")}, {}
    if method == "GET" and segs == ["users"]:
        wanted = query.get("username")
        found = [u for u in st.users if wanted is None or u["username"].lower() == wanted.lower()]
        per_page = max(1, min(100, int(query.get("per_page", "20") or 20)))
        page = max(1, int(query.get("page", "1") or 1))
        chunk = found[(page - 1) * per_page : page * per_page]
        more = page * per_page < len(found)
        items = [{"id": u["id"], "username": u["username"], "state": "active", "public_email": u["public_email"]} for u in chunk]
        return 200, items, {"X-Next-Page": str(page + 1) if more else "", "X-Page": str(page), "X-Total": str(len(found))}
    if segs[:1] == ["projects"] and n >= 4 and segs[2] == "members":
        p = st.find_project(segs[1])
        if p is None:
            return (*not_found("Project"), {})
        if method == "GET" and n == 5 and segs[3] == "all":
            level = st.effective_level(p, int(segs[4]) if segs[4].isdigit() else -1)
            return (200, {"id": int(segs[4]), "access_level": level}, {}) if level is not None else (*not_found("Member"), {})
        if method == "GET" and n == 4:
            uid = int(segs[3]) if segs[3].isdigit() else -1
            level = st.members.get((p["id"], uid))
            return (200, {"id": uid, "access_level": level}, {}) if level is not None else (*not_found("Member"), {})
        if method == "PUT" and n == 4:
            uid = int(segs[3]) if segs[3].isdigit() else -1
            if (p["id"], uid) not in st.members:
                return (*not_found("Member"), {})
            st.members[(p["id"], uid)] = int(body.get("access_level", 0))
            return 200, {"id": uid, "access_level": st.members[(p["id"], uid)]}, {}
    if method == "POST" and n == 3 and segs[0] == "projects" and segs[2] == "members":
        p = st.find_project(segs[1])
        if p is None:
            return (*not_found("Project"), {})
        uid, level = int(body.get("user_id", 0)), int(body.get("access_level", 0))
        if (p["id"], uid) in st.members:
            return 409, {"message": "Member already exists"}, {}
        st.members[(p["id"], uid)] = level
        return 201, {"id": uid, "access_level": level}, {}
    return (*not_found("Endpoint"), {})


def control(st, method, path, body):
    if method == "GET" and path == "/_stub/requests":
        return 200, st.requests
    if method == "GET" and path == "/_stub/state":
        return 200, st.snapshot()
    if method == "POST" and path == "/_stub/reset":
        st.reset()
        return 200, {"ok": True}
    if method == "POST" and path == "/_stub/fault":
        st.faults[(body["method"].upper(), body["path"])] = [int(body["status"]), body.get("body", {}), body.get("times")]
        return 200, {"ok": True}
    if method == "POST" and path == "/_stub/group":
        g = st.ensure_group(body["path"])
        g["marked"] = body.get("marked_for_deletion_on")
        return 200, st.group_json(g)
    if method == "POST" and path == "/_stub/project":
        p = st.add_project(
            body["path"],
            body.get("default_branch", "main"),
            body.get("branches", []),
            body.get("visibility", "private"),
            body.get("marked_for_deletion_at"),
        )
        return 200, st.project_json(p)
    if method == "POST" and path == "/_stub/user":
        return 200, st.add_user(body["username"], body.get("public_email", ""))
    if method == "POST" and path == "/_stub/member":
        user = next((u for u in st.users if u["username"] == body["username"]), None)
        if user is None:
            return 404, {"message": "no such user"}
        if body.get("group"):
            g = st.ensure_group(body["group"])
            st.group_members[(g["id"], user["id"])] = int(body["access_level"])
        else:
            p = st.find_project(body["project"])
            if p is None:
                return 404, {"message": "no such project"}
            st.members[(p["id"], user["id"])] = int(body["access_level"])
        return 200, {"ok": True}
    return 404, {"message": "no such control endpoint"}


def make_handler(st):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                body = {}
            if not isinstance(body, dict):
                body = {}
            split = urlsplit(self.path)
            with st.lock:
                if split.path.startswith("/_stub/"):
                    status, answer = control(st, self.command, split.path, body)
                    headers = {}
                else:
                    token_ok = self.headers.get("PRIVATE-TOKEN") == st.token
                    st.requests.append({"method": self.command, "path": self.path, "token_ok": token_ok, "body": raw.decode("utf-8", "replace")})
                    if not token_ok:
                        status, answer, headers = 401, {"message": "401 Unauthorized"}, {}
                    elif not split.path.startswith("/api/v4/"):
                        status, answer, headers = 404, {"message": "404 Not Found"}, {}
                    else:
                        query = dict(parse_qsl(split.query, keep_blank_values=True))
                        status, answer, headers = route(st, self.command, split.path[len("/api/v4") :], query, body)
                data = json.dumps(answer).encode()
            self.send_response(status, REASONS.get(status))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = handle_any

    return Handler


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--token", default="glpat-stub-token", help="the PRIVATE-TOKEN every API call must carry")
    ap.add_argument("--group", action="append", default=[], help="a group (full path) that exists from the start; repeatable")
    ap.add_argument("--user", action="append", default=[], help="USERNAME[:PUBLIC_EMAIL], a user that exists; repeatable")
    ap.add_argument("--http-base", default=None, help="http_url_to_repo becomes <URL>/<path_with_namespace>.git")
    args = ap.parse_args(argv)
    users = [(u.partition(":")[0], u.partition(":")[2]) for u in args.user]
    server = ThreadingHTTPServer((args.host, args.port), None)
    root = f"http://{args.host}:{server.server_address[1]}"
    st = State(args.token, args.group, users, (args.http_base or root).rstrip("/"))
    server.RequestHandlerClass = make_handler(st)
    print(f"{root}/api/v4", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
