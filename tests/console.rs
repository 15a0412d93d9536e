//! The web console (`voc serve`) end to end against the real ClickHouse and broker the suite
//! starts, over HTTP: nobody gets in without an account; a lead finds the planted burst, reads its
//! masked samples and acknowledges it (which `voc flags list` then shows, with the history); a
//! viewer may not act; forged forms, bad filters and unknown flags get clear 4xx pages; text from
//! the database is escaped; failed logins are rate limited; the product view renders its data.

use std::time::Duration;

use time::OffsetDateTime;
use voc_tests::pipeline::Pipeline;

const WAIT: Duration = Duration::from_secs(120);

fn end() -> OffsetDateTime {
    time::macros::datetime!(2026-11-20 15:00 +09:00)
}

/// A plain HTTP client that does not follow redirects, so cookies and statuses can be seen.
struct Http {
    base: String,
    agent: ureq::Agent,
}

struct Reply {
    status: u16,
    location: String,
    cookie: Option<String>,
    body: String,
}

impl Http {
    fn new(base: String) -> Self {
        let agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Self { base, agent }
    }

    fn reply(r: ureq::http::Response<ureq::Body>) -> Reply {
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let location = header("location");
        let cookie = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("voc_session="))
            .map(|c| c.split(';').next().unwrap_or("").to_string());
        let status = r.status().as_u16();
        let body = r.into_body().read_to_string().unwrap_or_default();
        Reply {
            status,
            location,
            cookie,
            body,
        }
    }

    fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut req = self.agent.get(&format!("{}{path}", self.base));
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        Self::reply(req.call().expect("GET answers"))
    }

    fn post_form(&self, path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Reply {
        let mut req = self.agent.post(&format!("{}{path}", self.base));
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        Self::reply(req.send_form(form.iter().copied()).expect("POST answers"))
    }

    fn login(&self, name: &str, password: &str) -> String {
        let r = self.post_form("/login", None, &[("name", name), ("password", password)]);
        assert_eq!(r.status, 303, "{name} logs in: {}", r.body);
        r.cookie.expect("a session cookie")
    }
}

fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a form token") + 19;
    page[at..at + 64].to_string()
}

fn add_user(p: &Pipeline, config: &str, name: &str, role: &str, password: &str) {
    let out = p.run(
        &["--config", config, "users", "add", name, "--role", role],
        password.as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_logs_in_finds_the_burst_reads_masked_samples_and_acknowledges_it() {
    let p = Pipeline::new(2);
    p.migrate();
    let w = p.spawn_worker("c");
    let mut corpus = voc_demo::corpus::generate(42, end(), 600, 40);
    // An escalation whose text tries to inject a script.
    corpus.push(serde_json::json!({
        "interaction_id": "xss-1",
        "occurred_at": "2026-11-20T14:30:00+09:00",
        "channel": "form",
        "product": "mobile-app",
        "text": "責任者を出してください。<script>alert(1)</script>消費者センターに相談します。"
    }));
    let total = p.produce(&corpus);
    p.wait_for("the corpus stored", WAIT, || p.stored() == total as u64);

    // The flagger routes new flags to the owning team's webhook, with a link to the console.
    let port = voc_tests::free_port();
    let (hook, received) = voc_tests::webhook_sink();
    let routing = p.dir.join("routing.toml");
    std::fs::write(
        &routing,
        format!(
            "[flags]\nconsole_url = \"http://127.0.0.1:{port}\"\n[teams.identity]\ntopics = [\"account_login\"]\nwebhook_url = \"{hook}\"\n"
        ),
    )
    .expect("routing config");
    p.flagger_with_config(&routing, end());
    let bodies: Vec<serde_json::Value> = received
        .lock()
        .expect("lock")
        .iter()
        .map(|b| serde_json::from_str(b).expect("JSON body"))
        .collect();
    assert!(!bodies.is_empty(), "the team got its flags");
    for b in &bodies {
        assert_eq!(b["team"], "identity");
        let topic_of_key = b["flag"]["key"]
            .as_str()
            .unwrap_or("")
            .split('/')
            .next()
            .unwrap_or("")
            .to_string();
        assert!(
            topic_of_key == "account_login" || b["flag"]["kind"] == "repeat_contact",
            "{b}"
        );
    }
    let burst_message = bodies
        .iter()
        .find(|b| b["flag"]["key"] == "account_login")
        .expect("the burst went to its team");
    let text = burst_message["text"].as_str().unwrap_or("");
    let burst_id = burst_message["flag"]["flag_id"].as_str().unwrap_or("");
    assert!(text.contains(burst_id), "{text}");
    assert!(
        text.contains(&format!("/flags/{burst_id}")),
        "a link to the console: {text}"
    );
    assert!(text.contains("\n> "), "a masked sample sentence: {text}");

    let config = p.dir.join("console.toml");
    let users = p.dir.join("users.toml");
    std::fs::write(
        &config,
        format!(
            "[console]\naddr = \"127.0.0.1:{port}\"\nusers_file = \"{}\"\n[teams.identity]\ntopics = [\"account_login\"]\n",
            users.display()
        ),
    )
    .expect("config");
    let config = config.to_str().expect("utf-8 path");
    add_user(&p, config, "sato", "lead", "lead-password-123");
    add_user(&p, config, "kato", "viewer", "viewer-password-123");
    assert!(
        !std::fs::read_to_string(&users)
            .expect("users file")
            .contains("lead-password-123"),
        "only hashes are written"
    );
    let mut console = p.spawn(&["--config", config, "serve"], "console");
    let http = Http::new(format!("http://127.0.0.1:{port}"));
    p.wait_for("the console answers", WAIT, || {
        http.agent
            .get(&format!("{}/health", http.base))
            .call()
            .is_ok_and(|r| r.status() == 200)
    });

    // Nobody gets in without an account.
    assert_eq!(http.get("/api/flags", None).status, 401);
    let page = http.get("/flags", None);
    assert_eq!((page.status, page.location.as_str()), (303, "/login"));
    let wrong = http.post_form(
        "/login",
        None,
        &[("name", "sato"), ("password", "nope-nope-nope")],
    );
    assert_eq!(wrong.status, 401);
    assert!(wrong.cookie.is_none());

    // The lead finds the burst and reads why and who said what, masked.
    let lead = http.login("sato", "lead-password-123");
    let inbox = http.get("/flags", Some(&lead));
    assert_eq!(inbox.status, 200);
    assert!(inbox.body.contains("account_login"), "the burst is listed");
    let flags: Vec<serde_json::Value> =
        serde_json::from_str(&http.get("/api/flags", Some(&lead)).body).expect("JSON");
    let burst = flags
        .iter()
        .find(|f| f["kind"] == "spike" && f["key"] == "account_login")
        .expect("the burst's flag");
    let id = burst["flag_id"].as_str().expect("id").to_string();
    let story = http.get(&format!("/flags/{id}"), Some(&lead));
    assert_eq!(story.status, 200);
    assert!(story.body.contains("認証コード") || story.body.contains("SMS"));
    assert!(story.body.contains("<mark"), "evidence is highlighted");
    assert!(!story.body.contains("090-1234-5678") && !story.body.contains("@example.jp"));

    // The inbox by owning team.
    let team: Vec<serde_json::Value> = serde_json::from_str(
        &http
            .get("/api/flags?team=identity&status=all", Some(&lead))
            .body,
    )
    .expect("JSON");
    assert!(!team.is_empty());
    assert!(
        team.iter()
            .all(|f| f["key"].as_str().unwrap_or("").contains("account_login")),
        "{team:?}"
    );
    assert_eq!(http.get("/flags?team=nobody", Some(&lead)).status, 400);

    // Forged or missing tokens are refused; so is a viewer's action.
    let csrf = csrf_of(&story.body);
    let forged = http.post_form(
        &format!("/flags/{id}/action"),
        Some(&lead),
        &[("csrf", "0".repeat(64).as_str()), ("action", "ack")],
    );
    assert_eq!(forged.status, 403);
    let viewer = http.login("kato", "viewer-password-123");
    let viewer_csrf = csrf_of(&http.get(&format!("/flags/{id}"), Some(&viewer)).body);
    let denied = http.post_form(
        &format!("/flags/{id}/action"),
        Some(&viewer),
        &[("csrf", viewer_csrf.as_str()), ("action", "ack")],
    );
    assert_eq!(denied.status, 403);

    // The lead acknowledges with a note: `voc flags list` and the history show it.
    let acked = http.post_form(
        &format!("/flags/{id}/action"),
        Some(&lead),
        &[
            ("csrf", csrf.as_str()),
            ("action", "ack"),
            ("note", "SMS業者に連絡済み"),
        ],
    );
    assert_eq!(acked.status, 303, "{}", acked.body);
    let listed = p.json_lines(&["flags", "list", "--json"]);
    let flag = listed
        .iter()
        .find(|f| f["flag_id"] == id.as_str())
        .expect("listed");
    assert_eq!(flag["status"], "acknowledged");
    assert_eq!(flag["acked_by"], "sato");
    assert_eq!(flag["note"], "SMS業者に連絡済み");
    let after = http.get(&format!("/flags/{id}"), Some(&lead)).body;
    assert!(after.contains("id=\"history\"") && after.contains("SMS業者に連絡済み"));

    // Resolved flags are reopened, not acknowledged.
    let resolve = http.post_form(
        &format!("/flags/{id}/action"),
        Some(&lead),
        &[("csrf", csrf.as_str()), ("action", "resolve")],
    );
    assert_eq!(resolve.status, 303);
    let again = http.post_form(
        &format!("/flags/{id}/action"),
        Some(&lead),
        &[("csrf", csrf.as_str()), ("action", "ack")],
    );
    assert_eq!(again.status, 409);

    // The same story and rules on the command line: a unique prefix, evidence in 【】, a resolved
    // flag acknowledged only with --reopen, and the team's flags by `--team`.
    let prefix = &id[..id.find('-').expect("kind-hash") + 5];
    let show = p.run(&["flags", "show", prefix], b"");
    let shown = String::from_utf8_lossy(&show.stdout);
    assert!(
        show.status.success(),
        "{}",
        String::from_utf8_lossy(&show.stderr)
    );
    assert!(
        shown.contains(&id) && shown.contains('【') && shown.contains("sato"),
        "{shown}"
    );
    let refused = p.run(&["flags", "ack", &id], b"");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--reopen"));
    let routing_arg = routing.to_str().expect("path");
    let team = p.json_lines(&[
        "--config",
        routing_arg,
        "flags",
        "list",
        "--json",
        "--status",
        "all",
        "--team",
        "identity",
    ]);
    assert!(
        !team.is_empty()
            && team
                .iter()
                .all(|f| f["key"].as_str().unwrap_or("").contains("account_login")),
        "{team:?}"
    );
    let open_only = p.json_lines(&["flags", "list", "--json"]);
    assert!(
        open_only.iter().all(|f| f["status"] != "resolved"),
        "resolved flags are listed only on request"
    );
    let reopened = p.run(&["flags", "ack", &id, "--reopen", "--by", "sato"], b"");
    assert!(
        reopened.status.success(),
        "{}",
        String::from_utf8_lossy(&reopened.stderr)
    );
    let resolve_again = http.post_form(
        &format!("/flags/{id}/action"),
        Some(&lead),
        &[("csrf", csrf.as_str()), ("action", "resolve")],
    );
    assert_eq!(resolve_again.status, 303);

    // Database text is escaped.
    let escalation = flags
        .iter()
        .find(|f| f["kind"] == "escalation" && f["key"] == "xss-1")
        .expect("the escalation");
    let page = http.get(
        &format!("/flags/{}", escalation["flag_id"].as_str().unwrap_or("")),
        Some(&lead),
    );
    assert!(
        page.body.contains("&lt;script&gt;alert(1)"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>alert"));

    // Bad input: clear 4xx pages.
    let unknown = http.get("/flags/no-such-flag", Some(&lead));
    assert_eq!(unknown.status, 404);
    let bad = http.get("/flags?kind=bogus", Some(&lead));
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("bogus") && !bad.body.contains("panicked"));
    assert_eq!(http.get("/product?days=abc", Some(&lead)).status, 400);

    // The product view and its export.
    let product = http.get(
        "/product?product=mobile-app&days=7&to=2026-11-20",
        Some(&lead),
    );
    assert_eq!(product.status, 200);
    assert!(
        product.body.contains("data-chart=\"chart\">{\"days\""),
        "chart data as raw JSON"
    );
    assert!(product.body.contains("id=\"verbatims\""));
    let csv = http.get(
        "/product.csv?product=mobile-app&days=7&to=2026-11-20",
        Some(&lead),
    );
    assert_eq!(csv.status, 200);
    assert!(csv.body.starts_with("product,days,topic,"));
    assert!(csv.body.lines().count() > 2, "{}", csv.body);

    // API errors are JSON; a CSV never carries a formula.
    let missing = http.get("/api/flags/no-such-flag", Some(&lead));
    assert_eq!(missing.status, 404);
    assert!(
        serde_json::from_str::<serde_json::Value>(&missing.body)
            .is_ok_and(|v| v["error"].is_string())
    );
    let formula = http.get(
        "/product.csv?product=%3DHYPERLINK(1)&days=7&to=2026-11-20",
        Some(&lead),
    );
    assert!(
        !formula.body.contains(",\"=HYPERLINK") && !formula.body.starts_with("\"="),
        "{}",
        formula.body
    );

    // A form posted from another site is refused, the login form included.
    let req = http
        .agent
        .post(&format!("{}/login", http.base))
        .header("Origin", "http://evil.example");
    let cross = Http::reply(
        req.send_form([("name", "sato"), ("password", "lead-password-123")])
            .expect("POST answers"),
    );
    assert_eq!(cross.status, 403);
    assert!(cross.cookie.is_none());

    // Roles are read at every request: a lead demoted to viewer can no longer act.
    add_user(&p, config, "sato", "viewer", "lead-password-123");
    let demoted = http.post_form(
        &format!("/flags/{id}/action"),
        Some(&lead),
        &[("csrf", csrf.as_str()), ("action", "reopen")],
    );
    assert_eq!(demoted.status, 403);

    // Failed logins are rate limited.
    for _ in 0..5 {
        http.post_form(
            "/login",
            None,
            &[("name", "kato"), ("password", "wrong-password")],
        );
    }
    let limited = http.post_form(
        "/login",
        None,
        &[("name", "kato"), ("password", "viewer-password-123")],
    );
    assert_eq!(limited.status, 429);
    let metrics = http.get("/metrics", None).body;
    assert!(metrics.contains("voc_console_failed_logins_total"));

    let _ = console.kill();
    let _ = console.wait();
    assert!(w.terminate().success());
}
