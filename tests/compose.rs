//! The production docker-compose cannot run here (no Docker engine), so it is checked against what
//! voc expects: every service present with a pinned image, healthchecks and `depends_on`
//! conditions; every voc command a real subcommand; every voc environment variable one that voc
//! reads (its effective settings, from `voc config`, reflect the compose values); ports consistent
//! with healthchecks and the Grafana datasource; dashboards reading through the read-only user.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;
use voc_tests::run_voc;

fn compose() -> Value {
    compose_file("docker-compose.yml")
}

/// A compose file of the repository's root, with its merge keys resolved.
fn compose_file(name: &str) -> Value {
    let path = format!("{}/../{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut v: Value =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{name} is not YAML: {e}"));
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

/// Every `<tag>value</tag>` in an XML text, in order.
fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let j = after.find(&close).expect("closing tag");
        out.push(after[..j].trim().to_string());
        rest = &after[j..];
    }
    out
}

/// The 2 × 2 cluster variant: each ClickHouse server has its own shard and replica macros, the
/// cluster definition lists exactly those servers by shard, they reach every Keeper node, the
/// Keeper ensemble's ids are distinct and agree with its raft configuration, and `voc-migrate`
/// creates the schema on the cluster the servers define, once all of them are up.
#[test]
fn the_cluster_variant_defines_two_shards_of_two_replicas_on_three_keepers() {
    let base = compose();
    let c = compose_file("docker-compose.cluster.yml");
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let cluster_xml =
        std::fs::read_to_string(format!("{root}/deploy/clickhouse/cluster/voc-cluster.xml"))
            .expect("cluster config");
    let keeper_xml = std::fs::read_to_string(format!("{root}/deploy/clickhouse/keeper/keeper.xml"))
        .expect("keeper config");
    let services = c["services"].as_mapping().expect("services");

    // ClickHouse servers: same image as the base file, own macros, the cluster config mounted.
    let base_image = service(&base, "clickhouse")["image"]
        .as_str()
        .expect("image");
    let mut by_shard: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut replicas = Vec::new();
    for (name, svc) in services {
        let name = name.as_str().expect("name");
        if !name.starts_with("clickhouse") {
            continue;
        }
        assert_eq!(svc["image"].as_str(), Some(base_image), "{name}");
        assert_eq!(
            svc["hostname"].as_str(),
            Some(name),
            "{name}: replicas find each other by host name"
        );
        let env = env_of(svc);
        by_shard
            .entry(env["CH_SHARD"].clone())
            .or_default()
            .push(name.to_string());
        replicas.push(env["CH_REPLICA"].clone());
        let mounts: Vec<&str> = svc["volumes"]
            .as_sequence()
            .expect("volumes")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for m in [
            "./deploy/clickhouse/cluster/voc-cluster.xml:/etc/clickhouse-server/config.d/",
            "./deploy/clickhouse/cluster/voc-cluster-users.xml:/etc/clickhouse-server/users.d/",
            "./deploy/clickhouse/users.d/voc-users.xml:/etc/clickhouse-server/users.d/",
        ] {
            assert!(mounts.iter().any(|v| v.starts_with(m)), "{name}: {m}");
        }
        for k in ["keeper1", "keeper2", "keeper3"] {
            assert_eq!(
                svc["depends_on"][k]["condition"], "service_healthy",
                "{name} waits for {k}"
            );
        }
    }
    assert_eq!(by_shard.len(), 2, "two shards: {by_shard:?}");
    assert!(by_shard.values().all(|s| s.len() == 2), "{by_shard:?}");
    let mut unique = replicas.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4, "replica names unique across the cluster");
    assert!(cluster_xml.contains(r#"<shard from_env="CH_SHARD"/>"#));
    assert!(cluster_xml.contains(r#"<replica from_env="CH_REPLICA"/>"#));
    assert!(cluster_xml.contains(r#"<secret from_env="VOC_CH_CLUSTER_SECRET"/>"#));
    // The read-only profile carries what voc's own clients set (it may not set settings).
    let reader_settings = std::fs::read_to_string(format!(
        "{root}/deploy/clickhouse/cluster/voc-cluster-users.xml"
    ))
    .expect("cluster users");
    let readonly = &reader_settings[reader_settings.find("<voc_readonly>").expect("profile")..];
    for (setting, value) in [
        ("distributed_product_mode", "local"),
        ("load_balancing", "in_order"),
        ("prefer_localhost_replica", "0"),
    ] {
        assert_eq!(xml_values(readonly, setting), [value], "{setting}");
    }

    // The cluster definition: its shards list the same servers.
    let name = "voc";
    let def = &cluster_xml[cluster_xml.find(&format!("<{name}>")).expect("cluster voc")..];
    let defined: BTreeSet<BTreeSet<String>> = def
        .split("<shard>")
        .skip(1)
        .map(|s| {
            xml_values(&s[..s.find("</shard>").expect("shard end")], "host")
                .into_iter()
                .collect()
        })
        .collect();
    let composed: BTreeSet<BTreeSet<String>> = by_shard
        .into_values()
        .map(|s| s.into_iter().collect())
        .collect();
    assert_eq!(defined, composed);
    assert!(
        def.matches("<internal_replication>true</internal_replication>")
            .count()
            == 2
    );

    // Keeper: three services, ids 1..3, matching the raft configuration and the servers' nodes.
    let mut ids = Vec::new();
    for k in ["keeper1", "keeper2", "keeper3"] {
        let svc = service(&c, k);
        ids.push(env_of(svc)["KEEPER_ID"].clone());
        assert!(svc["healthcheck"]["test"].is_sequence(), "{k}");
    }
    assert_eq!(ids, ["1", "2", "3"]);
    let raft: Vec<(String, String)> = xml_values(&keeper_xml, "server")
        .iter()
        .map(|s| {
            (
                xml_values(s, "id")[0].clone(),
                xml_values(s, "hostname")[0].clone(),
            )
        })
        .collect();
    assert_eq!(
        raft,
        [("1", "keeper1"), ("2", "keeper2"), ("3", "keeper3")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let nodes = xml_values(
        &cluster_xml[..cluster_xml.find("</zookeeper>").expect("zookeeper")],
        "host",
    );
    assert_eq!(nodes, ["keeper1", "keeper2", "keeper3"]);

    // voc-migrate: a real `voc migrate --cluster NAME` for this cluster, after every server.
    let migrate = service(&c, "voc-migrate");
    let args: Vec<&str> = migrate["command"]
        .as_sequence()
        .expect("command")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(args, ["migrate", "--cluster", name]);
    let mut help = args.clone();
    help.push("--help");
    let out = run_voc(&help, b"", &[]);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("--cluster"));
    for (server, _) in services
        .iter()
        .filter(|(n, _)| n.as_str().is_some_and(|n| n.starts_with("clickhouse")))
    {
        let server = server.as_str().expect("name");
        assert_eq!(
            migrate["depends_on"][server]["condition"], "service_healthy",
            "voc-migrate waits for {server}"
        );
    }
    let example = std::fs::read_to_string(format!("{root}/.env.example")).expect(".env.example");
    assert!(example.contains("VOC_CH_CLUSTER_SECRET="));
}
