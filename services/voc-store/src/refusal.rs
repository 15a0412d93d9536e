//! ClickHouse errors that no retry fixes, told apart from outages (network, timeouts, a server
//! starting or overloaded), each with what to do about it. ClickHouse error codes from its
//! `src/Common/ErrorCodes.cpp`; the message carries them as `Code: N` on every version.

/// Why ClickHouse refuses for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 81 UNKNOWN_DATABASE.
    MissingDatabase,
    /// 60 UNKNOWN_TABLE.
    MissingTable,
    /// 16 NO_SUCH_COLUMN_IN_TABLE, 47 UNKNOWN_IDENTIFIER, or the client's own schema check.
    SchemaDrift,
    /// 192–194 UNKNOWN_USER, WRONG_PASSWORD, REQUIRED_PASSWORD; 516 AUTHENTICATION_FAILED.
    Credentials,
    /// 497 ACCESS_DENIED.
    Permission,
}

impl Refusal {
    /// The refusal behind `e`, or `None` for an error worth retrying.
    pub fn of(e: &clickhouse::error::Error) -> Option<Self> {
        use clickhouse::error::Error as E;
        match e {
            E::SchemaMismatch(_) => Some(Self::SchemaDrift),
            E::BadResponse(message) => match error_code(message)? {
                81 => Some(Self::MissingDatabase),
                60 => Some(Self::MissingTable),
                16 | 47 => Some(Self::SchemaDrift),
                192..=194 | 516 => Some(Self::Credentials),
                497 => Some(Self::Permission),
                _ => None,
            },
            _ => None,
        }
    }

    /// What to do about it.
    pub fn hint(self) -> &'static str {
        match self {
            Self::MissingDatabase => "the database does not exist; run `voc migrate`",
            Self::MissingTable => "the table does not exist; run `voc migrate`",
            Self::SchemaDrift => {
                "the table's columns differ from what this voc writes; run `voc migrate` with this version"
            }
            Self::Credentials => {
                "ClickHouse refused the credentials; check VOC_CLICKHOUSE_USER and VOC_CLICKHOUSE_PASSWORD"
            }
            Self::Permission => "the ClickHouse user may not insert into this table; grant INSERT",
        }
    }
}

/// The codes of `ALTER TABLE … ADD COLUMN` finding the column already there: 44
/// ILLEGAL_COLUMN on 18.x, 15 DUPLICATE_COLUMN on current versions.
pub const COLUMN_EXISTS_CODES: [u32; 2] = [44, 15];

/// Whether `e` is `ALTER TABLE … ADD COLUMN` finding the column already there
/// ([`COLUMN_EXISTS_CODES`], "column with this name already exists"): how a server, 18.16 having
/// no `ADD COLUMN IF NOT EXISTS`, says a migration's column was added before.
pub fn column_exists(e: &clickhouse::error::Error) -> bool {
    matches!(e, clickhouse::error::Error::BadResponse(m)
        if error_code(m).is_some_and(|c| column_exists_outcome(c, m)))
}

/// The same for a server's outcome read apart from its message (a queued `ON CLUSTER`
/// statement's, [`crate::ddl_queue::HostOutcome`]).
pub fn column_exists_outcome(code: u32, message: &str) -> bool {
    COLUMN_EXISTS_CODES.contains(&code) && message.contains("already exists")
}

/// Whether `e` is an `ON CLUSTER` statement that some servers have not run within
/// `distributed_ddl_task_timeout` (159 TIMEOUT_EXCEEDED): it stays queued in ZooKeeper and those
/// servers run it when they are back.
pub fn ddl_queued(e: &clickhouse::error::Error) -> bool {
    matches!(e, clickhouse::error::Error::BadResponse(m) if error_code(m) == Some(159) && m.contains("distributed_ddl_task_timeout"))
}

/// Whether `e` is a read of a Distributed table that found no replica of some shard recent
/// enough for `max_replica_delay_for_distributed_queries` (369 ALL_REPLICAS_ARE_STALE): a
/// replica that has just come back, and the one that stayed up while it still fetches the parts
/// only the other held, both lag for a while. Waiting fixes it.
pub fn replicas_stale(e: &clickhouse::error::Error) -> bool {
    matches!(e, clickhouse::error::Error::BadResponse(m) if error_code(m) == Some(369))
}

/// The `N` of `Code: N` in a ClickHouse error message.
fn error_code(message: &str) -> Option<u32> {
    let rest = &message[message.find("Code: ")? + 6..];
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..digits].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_no_retry_fixes_are_told_apart_from_outages() {
        use clickhouse::error::Error as E;
        let refused = |m: &str| Refusal::of(&E::BadResponse(m.into())).map(Refusal::hint);
        // The forms of a current server and of 18.16.
        assert!(
            refused("Code: 60. DB::Exception: Table voc.interactions does not exist. (UNKNOWN_TABLE) (version 24.8.1)")
                .is_some_and(|h| h.contains("voc migrate"))
        );
        assert!(
            refused("Code: 516, e.displayText() = DB::Exception: default: Authentication failed")
                .is_some_and(|h| h.contains("VOC_CLICKHOUSE_PASSWORD"))
        );
        assert!(refused("Code: 81. DB::Exception: Database voc does not exist").is_some());
        assert_eq!(
            refused("Code: 202. DB::Exception: Too many simultaneous queries"),
            None
        );
        assert_eq!(
            refused("Code: 241. DB::Exception: Memory limit exceeded"),
            None
        );
        assert_eq!(Refusal::of(&E::TimedOut), None);
    }

    #[test]
    fn a_column_already_there_is_told_on_old_and_current_servers() {
        use clickhouse::error::Error as E;
        let old = "Code: 44, e.displayText() = DB::Exception: Cannot add column team: column with this name already exists";
        let current = "Code: 15. DB::Exception: Cannot add column `team`: column with this name already exists. (DUPLICATE_COLUMN)";
        assert!(column_exists(&E::BadResponse(old.into())));
        assert!(column_exists(&E::BadResponse(current.into())));
        // The same codes for another reason are not a column added before.
        let other = "Code: 44, e.displayText() = DB::Exception: Sorting key cannot contain nullable columns";
        assert!(!column_exists(&E::BadResponse(other.into())));
    }

    #[test]
    fn stale_replicas_are_an_outage_told_apart_by_their_code() {
        use clickhouse::error::Error as E;
        // 18.16's form, as a rebuild met it in CI.
        let stale = E::BadResponse(
            "Code: 369, e.displayText() = DB::Exception: Could not find enough connections to up-to-date replicas. Got: 0, needed: 1".into(),
        );
        assert!(replicas_stale(&stale) && Refusal::of(&stale).is_none());
        assert!(!replicas_stale(&E::BadResponse(
            "Code: 60. DB::Exception: Table voc.x does not exist".into()
        )));
        assert!(!replicas_stale(&E::TimedOut));
    }
}
