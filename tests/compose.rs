//! The production docker-compose cannot run here (no Docker engine), so it is checked against what
//! voc expects: every service present with a pinned image, healthchecks and `depends_on`
//! conditions; every voc command a real subcommand; every voc environment variable one that voc
//! reads (its effective settings, from `voc config`, reflect the compose values); ports consistent
//! with healthchecks and the Grafana datasource; dashboards reading through the read-only user.

use std::collections::BTreeMap;

use serde_yaml::Value;
use voc_tests::run_voc;

fn compose() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docker-compose.yml"
    ))
    .expect("docker-compose.yml");
    let mut v: Value = serde_yaml::from_str(&text).expect("docker-compose.yml is YAML");
    v.apply_merge().expect("merge keys resolve");
    v
}

fn service<'a>(c: &'a Value, name: &str) -> &'a Value {
    c["services"]
        .get(name)
        .unwrap_or_else(|| panic!("service {name} missing"))
}

/// `${VAR:?msg}` → a stand-in value, as compose would with a filled-in .env.
fn interpolate(s: &str) -> String {
    let mut out = s.to_string();
    while let Some(i) = out.find("${") {
        let j = out[i..].find('}').map(|j| i + j).expect("closing brace");
        out.replace_range(i..=j, "dummy-secret");
    }
    out
}

fn env_of(svc: &Value) -> BTreeMap<String, String> {
    svc["environment"]
        .as_mapping()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    Some((
                        k.as_str()?.to_string(),
                        interpolate(
                            v.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| {
                                    v.as_i64().map(|n| n.to_string()).unwrap_or_default()
                                })
                                .as_str(),
                        ),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_service_is_there_pinned_and_healthchecked() {
    let c = compose();
    for name in [
        "kafka",
        "kafka-init",
        "clickhouse",
        "grafana",
        "voc-migrate",
        "voc-worker",
        "voc-flagger",
        "voc-console",
    ] {
        let svc = service(&c, name);
        let image = svc["image"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: image"));
        assert!(
            image.contains(':') && !image.ends_with(":latest"),
            "{name}: pin the image ({image})"
        );
    }
    for name in [
        "kafka",
        "clickhouse",
        "grafana",
        "voc-worker",
        "voc-console",
    ] {
        assert!(
            service(&c, name)["healthcheck"]["test"].is_sequence(),
            "{name}: healthcheck"
        );
    }
    let kafka = env_of(service(&c, "kafka"));
    assert!(
        kafka["KAFKA_PROCESS_ROLES"].contains("controller"),
        "KRaft: no ZooKeeper"
    );
    assert!(
        service(&c, "voc-migrate")["build"].is_string(),
        "the voc image is built from this repository's Dockerfile"
    );
    let worker = service(&c, "voc-worker");
    assert_eq!(
        worker["depends_on"]["voc-migrate"]["condition"],
        "service_completed_successfully"
    );
    assert_eq!(
        worker["depends_on"]["kafka-init"]["condition"],
        "service_completed_successfully"
    );
    assert_eq!(
        service(&c, "voc-migrate")["depends_on"]["clickhouse"]["condition"],
        "service_healthy"
    );
    assert!(
        worker.get("container_name").is_none() && worker.get("ports").is_none(),
        "voc-worker must stay scalable (--scale)"
    );
    let init = service(&c, "kafka-init")["command"][0]
        .as_str()
        .unwrap_or("");
    for topic in ["voc.interactions", "voc.interactions.dlq", "voc.flags"] {
        assert!(init.contains(topic), "kafka-init creates {topic}");
    }
    // Dead letters keep original, unmasked bytes: their topic gets a short retention.
    assert!(
        init.contains("--entity-name voc.interactions.dlq --add-config retention.ms="),
        "the dead-letter topic's retention is set: {init}"
    );
}

#[test]
fn voc_services_run_real_subcommands_with_settings_voc_reads() {
    let c = compose();
    for name in ["voc-migrate", "voc-worker", "voc-flagger", "voc-console"] {
        let svc = service(&c, name);
        let args: Vec<&str> = svc["command"]
            .as_sequence()
            .expect("command list")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let mut help = args.clone();
        help.push("--help");
        assert!(
            run_voc(&help, b"", &[]).status.success(),
            "{name}: `voc {}` is not a voc command",
            args.join(" ")
        );

        let env = env_of(svc);
        for key in env.keys() {
            assert!(key.starts_with("VOC_"), "{name}: unexpected variable {key}");
        }
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let out = run_voc(&["config", "--json"], b"", &pairs);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let settings: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("voc config prints JSON");
        assert_eq!(
            settings["kafka"]["brokers"],
            env["VOC_KAFKA_BROKERS"].as_str()
        );
        assert_eq!(
            settings["kafka"]["input_topic"],
            env["VOC_INPUT_TOPIC"].as_str()
        );
        assert_eq!(
            settings["kafka"]["dlq_topic"],
            env["VOC_DLQ_TOPIC"].as_str()
        );
        assert_eq!(
            settings["clickhouse"]["url"],
            env["VOC_CLICKHOUSE_URL"].as_str()
        );
        assert_eq!(
            settings["clickhouse"]["user"], "voc_writer",
            "{name}: writes as the writer user"
        );
        assert_eq!(
            settings["clickhouse"]["password"], "(set)",
            "{name}: password from the environment"
        );
        assert_eq!(
            settings["flags"]["kafka_topic"],
            env["VOC_FLAGS_TOPIC"].as_str()
        );
        assert_eq!(
            env["VOC_CLICKHOUSE_URL"], "http://clickhouse:8123",
            "{name}: ClickHouse's HTTP port"
        );
        // The worker's and the flagger's /metrics and /health: the setting voc reads, the
        // exposed port and the healthcheck agree.
        for (variable, setting) in [
            ("VOC_METRICS_ADDR", &settings["worker"]["metrics_addr"]),
            (
                "VOC_FLAGGER_METRICS_ADDR",
                &settings["flags"]["metrics_addr"],
            ),
        ] {
            let Some(addr) = env.get(variable) else {
                continue;
            };
            assert_eq!(setting, addr.as_str(), "{name}: {variable}");
            let port = addr.rsplit(':').next().expect("port");
            let exposed: Vec<String> = svc["expose"]
                .as_sequence()
                .map(|s| {
                    s.iter()
                        .filter_map(|p| p.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            assert!(
                exposed.contains(&port.to_string()),
                "{name}: metrics port {port} exposed"
            );
            let check = svc["healthcheck"]["test"][1].as_str().unwrap_or("");
            assert!(
                check.contains(&format!(":{port}/health")),
                "{name}: healthcheck uses /health on {port}"
            );
        }
    }
}

#[test]
fn dashboards_read_through_the_read_only_user() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let ds: Value = serde_yaml::from_str(
        &std::fs::read_to_string(format!(
            "{root}/dashboards/grafana/provisioning/datasources/clickhouse.yaml"
        ))
        .expect("datasource"),
    )
    .expect("yaml");
    let d = &ds["datasources"][0];
    assert_eq!(d["type"], "grafana-clickhouse-datasource");
    assert_eq!(d["uid"], "voc-clickhouse");
    assert_eq!(d["jsonData"]["username"], "voc_reader");
    assert_eq!(d["jsonData"]["host"], "clickhouse");
    assert!(
        d["secureJsonData"]["password"]
            .as_str()
            .unwrap_or("")
            .starts_with('$'),
        "the password comes from the environment"
    );
    let users = std::fs::read_to_string(format!("{root}/deploy/clickhouse/users.d/voc-users.xml"))
        .expect("users");
    let reader = &users[users.find("<voc_reader>").expect("voc_reader")..];
    assert!(reader.contains("<profile>voc_readonly</profile>"));
    assert!(users.contains("<readonly>1</readonly>"));
    assert!(
        !users.contains("<password>"),
        "no password in the repository"
    );
    let c = compose();
    let grafana = service(&c, "grafana");
    let mounts: Vec<&str> = grafana["volumes"]
        .as_sequence()
        .expect("volumes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        mounts
            .iter()
            .any(|m| m.starts_with("./dashboards/grafana/dashboards:"))
    );
    assert!(
        mounts
            .iter()
            .any(|m| m.starts_with("./dashboards/grafana/provisioning:"))
    );
    assert!(env_of(grafana)["GF_INSTALL_PLUGINS"].contains("grafana-clickhouse-datasource"));
}
