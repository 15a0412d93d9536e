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
    // And one in a chat, so the inbox's channel filter has a flag to leave out whatever the
    // corpus's flags sample.
    corpus.push(serde_json::json!({
        "interaction_id": "chat-esc-1",
        "occurred_at": "2026-11-20T14:40:00+09:00",
        "channel": "chat",
        "product": "mobile-app",
        "text": "二重請求の件、何度問い合わせても直らないので責任者と話させてください。"
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
            "[flags]\nconsole_url = \"http://127.0.0.1:{port}\"\n[teams.identity]\ntopics = [\"account_login\"]\nwebhook_url = \"{hook}\"\nkafka_topic = \"identity-flags\"\n"
        ),
    )
    .expect("routing config");
    p.kafka.create_topic("identity-flags", 1);
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
    // The team's own Kafka topic carries the same flags.
    let records = p
        .kafka
        .read_all("identity-flags", bodies.len(), Duration::from_secs(30));
    let mut on_kafka: Vec<String> = records
        .iter()
        .map(|r| {
            let v: serde_json::Value = serde_json::from_slice(&r.payload).expect("JSON record");
            assert_eq!(v["team"], "identity", "{v}");
            v["flag"]["flag_id"].as_str().unwrap_or("").to_string()
        })
        .collect();
    let mut on_webhook: Vec<String> = bodies
        .iter()
        .map(|b| b["flag"]["flag_id"].as_str().unwrap_or("").to_string())
        .collect();
    on_kafka.sort();
    on_webhook.sort();
    assert_eq!(
        on_kafka, on_webhook,
        "the team's topic got what its webhook got"
    );

    let config = p.dir.join("console.toml");
    let users = p.dir.join("users.toml");
    let (apps_hook, apps_received) = voc_tests::webhook_sink();
    std::fs::write(
        &config,
        format!(
            "[console]\naddr = \"127.0.0.1:{port}\"\nusers_file = \"{}\"\n[teams.identity]\ntopics = [\"account_login\"]\n[teams.apps]\nproducts = [\"smart-speaker\"]\nwebhook_url = \"{apps_hook}\"\n",
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

    // The inbox by channel: flags with a sample voice from that channel.
    let all: Vec<serde_json::Value> =
        serde_json::from_str(&http.get("/api/flags?status=all", Some(&lead)).body).expect("JSON");
    let by_form: Vec<serde_json::Value> = serde_json::from_str(
        &http
            .get("/api/flags?status=all&channel=form", Some(&lead))
            .body,
    )
    .expect("JSON");
    assert!(
        by_form.iter().any(|f| f["key"] == "xss-1"),
        "the escalation written in a form"
    );
    assert!(
        by_form.iter().all(|f| f["channels"]
            .as_array()
            .is_some_and(|c| c.iter().any(|x| x == "form"))),
        "{by_form:?}"
    );
    assert!(
        all.iter().any(|f| f["key"] == "chat-esc-1")
            && !by_form.iter().any(|f| f["key"] == "chat-esc-1"),
        "the filter leaves out the escalation written in a chat: {by_form:?}"
    );
    assert_eq!(http.get("/flags?channel=fax", Some(&lead)).status, 400);

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

    // The lead hands the burst to the app team, which is told on its webhook; the inbox, the
    // command line and the history follow.
    let to_nobody = http.post_form(
        &format!("/flags/{id}/action"),
        Some(&lead),
        &[
            ("csrf", csrf.as_str()),
            ("action", "assign"),
            ("team", "nobody"),
        ],
    );
    assert_eq!(to_nobody.status, 400);
    let assigned = http.post_form(
        &format!("/flags/{id}/action"),
        Some(&lead),
        &[
            ("csrf", csrf.as_str()),
            ("action", "assign"),
            ("team", "apps"),
            ("note", "アプリの不具合の可能性"),
        ],
    );
    assert_eq!(assigned.status, 303, "{}", assigned.body);
    // Told after the page answered (delivery must not hold the lead's click).
    p.wait_for("the apps team is told", WAIT, || {
        !apps_received.lock().expect("lock").is_empty()
    });
    let told: Vec<serde_json::Value> = apps_received
        .lock()
        .expect("lock")
        .iter()
        .map(|b| serde_json::from_str(b).expect("JSON body"))
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["team"], "apps");
    assert_eq!(told[0]["flag"]["flag_id"], id.as_str());
    let told_text = told[0]["text"].as_str().unwrap_or("");
    assert!(
        told_text.contains("→ apps") && told_text.contains("sato"),
        "{told_text}"
    );
    let listed = p.json_lines(&["flags", "list", "--json"]);
    let flag = listed
        .iter()
        .find(|f| f["flag_id"] == id.as_str())
        .expect("listed");
    assert_eq!(flag["team"], "apps");
    let of_team = |team: &str| -> Vec<String> {
        let v: Vec<serde_json::Value> = serde_json::from_str(
            &http
                .get(&format!("/api/flags?team={team}"), Some(&lead))
                .body,
        )
        .expect("JSON");
        v.iter()
            .map(|f| f["flag_id"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert!(of_team("apps").contains(&id) && !of_team("identity").contains(&id));
    let history = http.get(&format!("/flags/{id}"), Some(&lead)).body;
    assert!(history.contains("→ apps"), "the history says to whom");
    // And back from the command line, which tells the identity team.
    let before = received.lock().expect("lock").len();
    let routing_arg = routing.to_str().expect("path");
    let back = p.run(
        &[
            "--config",
            routing_arg,
            "flags",
            "assign",
            &id,
            "identity",
            "--by",
            "sato",
        ],
        b"",
    );
    assert!(
        back.status.success(),
        "{}",
        String::from_utf8_lossy(&back.stderr)
    );
    let identity_told = received.lock().expect("lock")[before..].to_vec();
    assert!(
        identity_told
            .iter()
            .any(|b| b.contains("→ identity") && b.contains(&id)),
        "{identity_told:?}"
    );
    assert!(of_team("identity").contains(&id));

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

    // Experience over time: every interaction of the period counted on its local day, CSAT empty
    // on days nobody answered; the page draws it and the daily CSV carries it.
    assert!(product.body.contains("data-chart=\"csat-chart\">{\"days\""));
    let api: serde_json::Value = serde_json::from_str(
        &http
            .get(
                "/api/product?product=mobile-app&days=7&to=2026-11-20",
                Some(&lead),
            )
            .body,
    )
    .expect("JSON");
    let days = api["experience_days"].as_array().expect("days");
    let until = time::macros::datetime!(2026-11-21 00:00 +09:00).unix_timestamp();
    let direct: u64 =
        p.ch.q(&format!(
            "SELECT count() FROM {}.interactions FINAL WHERE product = 'mobile-app' \
             AND occurred_at >= toDateTime({}) AND occurred_at < toDateTime({until})",
            p.db,
            until - 7 * 86_400
        ))
        .trim()
        .parse()
        .expect("a count");
    let total: u64 = days.iter().filter_map(|d| d["interactions"].as_u64()).sum();
    assert_eq!(total, direct);
    // Days are Tokyo calendar days: the burst's day counted on its own.
    let last_day: u64 =
        p.ch.q(&format!(
            "SELECT count() FROM {}.interactions FINAL WHERE product = 'mobile-app' \
             AND occurred_at >= toDateTime({}) AND occurred_at < toDateTime({until})",
            p.db,
            until - 86_400
        ))
        .trim()
        .parse()
        .expect("a count");
    let reported = days
        .iter()
        .find(|d| d["day"] == "2026-11-20")
        .and_then(|d| d["interactions"].as_u64());
    assert_eq!(reported, Some(last_day));
    for d in days {
        let answered = d["csat_responses"].as_u64().unwrap_or(0);
        let avg = d["avg_csat"].as_f64();
        assert!(
            (answered == 0) == avg.is_none() && avg.is_none_or(|a| (1.0..=5.0).contains(&a)),
            "{d}"
        );
    }
    // Experience by topic (closed days' sums and open days' interactions): as the collapsed
    // interactions of the period say. Averages to 3 decimals on both sides; `\N` where nobody
    // answered.
    let three_places = |x: Option<f64>| {
        x.filter(|x| x.is_finite())
            .map_or_else(|| "\\N".to_string(), |x| format!("{x:.3}"))
    };
    let mut by_topic: Vec<String> = api["topics"]
        .as_array()
        .expect("topics")
        .iter()
        .map(|t| {
            let rounded = |v: &serde_json::Value| three_places(v.as_f64());
            format!(
                "{}\t{}\t{}\t{}\t{}\t{}",
                t["topic"].as_str().unwrap_or("?"),
                t["interactions"],
                t["csat_responses"],
                rounded(&t["avg_csat"]),
                t["resolution_known"],
                rounded(&t["resolution_rate"])
            )
        })
        .collect();
    by_topic.sort();
    let direct = p.ch.q(&format!(
        "SELECT topic, count(), countIf(isNotNull(csat)), \
         avgIf(toFloat64(assumeNotNull(csat)), isNotNull(csat)), countIf(isNotNull(resolved)), \
         countIf(ifNull(resolved, 0) = 1) / countIf(isNotNull(resolved)) \
         FROM {}.interactions FINAL ARRAY JOIN if(empty(topics), ['(none)'], topics) AS topic \
         WHERE product = 'mobile-app' AND occurred_at >= toDateTime({}) AND occurred_at < toDateTime({until}) \
         GROUP BY topic ORDER BY topic",
        p.db,
        until - 7 * 86_400
    ));
    let direct: Vec<String> = direct
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let avg = |i: usize| three_places(f[i].parse().ok());
            format!(
                "{}\t{}\t{}\t{}\t{}\t{}",
                f[0],
                f[1],
                f[2],
                avg(3),
                f[4],
                avg(5)
            )
        })
        .collect();
    assert!(!by_topic.is_empty());
    assert_eq!(by_topic, direct);
    let daily = http.get(
        "/product.csv?table=days&product=mobile-app&days=7&to=2026-11-20",
        Some(&lead),
    );
    assert!(
        daily.body.starts_with("product,days,topic,day,"),
        "{}",
        daily.body
    );
    assert_eq!(daily.body.lines().count(), days.len() + 1);
    assert_eq!(
        http.get("/product.csv?table=weeks", Some(&lead)).status,
        400
    );

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

    // Single sign-on: a console behind a reverse proxy believes the proxy's user header from the
    // proxy's address only; roles come from the users file, or the default for unlisted people.
    add_user(&p, config, "yamada", "lead", "yamada-password-123");
    add_user(&p, config, "ito", "lead", "ito-password-1234");
    let sso_port = voc_tests::free_port();
    let sso_config = p.dir.join("sso.toml");
    std::fs::write(
        &sso_config,
        format!(
            "[console]\naddr = \"127.0.0.1:{sso_port}\"\nusers_file = \"{}\"\nauth = \"proxy\"\nproxy_trusted = [\"127.0.0.1\"]\nproxy_default_role = \"viewer\"\n",
            users.display()
        ),
    )
    .expect("sso config");
    let mut sso = p.spawn(
        &["--config", sso_config.to_str().expect("path"), "serve"],
        "sso-console",
    );
    let base = format!("http://127.0.0.1:{sso_port}");
    p.wait_for("the SSO console answers", WAIT, || {
        http.agent
            .get(&format!("{base}/health"))
            .call()
            .is_ok_and(|r| r.status() == 200)
    });
    let as_user = |method: &str,
                   path: &str,
                   user: Option<&str>,
                   cookie: Option<&str>,
                   form: &[(&str, &str)]| {
        let url = format!("{base}{path}");
        let reply = if method == "GET" {
            let mut req = http.agent.get(&url);
            if let Some(u) = user {
                req = req.header("X-Forwarded-User", u);
            }
            if let Some(c) = cookie {
                req = req.header("Cookie", c);
            }
            req.call()
        } else {
            let mut req = http.agent.post(&url);
            if let Some(u) = user {
                req = req.header("X-Forwarded-User", u);
            }
            if let Some(c) = cookie {
                req = req.header("Cookie", c);
            }
            req.send_form(form.iter().copied())
        };
        Http::reply(reply.expect("answers"))
    };
    assert_eq!(as_user("GET", "/api/flags", None, None, &[]).status, 401);
    let page = as_user("GET", "/flags", Some("yamada"), None, &[]);
    assert_eq!(page.status, 200, "signed in by the proxy");
    let sso_cookie = page.cookie.clone().expect("a cookie for the form token");
    let sso_csrf = csrf_of(&page.body);
    let action = format!("/flags/{id}/action");
    let forged = as_user(
        "POST",
        &action,
        Some("yamada"),
        Some(&sso_cookie),
        &[("csrf", "0".repeat(64).as_str()), ("action", "reopen")],
    );
    assert_eq!(forged.status, 403, "CSRF still guards actions");
    let stolen = as_user(
        "POST",
        &action,
        Some("ito"),
        Some(&sso_cookie),
        &[("csrf", sso_csrf.as_str()), ("action", "reopen")],
    );
    assert_eq!(
        stolen.status, 403,
        "yamada's cookie and token under another lead's header"
    );
    let stranger = as_user("GET", "/flags", Some("suzuki"), None, &[]);
    assert_eq!(stranger.status, 200, "unlisted people get the default role");
    let stranger_acts = as_user(
        "POST",
        &action,
        Some("suzuki"),
        stranger.cookie.as_deref(),
        &[
            ("csrf", csrf_of(&stranger.body).as_str()),
            ("action", "reopen"),
        ],
    );
    assert_eq!(stranger_acts.status, 403, "a viewer may not act");
    let reopened = as_user(
        "POST",
        &action,
        Some("yamada"),
        Some(&sso_cookie),
        &[("csrf", sso_csrf.as_str()), ("action", "reopen")],
    );
    assert_eq!(reopened.status, 303, "{}", reopened.body);
    let listed = p.json_lines(&["flags", "list", "--json"]);
    let flag = listed
        .iter()
        .find(|f| f["flag_id"] == id.as_str())
        .expect("listed");
    assert_eq!(
        (flag["status"].as_str(), flag["acked_by"].as_str()),
        (Some("open"), Some("yamada"))
    );
    assert_eq!(
        as_user(
            "POST",
            "/login",
            None,
            None,
            &[("name", "yamada"), ("password", "yamada-password-123")]
        )
        .status,
        403,
        "no passwords behind the proxy"
    );
    // The same header from anywhere but the proxy signs nobody in.
    assert_eq!(
        get_from([127, 0, 0, 2], sso_port, "/api/flags", "yamada").await,
        401
    );
    let _ = sso.kill();
    let _ = sso.wait();
    assert!(w.terminate().success());
}

/// The status of a GET sent from a chosen loopback address (127.0.0.0/8 is all loopback on Linux)
/// with a sign-on header, as a client that is not the proxy would send it.
async fn get_from(from: [u8; 4], port: u16, path: &str, user: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(std::net::SocketAddr::from((from, 0)))
        .expect("bind a loopback address");
    let mut stream = socket
        .connect(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .expect("connect");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Forwarded-User: {user}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply).await;
    reply
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}
