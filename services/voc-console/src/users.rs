//! The users file: accounts with a role and an argon2 password hash (PHC string), one `[[user]]`
//! each. Passwords are never stored or logged; `voc users add` hashes what it reads from stdin.

use std::path::Path;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};

voc_core::closed_set! {
    /// What a person may do: viewers read, leads also act on flags, admins also manage.
    pub enum Role("role") {
        Viewer = "viewer",
        Lead = "lead",
        Admin = "admin",
    }
}

impl Role {
    /// Whether this role may acknowledge, resolve and reopen flags.
    pub fn may_act(self) -> bool {
        matches!(self, Role::Lead | Role::Admin)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub name: String,
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Users {
    #[serde(rename = "user", default)]
    pub users: Vec<User>,
}

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("cannot read the users file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: invalid users file: {message}")]
    Invalid { path: String, message: String },
    #[error("cannot write the users file {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("a user name is 1–64 letters, digits, `.`, `_`, `-` or `@`: {0:?}")]
    BadName(String),
    #[error("a password needs at least 12 characters")]
    ShortPassword,
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

impl Users {
    /// Reads the file; a missing file is no users (nobody can log in).
    pub fn load(path: &Path) -> Result<Self, UsersError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(UsersError::Read {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        let users: Users = toml::from_str(&text).map_err(|e| UsersError::Invalid {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        for u in &users.users {
            PasswordHash::new(&u.password_hash).map_err(|e| UsersError::Invalid {
                path: path.display().to_string(),
                message: format!("user {:?}: password_hash is not a PHC string: {e}", u.name),
            })?;
        }
        Ok(users)
    }

    /// Adds or replaces `name` with a new password; writes the file atomically (mode 0600).
    pub fn add(path: &Path, name: &str, role: Role, password: &str) -> Result<(), UsersError> {
        if !crate::auth::plausible_name(name) {
            return Err(UsersError::BadName(name.to_string()));
        }
        if password.chars().count() < 12 {
            return Err(UsersError::ShortPassword);
        }
        let salt = SaltString::generate(&mut OsRng);
        let password_hash = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| UsersError::Hash(e.to_string()))?
            .to_string();
        let mut users = Self::load(path)?;
        users.users.retain(|u| u.name != name);
        users.users.push(User {
            name: name.to_string(),
            role,
            password_hash,
        });
        users.users.sort_by(|a, b| a.name.cmp(&b.name));
        let text = toml::to_string(&users).map_err(|e| UsersError::Invalid {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let write_err = |source| UsersError::Write {
            path: path.display().to_string(),
            source,
        };
        // Created 0600 from the start, under a name no other writer uses.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let written = options.open(&tmp).and_then(|mut f| {
            use std::io::Write;
            f.write_all(text.as_bytes())?;
            f.sync_all()
        });
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(write_err(e));
        }
        std::fs::rename(&tmp, path).map_err(write_err)
    }

    /// The user, if the name exists and the password matches its hash. Unknown names cost a hash
    /// verification too, so timing does not tell which names exist.
    pub fn verify(&self, name: &str, password: &str) -> Option<&User> {
        const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$+r0d29hqEB0yasKr55ZgICsQGSkl0v0kgwhd+U3wyRo";
        let user = self.users.iter().find(|u| u.name == name);
        let hash = user.map_or(DUMMY, |u| u.password_hash.as_str());
        let ok = PasswordHash::new(hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false);
        user.filter(|_| ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_added_user_logs_in_with_its_password_only_and_the_file_has_no_password() {
        let dir = std::env::temp_dir().join(format!("voc-users-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("users.toml");
        Users::add(&path, "sato", Role::Lead, "correct horse battery").expect("add");
        Users::add(&path, "kato", Role::Viewer, "another long secret").expect("add");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains("correct horse"), "{text}");
        let users = Users::load(&path).expect("load");
        assert_eq!(
            users
                .verify("sato", "correct horse battery")
                .map(|u| u.role),
            Some(Role::Lead)
        );
        assert!(users.verify("sato", "wrong password!!").is_none());
        assert!(users.verify("nobody", "correct horse battery").is_none());
        assert!(matches!(
            Users::add(&path, "x", Role::Lead, "short"),
            Err(UsersError::ShortPassword)
        ));
        assert!(matches!(
            Users::add(&path, "a b", Role::Lead, "long enough pass"),
            Err(UsersError::BadName(_))
        ));
        std::fs::remove_dir_all(&dir).ok();
    }
}
