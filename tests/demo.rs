//! `voc demo` as a newcomer runs it: it starts its own ClickHouse and broker, runs the sample
//! through the pipeline, and its summary shows the planted emerging problem as flags; it stops what
//! it started, and a second run works too.

use voc_tests::run_voc;

#[test]
fn the_demo_finds_the_planted_problem_and_can_run_twice() {
    let dir = std::env::temp_dir().join(format!("voc-demo-test-{}", std::process::id()));
    let dir_arg = dir.to_str().expect("utf-8 path");
    for run in 1..=2 {
        let out = run_voc(&["demo", "--dir", dir_arg], b"", &[("VOC_LOG", "info")]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // A clean run ends cleanly: no error or warning from the clients it closed, no colour
        // codes in a pipe.
        for noise in ["ERROR", "WARN", "\u{1b}["] {
            assert!(!stderr.contains(noise), "run {run}: {noise:?} in\n{stderr}");
        }
        assert!(
            out.status.success(),
            "run {run}: {}\n{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("Volume by topic"), "run {run}: {stdout}");
        assert!(
            stdout.contains("急増: アカウント・ログイン (account_login)"),
            "run {run}: the burst is a spike\n{stdout}"
        );
        let spike = stdout
            .lines()
            .find(|l| l.contains("急増: アカウント・ログイン"))
            .unwrap_or("");
        assert!(
            spike.contains("主な語") && spike.contains("認証コード"),
            "run {run}: one flag for the burst, naming its terms\n{stdout}"
        );
        // The owning team was told, with a masked sentence and a link to the flag in the console.
        let told = stdout
            .lines()
            .find(|l| l.contains("→ app-team: [voc] 急増: アカウント・ログイン"))
            .unwrap_or_else(|| panic!("run {run}: the burst went to its team\n{stdout}"));
        let after_told: Vec<&str> = stdout
            .lines()
            .skip_while(|l| !l.contains("→ app-team: [voc] 急増"))
            .collect();
        assert!(
            after_told
                .get(1)
                .is_some_and(|l| l.trim_start().starts_with("> ")),
            "run {run}: a sample sentence follows\n{stdout}"
        );
        let flag_id = told
            .rsplit_once('(')
            .map(|(_, id)| id.trim_end_matches(')'))
            .unwrap_or("");
        assert!(
            flag_id.starts_with("spike-") && stdout.contains(&format!("/flags/{flag_id}")),
            "run {run}: {told}"
        );
        let kept = std::fs::read_to_string(dir.join("team-webhooks.jsonl")).unwrap_or_default();
        assert!(
            kept.lines().any(|l| {
                serde_json::from_str::<serde_json::Value>(l).is_ok_and(|v| {
                    v["team"] == "app-team" && v["message"]["flag"]["flag_id"] == flag_id
                })
            }),
            "run {run}: the webhook's messages are kept\n{kept}"
        );
        assert!(
            stdout.contains("3 malformed messages in the dead-letter topic")
                && stdout.contains("invalid_json ×1"),
            "run {run}: the dead letters with their reasons\n{stdout}"
        );
        assert!(
            dir.join("clickhouse").join("data").is_dir(),
            "data kept where the user can see it"
        );
        let url = stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("ClickHouse URL:"))
            .map(|s| s.split_whitespace().next().unwrap_or("").to_string());
        let url = url.expect("the summary names the ClickHouse URL");
        assert!(
            ureq::get(&format!("{url}/ping")).call().is_err(),
            "the demo stopped the ClickHouse it started"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
