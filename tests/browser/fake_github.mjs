// fake_github.mjs - GitHub's REST API for the pull requests of a browser test, on loopback.
//
// It answers exactly the calls flightdeck makes for a rollback PR (server/github.c):
//   GET  /repos/{o}/{r}/pulls/{n}                   the PR (state, merged, mergeable, head.sha)
//   GET  /repos/{o}/{r}/pulls/{n}/reviews           the reviews
//   GET  /repos/{o}/{r}/commits/{sha}/status        the combined commit status
//   GET  /repos/{o}/{r}/commits/{sha}/check-runs    the check runs
//   PUT  /repos/{o}/{r}/pulls/{n}/merge {sha, ...}  the merge (409 when sha is not the head)
// A test changes a PR's scenario (pr(...)) between steps: checks go red, the head moves.

import http from 'node:http';

export const TOKEN = 'test-token';

// A 40-hex SHA made from a short word, so tests can tell heads apart at a glance.
export function sha(word) {
  return Buffer.from(word).toString('hex').padEnd(40, '0').slice(0, 40);
}

export class FakeGitHub {
  constructor() {
    this.prs = new Map(); // "owner/repo#n" -> scenario
    this.calls = []; // {method, path, body}
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  // Listen on 127.0.0.1, any port. Resolves the base URL (FLIGHTDECK_GITHUB_API).
  start() {
    return new Promise((resolve) => {
      this.server.listen(0, '127.0.0.1', () => {
        this.url = `http://127.0.0.1:${this.server.address().port}`;
        resolve(this.url);
      });
    });
  }

  stop() {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  // Add (or change) the PR `number` of `repo`: a healthy, approved, green, open PR unless
  // `changes` says otherwise. Returns the scenario (edit it freely between steps).
  pr(repo, number, changes = {}) {
    const key = `${repo}#${number}`;
    let sc = this.prs.get(key);
    if (!sc) {
      sc = {
        title: `Revert the cutover (#${number})`,
        head: sha(`head-${number}`),
        open: true,
        merged: false,
        mergeable: true,
        mergeSha: sha(`merge-${number}`),
        reviews: [{ user: { login: 'carol' }, state: 'APPROVED' }],
        status: 'success',
        checks: 'success', // conclusion of the one check run, or 'pending'
        mergeDelayMs: 0, // a slow merge, so the progress on screen can be seen
      };
      this.prs.set(key, sc);
    }
    Object.assign(sc, changes);
    return sc;
  }

  merges(repo, number) {
    return this.calls.filter((c) => c.method === 'PUT' && c.path === `/repos/${repo}/pulls/${number}/merge`).length;
  }

  handle(req, res) {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const url = new URL(req.url, 'http://x');
      this.calls.push({ method: req.method, path: url.pathname, body });
      const [status, doc, delay] = this.answer(req, url.pathname, body);
      const text = JSON.stringify(doc);
      const send = () => {
        res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
      };
      if (delay) setTimeout(send, delay);
      else send();
    });
  }

  answer(req, path, body) {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return [401, { message: 'Bad credentials' }];
    let m = /^\/repos\/([^/]+\/[^/]+)\/pulls\/(\d+)(\/reviews|\/merge)?$/.exec(path);
    if (m) {
      const sc = this.prs.get(`${m[1]}#${m[2]}`);
      if (!sc) return [404, { message: 'Not Found' }];
      if (req.method === 'GET' && !m[3]) {
        return [200, {
          number: Number(m[2]),
          state: sc.open ? 'open' : 'closed',
          merged: sc.merged,
          mergeable: sc.open && !sc.merged ? sc.mergeable : null,
          mergeable_state: sc.mergeable ? 'clean' : 'dirty',
          title: sc.title,
          html_url: `https://github.com/${m[1]}/pull/${m[2]}`,
          head: { sha: sc.head },
          merge_commit_sha: sc.merged ? sc.mergeSha : null,
        }];
      }
      if (req.method === 'GET' && m[3] === '/reviews') return [200, sc.reviews];
      if (req.method === 'PUT' && m[3] === '/merge') {
        if (sc.merged || !sc.open || !sc.mergeable) return [405, { message: 'Pull Request is not mergeable' }];
        let asked = null;
        try {
          asked = JSON.parse(body).sha;
        } catch {
          return [400, { message: 'Problems parsing JSON' }];
        }
        if (asked !== sc.head) return [409, { message: 'Head branch was modified. Review and try the merge again.' }];
        sc.merged = true;
        sc.open = false;
        return [200, { sha: sc.mergeSha, merged: true, message: 'Pull Request successfully merged' }, sc.mergeDelayMs];
      }
    }
    m = /^\/repos\/([^/]+\/[^/]+)\/commits\/([0-9a-f]+)\/(status|check-runs)$/.exec(path);
    if (m && req.method === 'GET') {
      const sc = [...this.prs.entries()].find(([k, v]) => k.startsWith(`${m[1]}#`) && v.head === m[2]);
      if (!sc) return [404, { message: 'No commit found' }];
      const s = sc[1];
      if (m[3] === 'status') {
        return [200, {
          state: s.status,
          total_count: 1,
          statuses: [{ context: 'ci/build', state: s.status }],
        }];
      }
      const done = s.checks !== 'pending';
      return [200, {
        total_count: 1,
        check_runs: [{ name: 'tests', status: done ? 'completed' : 'in_progress', conclusion: done ? s.checks : null }],
      }];
    }
    return [404, { message: 'Not Found' }];
  }
}
