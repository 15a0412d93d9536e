//! Reading JSONL input line by line as raw bytes, with a cap on line length so one huge line
//! cannot exhaust memory. Invalid UTF-8 is left for the message parser to report.

use std::io::BufRead;
use std::path::Path;

/// One input line: its 1-based number and bytes, or the fact that it was over the cap.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    Data { number: usize, bytes: Vec<u8> },
    TooLong { number: usize, bytes: usize },
}

/// Opens a file, `-` or nothing (stdin); `.gz` files are decompressed.
pub fn open(path: Option<&Path>) -> anyhow::Result<Box<dyn BufRead>> {
    use anyhow::Context;
    match path {
        None => Ok(Box::new(std::io::BufReader::new(std::io::stdin()))),
        Some(p) if p == Path::new("-") => Ok(Box::new(std::io::BufReader::new(std::io::stdin()))),
        Some(p) => {
            let file =
                std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
            if p.extension().is_some_and(|e| e == "gz") {
                Ok(Box::new(std::io::BufReader::new(
                    flate2::read::GzDecoder::new(file),
                )))
            } else {
                Ok(Box::new(std::io::BufReader::new(file)))
            }
        }
    }
}

/// Iterates over the non-blank lines of `reader`, each at most `max` bytes.
pub struct Lines<R> {
    reader: R,
    max: usize,
    number: usize,
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R, max: usize) -> Self {
        Self {
            reader,
            max,
            number: 0,
        }
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    type Item = std::io::Result<Line>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let mut buf = Vec::new();
            let mut total = 0usize;
            let mut saw_any = false;
            loop {
                let chunk = match self.reader.fill_buf() {
                    Ok(c) => c,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Some(Err(e)),
                };
                if chunk.is_empty() {
                    break;
                }
                saw_any = true;
                let (part, done) = match chunk.iter().position(|b| *b == b'\n') {
                    Some(i) => (&chunk[..i], Some(i + 1)),
                    None => (chunk, None),
                };
                total += part.len();
                // Past the cap, keep counting but stop storing.
                if total <= self.max {
                    buf.extend_from_slice(part);
                }
                let used = done.unwrap_or(chunk.len());
                self.reader.consume(used);
                if done.is_some() {
                    break;
                }
            }
            if !saw_any {
                return None;
            }
            self.number += 1;
            if total > self.max {
                return Some(Ok(Line::TooLong {
                    number: self.number,
                    bytes: total,
                }));
            }
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(Ok(Line::Data {
                number: self.number,
                bytes: buf,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<Line> {
        Lines::new(std::io::BufReader::with_capacity(4, input), max)
            .collect::<Result<_, _>>()
            .expect("in-memory reads do not fail")
    }

    #[test]
    fn numbers_lines_and_skips_blank_ones() {
        let got = lines(b"a\r\n\n  \nbb\nccc", 100);
        assert_eq!(
            got,
            vec![
                Line::Data {
                    number: 1,
                    bytes: b"a".to_vec()
                },
                Line::Data {
                    number: 4,
                    bytes: b"bb".to_vec()
                },
                Line::Data {
                    number: 5,
                    bytes: b"ccc".to_vec()
                },
            ]
        );
    }

    #[test]
    fn over_long_lines_are_reported_not_stored() {
        let got = lines(b"0123456789\nok\n", 5);
        assert_eq!(
            got[0],
            Line::TooLong {
                number: 1,
                bytes: 10
            }
        );
        assert_eq!(
            got[1],
            Line::Data {
                number: 2,
                bytes: b"ok".to_vec()
            }
        );
    }
}
