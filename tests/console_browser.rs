//! The console in a real browser: headless Chromium (Debian `chromium` and `chromium-driver`,
//! installed by `scripts/install-deps.sh --browser`) driven over WebDriver. A support lead logs
//! in, opens the inbox, opens the planted burst's flag, acknowledges it with a note, sees it move
//! and hands it to a team; the product view draws its charts and shows verbatims. Screenshots are saved in
//! `target/test-artifacts/`.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use time::OffsetDateTime;
use voc_tests::pipeline::Pipeline;

const WAIT: Duration = Duration::from_secs(120);

fn end() -> OffsetDateTime {
    time::macros::datetime!(2026-11-20 15:00 +09:00)
}

/// chromedriver on a free loopback port; killed when dropped.
struct Driver(Child, u16);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromedriver() -> Driver {
    let port = voc_tests::free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver runs (scripts/install-deps.sh --browser installs it)");
    Driver(child, port)
}

fn artifacts() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_acknowledges_the_burst_in_a_real_browser_and_the_product_view_draws() {
    let p = Pipeline::new(2);
    p.migrate();
    let w = p.spawn_worker("b");
    let total = p.produce(&voc_demo::corpus::generate(42, end(), 600, 40));
    p.wait_for("the corpus stored", WAIT, || p.stored() == total as u64);
    p.flagger_at(end());

    let port = voc_tests::free_port();
    let config = p.dir.join("console.toml");
    std::fs::write(
        &config,
        format!(
            "[console]\naddr = \"127.0.0.1:{port}\"\nusers_file = \"{}\"\n[teams.identity]\ntopics = [\"account_login\"]\n[teams.apps]\nproducts = [\"mobile-app\"]\n",
            p.dir.join("users.toml").display()
        ),
    )
    .expect("config");
    let config = config.to_str().expect("utf-8 path");
    let out = p.run(
        &["--config", config, "users", "add", "sato", "--role", "lead"],
        b"lead-password-123",
    );
    assert!(out.status.success());
    let mut console = p.spawn(&["--config", config, "serve"], "console");
    let base = format!("http://127.0.0.1:{port}");
    p.wait_for("the console answers", WAIT, || {
        ureq::get(&format!("{base}/health"))
            .call()
            .is_ok_and(|r| r.status() == 200)
    });

    let driver = chromedriver();
    let caps: serde_json::Map<String, serde_json::Value> = serde_json::from_value(serde_json::json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000", "--lang=ja"]
        }
    }))
    .expect("capabilities");
    let mut client = None;
    for _ in 0..50 {
        match ClientBuilder::native()
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{}", driver.1))
            .await
        {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let c = client.expect("a WebDriver session in headless Chromium");
    let shots = artifacts();

    // Log in.
    c.goto(&format!("{base}/flags")).await.expect("goto");
    c.wait()
        .for_element(Locator::Id("name"))
        .await
        .expect("the login page")
        .send_keys("sato")
        .await
        .expect("type");
    c.find(Locator::Id("password"))
        .await
        .expect("password field")
        .send_keys("lead-password-123")
        .await
        .expect("type");
    c.find(Locator::Id("login"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");

    // The inbox lists the burst; open it.
    c.wait()
        .for_element(Locator::Id("flags"))
        .await
        .expect("the inbox");
    std::fs::write(
        shots.join("console-inbox.png"),
        c.screenshot().await.expect("screenshot"),
    )
    .expect("save");
    let link = c
        .find(Locator::XPath(
            "//table[@id='flags']//tr[td[2]='spike']//a[contains(., 'account_login')]",
        ))
        .await
        .expect("the burst's row");
    link.click().await.expect("open the flag");
    c.wait()
        .for_element(Locator::Id("flag-title"))
        .await
        .expect("the flag page");
    c.wait()
        .for_element(Locator::Css("#flag-chart[data-drawn='true'] canvas"))
        .await
        .expect("the flag's counts are drawn");
    let samples = c
        .find(Locator::Id("samples"))
        .await
        .expect("samples")
        .text()
        .await
        .expect("text");
    assert!(
        samples.contains("認証コード") || samples.contains("SMS"),
        "{samples}"
    );
    assert!(
        !c.find_all(Locator::Css("#samples mark"))
            .await
            .expect("marks")
            .is_empty()
    );

    // Acknowledge with a note: the status moves and the history names who and why.
    c.find(Locator::Id("note"))
        .await
        .expect("note field")
        .send_keys("SMS業者に連絡済み")
        .await
        .expect("type");
    c.find(Locator::Id("ack"))
        .await
        .expect("ack button")
        .click()
        .await
        .expect("click");
    let mut status = String::new();
    for _ in 0..50 {
        if let Ok(e) = c.find(Locator::Id("flag-status")).await {
            status = e.text().await.unwrap_or_default();
            if status == "acknowledged" {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, "acknowledged");
    let history = c
        .find(Locator::Id("history"))
        .await
        .expect("history")
        .text()
        .await
        .expect("text");
    assert!(
        history.contains("sato") && history.contains("SMS業者に連絡済み"),
        "{history}"
    );
    // Hand it to the app team: the flag says whose it is now.
    c.find(Locator::Css("#team option[value='apps']"))
        .await
        .expect("the apps team in the list")
        .click()
        .await
        .expect("choose");
    c.find(Locator::Id("assign"))
        .await
        .expect("assign button")
        .click()
        .await
        .expect("click");
    let mut team = String::new();
    for _ in 0..50 {
        if let Ok(e) = c.find(Locator::Id("flag-team")).await {
            team = e.text().await.unwrap_or_default();
            if team == "apps" {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(team, "apps");
    std::fs::write(
        shots.join("console-flag.png"),
        c.screenshot().await.expect("screenshot"),
    )
    .expect("save");

    // The product view: the chart is drawn (a canvas) and verbatims are listed.
    c.goto(&format!(
        "{base}/product?product=mobile-app&days=7&to=2026-11-20"
    ))
    .await
    .expect("goto");
    c.wait()
        .for_element(Locator::Css("#chart[data-drawn='true'] canvas"))
        .await
        .expect("the chart is drawn");
    let verbatims = c
        .find_all(Locator::Css("#verbatims li"))
        .await
        .expect("verbatims");
    assert!(!verbatims.is_empty());
    std::fs::write(
        shots.join("console-product.png"),
        c.screenshot().await.expect("screenshot"),
    )
    .expect("save");

    c.close().await.expect("close the browser");
    drop(driver);
    let _ = console.kill();
    let _ = console.wait();
    assert!(w.terminate().success());
}
