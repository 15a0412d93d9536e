//! A real ClickHouse cluster for tests: Debian's ZooKeeper and `shards × replicas` Debian
//! `clickhouse-server`s on free loopback ports, each with a copy of the package's config that
//! includes the cluster `voc` (`remote_servers`), its `{shard}` and `{replica}` macros and the
//! ZooKeeper node (ENVIRONMENT.md's recipe), and the package's users and profiles unchanged.
//! Everything is stopped and deleted on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use voc_demo::local_clickhouse::LocalClickHouse;

use crate::free_port;

/// The cluster's name in `remote_servers`.
pub const NAME: &str = "voc";

/// The settings the harness's own reads use on a cluster, as URL parameters: those README asks
/// for Grafana's reader (co-sharded joins shard by shard), and the replica voc reads and writes
/// (the first live one of each shard), so a check right after a write sees it.
pub const READER_SETTINGS: &str =
    "distributed_product_mode=local&load_balancing=in_order&prefer_localhost_replica=0";

/// A private standalone ZooKeeper on a free loopback port.
pub struct ZooKeeper {
    pub port: u16,
    child: Child,
}

impl ZooKeeper {
    /// Starts it with its data under `dir`, and waits until it answers `ruok`.
    pub fn start(dir: &Path) -> Self {
        let port = free_port();
        std::fs::create_dir_all(dir.join("data")).expect("zookeeper dir");
        std::fs::write(
            dir.join("zoo.cfg"),
            format!(
                "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
                 admin.enableServer=false\n4lw.commands.whitelist=ruok\n",
                dir.join("data").display()
            ),
        )
        .expect("zoo.cfg");
        let script = "/usr/share/zookeeper/bin/zkServer.sh";
        assert!(
            Path::new(script).exists(),
            "ZooKeeper is not installed (no {script}): sudo apt-get install -y zookeeper"
        );
        let log = std::fs::File::create(dir.join("zookeeper.log")).expect("log");
        let child = Command::new(script)
            .arg("start-foreground")
            .arg(dir.join("zoo.cfg"))
            .env("ZOOCFGDIR", dir)
            .env("ZOO_LOG_DIR", dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("zkServer.sh starts");
        let zk = Self { port, child };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if zk.ok() {
                return zk;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "ZooKeeper did not answer within 60 s; see {}",
            dir.join("zookeeper.log").display()
        );
    }

    fn ok(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let _ = s.write_all(b"ruok");
        let mut buf = String::new();
        let _ = s.read_to_string(&mut buf);
        buf == "imok"
    }
}

impl Drop for ZooKeeper {
    fn drop(&mut self) {
        // zkServer.sh execs java, so this is the server itself.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `shards × replicas` servers in one cluster; server `i` is replica `i % replicas + 1` of shard
/// `i / replicas + 1`.
pub struct Cluster {
    pub servers: Vec<LocalClickHouse>,
    pub replicas: usize,
    _zk: ZooKeeper,
    dir: PathBuf,
}

impl Cluster {
    pub fn start(shards: usize, replicas: usize) -> Self {
        // Every member's config names every member's ports, so a port taken by another process
        // before a server bound it (tests start many at once) means a new cluster on new ports.
        let mut last = String::new();
        for _ in 0..3 {
            match Self::try_start(shards, replicas) {
                Ok(cluster) => return cluster,
                Err(e) => last = e,
            }
        }
        panic!("{last}")
    }

    fn try_start(shards: usize, replicas: usize) -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!(
            "voc-cluster-{}-{}",
            std::process::id(),
            free_port()
        ));
        let zk = ZooKeeper::start(&dir.join("zookeeper"));
        let mut servers: Vec<LocalClickHouse> = (0..shards * replicas)
            .map(|i| LocalClickHouse::new(&dir.join(format!("ch{i}"))))
            .collect();
        let remote: String = (0..shards)
            .map(|s| {
                let members: String = (0..replicas)
                    .map(|r| {
                        format!(
                            "<replica><host>127.0.0.1</host><port>{}</port></replica>",
                            servers[s * replicas + r].tcp_port
                        )
                    })
                    .collect();
                format!("<shard><internal_replication>true</internal_replication>{members}</shard>")
            })
            .collect();
        let system = std::fs::read_to_string(LocalClickHouse::system_config())
            .expect("the package's config.xml");
        for (i, server) in servers.iter_mut().enumerate() {
            let own = server.dir.clone();
            std::fs::create_dir_all(&own).expect("server dir");
            let include = own.join("cluster.xml");
            std::fs::write(
                &include,
                format!(
                    "<yandex>\n<zookeeper-servers><node><host>127.0.0.1</host><port>{zk}</port></node></zookeeper-servers>\n\
                     <macros><shard>{shard}</shard><replica>s{shard}r{replica}</replica></macros>\n\
                     <clickhouse_remote_servers><{NAME}>{remote}</{NAME}></clickhouse_remote_servers>\n</yandex>\n",
                    zk = zk.port,
                    shard = i / replicas + 1,
                    replica = i % replicas + 1,
                ),
            )
            .expect("cluster.xml");
            // `include_from` is read before command-line overrides apply, so it goes in the file;
            // users.xml (the package's, unchanged: voc must bring its own settings) is named by
            // its absolute path, as it is resolved next to the config.
            let config = system
                .replace(
                    "<users_config>users.xml</users_config>",
                    "<users_config>/etc/clickhouse-server/users.xml</users_config>",
                )
                .replace(
                    "</yandex>",
                    &format!(
                        "<include_from>{}</include_from>\n\
                         <merge_tree><replicated_max_ratio_of_wrong_parts>1</replicated_max_ratio_of_wrong_parts></merge_tree>\n</yandex>",
                        include.display()
                    ),
                );
            let path = own.join("config.xml");
            std::fs::write(&path, config).expect("config.xml");
            server.set_config(&path);
        }
        let started: Result<(), String> = servers
            .iter_mut()
            .try_for_each(|s| s.start().map_err(|e| e.to_string()));
        if let Err(e) = started {
            // Stopped before their directory goes.
            drop(servers);
            drop(zk);
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        Ok(Self {
            servers,
            replicas,
            _zk: zk,
            dir,
        })
    }

    /// The servers of shard `s` (from 0).
    pub fn shard(&self, s: usize) -> std::ops::Range<usize> {
        s * self.replicas..(s + 1) * self.replicas
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for s in &mut self.servers {
            s.stop();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
