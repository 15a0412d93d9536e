//! Locating, building and loading the IPADIC dictionary for lindera.
//!
//! lindera's `embed-ipadic` feature downloads the dictionary at build time, which is impossible
//! offline, so voc builds it from Debian's `mecab-ipadic` sources (EUC-JP CSV and .def files) with
//! lindera's own builder. The result is a directory that lindera memory-maps in about a millisecond.
//! This is the one module of the core that touches the file system; it runs once at start-up.

use std::fs;
use std::path::{Path, PathBuf};

use lindera::dictionary::{Dictionary, Metadata, UserDictionary};

/// Where Debian's `mecab-ipadic` package puts the IPADIC 2.7.0 sources.
pub const DEBIAN_IPADIC_SOURCES: &str = "/usr/share/mecab/dic/ipadic";

/// The command that installs the sources, quoted in errors.
pub const INSTALL_HINT: &str = "apt-get install -y mecab-ipadic";

/// Name of the subdirectory of the cache dir holding the built dictionary. The lindera version is in
/// the name because its on-disk format changes between releases.
const BUILT_DIR_NAME: &str = "ipadic-2.7.0-lindera-6";

/// A marker written last, so a half-built directory (a crash mid-build) is never loaded.
const COMPLETE_MARKER: &str = ".voc-complete";

#[derive(Debug, thiserror::Error)]
pub enum DictionaryError {
    #[error(
        "IPADIC sources not found in {dir}: install them with `{INSTALL_HINT}`, or point VOC_DICT at a built dictionary"
    )]
    SourcesMissing { dir: PathBuf },
    #[error("dictionary directory {dir} is not a built lindera dictionary (no metadata.json)")]
    NotBuilt { dir: PathBuf },
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("lindera failed to {action} {path}: {message}")]
    Lindera {
        action: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error("no cache directory: set VOC_DICT, XDG_CACHE_HOME or HOME")]
    NoCacheDir,
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> DictionaryError {
    let path = path.to_path_buf();
    move |source| DictionaryError::Io {
        action,
        path,
        source,
    }
}

/// The IPADIC source metadata as lindera's builder expects it (the field layout of IPADIC's CSV).
fn ipadic_metadata() -> Metadata {
    let json = serde_json::json!({
        "name": "ipadic",
        "encoding": "UTF-8",
        "default_word_cost": -10000,
        "default_left_context_id": 0,
        "default_right_context_id": 0,
        "default_field_value": "*",
        "flexible_csv": true,
        "skip_invalid_cost_or_id": false,
        "normalize_details": true,
        "dictionary_schema": {"fields": [
            "surface", "left_context_id", "right_context_id", "cost",
            "part_of_speech", "part_of_speech_subcategory_1", "part_of_speech_subcategory_2",
            "part_of_speech_subcategory_3", "conjugation_form", "conjugation_type",
            "base_form", "reading", "pronunciation"
        ]},
        "user_dictionary_schema": {"fields": ["surface", "part_of_speech", "reading"]}
    });
    // The literal above matches lindera's Metadata; a failure here is a programming error caught by
    // the unit test below, never a runtime condition.
    serde_json::from_value(json).unwrap_or_default()
}

/// The default location of the built dictionary: `$XDG_CACHE_HOME/voc/…` or `~/.cache/voc/…`.
pub fn default_dictionary_dir() -> Result<PathBuf, DictionaryError> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })
        .ok_or(DictionaryError::NoCacheDir)?;
    Ok(base.join("voc").join(BUILT_DIR_NAME))
}

/// What [`ensure_dictionary`] did, so the caller can log one line about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DictionaryOrigin {
    /// An existing built dictionary was found.
    Existing(PathBuf),
    /// The dictionary was built now from the given sources.
    Built { dir: PathBuf, sources: PathBuf },
}

impl DictionaryOrigin {
    pub fn dir(&self) -> &Path {
        match self {
            Self::Existing(dir) | Self::Built { dir, .. } => dir,
        }
    }
}

/// Returns a built dictionary directory: `explicit` (VOC_DICT) if given, which must already be
/// built, or the cache directory, building it from `sources` on first use.
pub fn ensure_dictionary(
    explicit: Option<&Path>,
    sources: &Path,
) -> Result<DictionaryOrigin, DictionaryError> {
    if let Some(dir) = explicit {
        if !dir.join("metadata.json").is_file() {
            return Err(DictionaryError::NotBuilt {
                dir: dir.to_path_buf(),
            });
        }
        return Ok(DictionaryOrigin::Existing(dir.to_path_buf()));
    }
    let dir = default_dictionary_dir()?;
    if dir.join(COMPLETE_MARKER).is_file() {
        return Ok(DictionaryOrigin::Existing(dir));
    }
    build_dictionary(sources, &dir)?;
    Ok(DictionaryOrigin::Built {
        dir,
        sources: sources.to_path_buf(),
    })
}

/// Builds the dictionary from EUC-JP IPADIC sources into `out_dir`, atomically: it is built in a
/// sibling temporary directory and renamed into place, so concurrent first runs cannot see half a
/// dictionary.
pub fn build_dictionary(sources: &Path, out_dir: &Path) -> Result<(), DictionaryError> {
    if !sources.join("matrix.def").is_file() {
        return Err(DictionaryError::SourcesMissing {
            dir: sources.to_path_buf(),
        });
    }
    let parent = out_dir.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io_err("create", parent))?;
    let staging = parent.join(format!(".build-{}", std::process::id()));
    let utf8_src = staging.join("src");
    let built = staging.join("dict");
    fs::create_dir_all(&utf8_src).map_err(io_err("create", &utf8_src))?;

    let result = (|| {
        transcode_sources(sources, &utf8_src)?;
        lindera::dictionary::DictionaryBuilder::new(ipadic_metadata())
            .build_dictionary(&utf8_src, &built)
            .map_err(|e| DictionaryError::Lindera {
                action: "build a dictionary into",
                path: built.clone(),
                message: e.to_string(),
            })?;
        fs::write(built.join(COMPLETE_MARKER), b"").map_err(io_err("write", &built))?;
        if out_dir.exists() {
            // A stale or half-built directory from an older run: replace it.
            fs::remove_dir_all(out_dir).map_err(io_err("remove", out_dir))?;
        }
        match fs::rename(&built, out_dir) {
            // Another process finished first: its dictionary is as good as ours.
            Err(_) if out_dir.join(COMPLETE_MARKER).is_file() => Ok(()),
            other => other.map_err(io_err("move the built dictionary to", out_dir)),
        }
    })();
    // Best effort: a leftover staging dir wastes space but breaks nothing.
    let _ = fs::remove_dir_all(&staging);
    result
}

/// Converts every IPADIC source file (CSV and .def) from EUC-JP to UTF-8.
fn transcode_sources(from: &Path, to: &Path) -> Result<(), DictionaryError> {
    let entries = fs::read_dir(from).map_err(io_err("read", from))?;
    for entry in entries {
        let path = entry.map_err(io_err("read", from))?.path();
        let keep = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("csv" | "def")
        );
        if !keep {
            continue;
        }
        let bytes = fs::read(&path).map_err(io_err("read", &path))?;
        let (text, _, _) = encoding_rs::EUC_JP.decode(&bytes);
        let target = to.join(path.file_name().unwrap_or_default());
        fs::write(&target, text.as_bytes()).map_err(io_err("write", &target))?;
    }
    Ok(())
}

/// Loads a built dictionary (memory-mapped; cheap to clone afterwards).
pub fn load_dictionary(dir: &Path) -> Result<Dictionary, DictionaryError> {
    lindera::dictionary::load_fs_dictionary(dir).map_err(|e| DictionaryError::Lindera {
        action: "load the dictionary in",
        path: dir.to_path_buf(),
        message: e.to_string(),
    })
}

/// Loads a user dictionary CSV (`surface,part_of_speech,reading` per line), for product names and
/// company jargon that IPADIC splits apart.
pub fn load_user_dictionary(csv: &Path) -> Result<UserDictionary, DictionaryError> {
    lindera::dictionary::load_user_dictionary_from_csv(&ipadic_metadata(), csv).map_err(|e| {
        DictionaryError::Lindera {
            action: "load the user dictionary",
            path: csv.to_path_buf(),
            message: e.to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_literal_deserialises() {
        let m = ipadic_metadata();
        assert_eq!(m.name, "ipadic");
        assert_eq!(m.dictionary_schema.fields.len(), 13);
    }

    #[test]
    fn missing_sources_name_the_install_command() {
        let tmp = std::env::temp_dir().join(format!("voc-nosrc-{}", std::process::id()));
        let err = build_dictionary(&tmp.join("absent"), &tmp.join("out")).unwrap_err();
        assert!(err.to_string().contains(INSTALL_HINT), "{err}");
    }

    #[test]
    fn explicit_dir_must_be_built() {
        let tmp = std::env::temp_dir();
        let err =
            ensure_dictionary(Some(&tmp.join("voc-not-a-dict")), Path::new("/x")).unwrap_err();
        assert!(matches!(err, DictionaryError::NotBuilt { .. }));
    }
}
