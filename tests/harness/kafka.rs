//! A real Kafka-protocol broker for tests: librdkafka's mock cluster, in this test process,
//! listening on loopback TCP so `voc` processes connect to it like to any broker.
//! `VOC_TEST_KAFKA_BROKERS` points tests at existing brokers instead (Apache Kafka, Redpanda, …;
//! topic names stay unique per test; tests that inject broker faults are skipped there).

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{DefaultProducerContext, FutureProducer, FutureRecord};

pub struct Kafka {
    /// The in-process mock cluster, or `None` for an external broker process.
    pub cluster: Option<MockCluster<'static, DefaultProducerContext>>,
    process: Option<std::process::Child>,
    pub brokers: String,
}

impl Drop for Kafka {
    fn drop(&mut self) {
        if let Some(mut p) = self.process.take() {
            let _ = p.kill();
            let _ = p.wait();
        }
    }
}

/// A message read back from a topic.
#[derive(Debug, Clone)]
pub struct Record {
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

impl Record {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Kafka {
    /// A mock cluster of `brokers` brokers, or the brokers of `VOC_TEST_KAFKA_BROKERS`.
    pub fn start(brokers: i32) -> Self {
        if let Ok(external) = std::env::var("VOC_TEST_KAFKA_BROKERS") {
            return Self {
                cluster: None,
                process: None,
                brokers: external,
            };
        }
        let cluster = MockCluster::new(brokers).expect("mock cluster starts");
        let brokers = cluster.bootstrap_servers();
        Self {
            cluster: Some(cluster),
            process: None,
            brokers,
        }
    }

    /// tansu, an independent Kafka-protocol broker implementation (in-memory storage), as a
    /// separate process on a free loopback port. `None` when the `tansu` binary is not installed.
    pub fn start_tansu() -> Option<Self> {
        let port = crate::free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let process = std::process::Command::new("tansu")
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "memory://tansu/",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let k = Self {
            cluster: None,
            process: Some(process),
            brokers: format!("127.0.0.1:{port}"),
        };
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "tansu did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(k)
    }

    /// The offsets `group` has committed on `topic`, summed over `partitions` (an OffsetFetch
    /// only: this consumer never joins the group, so it triggers no rebalance).
    pub fn committed(&self, group: &str, topic: &str, partitions: i32) -> i64 {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .expect("consumer for offset fetch");
        let mut tpl = rdkafka::TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition(topic, p);
        }
        let committed = consumer
            .committed_offsets(tpl, Duration::from_secs(10))
            .expect("committed offsets");
        committed
            .elements()
            .iter()
            .map(|e| e.offset().to_raw().filter(|o| *o >= 0).unwrap_or(0))
            .sum()
    }

    pub fn create_topic(&self, name: &str, partitions: i32) {
        match &self.cluster {
            Some(cluster) => cluster
                .create_topic(name, partitions, 1)
                .expect("create topic"),
            None => {
                // Any Kafka-protocol broker: a CreateTopics request (tansu, Apache Kafka, …).
                use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
                let admin: AdminClient<_> = ClientConfig::new()
                    .set("bootstrap.servers", &self.brokers)
                    .create()
                    .expect("admin client");
                let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
                // rdkafka completes the request on its own thread: no async runtime needed
                // (and tests may already be inside one).
                let results = futures::executor::block_on(
                    admin.create_topics([&topic], &AdminOptions::new()),
                )
                .expect("create topics request");
                for r in results {
                    r.unwrap_or_else(|(t, e)| panic!("create topic {t}: {e}"));
                }
            }
        }
    }

    pub fn producer(&self) -> FutureProducer {
        ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .set("message.max.bytes", "20000000")
            .create()
            .expect("producer")
    }

    /// Sends raw messages (any bytes, any key), waiting for every delivery.
    pub async fn send(&self, topic: &str, messages: &[(Option<&[u8]>, &[u8])]) {
        let producer = self.producer();
        for (key, payload) in messages {
            let mut record: FutureRecord<'_, [u8], [u8]> =
                FutureRecord::to(topic).payload(*payload);
            if let Some(k) = key {
                record = record.key(*k);
            }
            producer
                .send(record, Duration::from_secs(30))
                .await
                .expect("delivered");
        }
    }

    /// Reads every message of a topic from the beginning (until `expected` or the timeout).
    pub fn read_all(&self, topic: &str, expected: usize, timeout: Duration) -> Vec<Record> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .set("group.id", format!("test-reader-{}", crate::free_port()))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .set("fetch.message.max.bytes", "20000000")
            .create()
            .expect("consumer");
        consumer.subscribe(&[topic]).expect("subscribe");
        let deadline = std::time::Instant::now() + timeout;
        let mut out = Vec::new();
        while out.len() < expected && std::time::Instant::now() < deadline {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                let headers = m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|x| {
                                (
                                    x.key.to_string(),
                                    String::from_utf8_lossy(x.value.unwrap_or_default())
                                        .into_owned(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(Record {
                    key: m.key().map(<[u8]>::to_vec),
                    payload: m.payload().unwrap_or_default().to_vec(),
                    headers,
                });
            }
        }
        out
    }
}
