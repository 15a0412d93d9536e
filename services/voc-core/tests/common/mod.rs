//! Shared set-up for tests that need the real dictionary: `VOC_DICT` if set, else the cache-dir
//! dictionary built from Debian's mecab-ipadic on first use (as `voc` itself does).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use voc_core::dictionary;
use voc_core::tokenize::Tokenizer;
use voc_core::{Analyzer, RuleSet};

pub fn dictionary_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let explicit = std::env::var_os("VOC_DICT").map(PathBuf::from);
        dictionary::ensure_dictionary(
            explicit.as_deref(),
            Path::new(dictionary::DEBIAN_IPADIC_SOURCES),
        )
        .expect("dictionary available (apt-get install -y mecab-ipadic)")
        .dir()
        .to_path_buf()
    })
    .clone()
}

pub fn analyzer() -> Analyzer {
    let dict = dictionary::load_dictionary(&dictionary_dir()).expect("load dictionary");
    let rules = RuleSet::bundled().expect("bundled rules compile");
    Analyzer::new(Arc::new(rules), Tokenizer::new(dict, None))
}
