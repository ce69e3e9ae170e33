//! Dotted paths (§7.1).

use crate::error::{Result, Violation};
use crate::limits::Limits;
use crate::value::field_name_problem;
use std::fmt;

/// A path of an update: 1 to 32 segments joined by `.`, each obeying the field name rules of
/// §3.5, the first neither `_id` nor starting with `_vmm`. Whether a segment names a field or an
/// array index is only known when the path is applied.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Path {
    text: String,
    segments: Vec<String>,
}

impl Path {
    /// Parses and checks a dotted path. Errors are [`Code::InvalidUpdate`](crate::Code) located at
    /// the path itself (no location for the empty path).
    pub fn parse(s: &str) -> Result<Path> {
        if s.is_empty() {
            return Err(Violation::invalid_update("a path cannot be empty"));
        }
        let refuse = |message: String| Violation::invalid_update(message).at(s);
        let segments: Vec<String> = s.split('.').map(str::to_string).collect();
        if segments.len() > Limits::MAX_PATH_SEGMENTS {
            return Err(refuse(format!("a path has at most {} segments", Limits::MAX_PATH_SEGMENTS)));
        }
        for segment in &segments {
            if let Some(problem) = field_name_problem(segment) {
                return Err(refuse(format!("segment {segment:?}: {problem}")));
            }
        }
        let first = &segments[0];
        if first == "_id" {
            return Err(refuse("the _id never changes".into()));
        }
        if first.starts_with("_vmm") {
            return Err(refuse("top-level fields starting with _vmm are reserved".into()));
        }
        Ok(Path { text: s.to_string(), segments })
    }

    /// The segments, in order.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The dotted path as it was written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether two paths overlap: they are equal, or one is a prefix of the other at a segment
    /// boundary (`a` and `a.b` overlap, `a` and `ab` do not). Overlapping paths touch the same
    /// data, which is what both the one-update rule (§7.1) and merge conflicts (§8) are about.
    pub fn overlaps(&self, other: &Path) -> bool {
        self.segments.iter().zip(&other.segments).all(|(a, b)| a == b)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Path {
    type Err = Violation;

    fn from_str(s: &str) -> Result<Path> {
        Path::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;

    fn refused(s: &str) -> Violation {
        let error = Path::parse(s).expect_err(s);
        assert_eq!(error.code(), Code::InvalidUpdate, "{s}");
        error
    }

    #[test]
    fn a_dotted_path_splits_into_its_segments() {
        let path = Path::parse("address.lines.0").unwrap();
        assert_eq!(path.segments(), ["address", "lines", "0"]);
        assert_eq!(path.to_string(), "address.lines.0");
    }

    #[test]
    fn empty_segments_are_refused() {
        for s in ["a..b", ".a", "a."] {
            assert_eq!(refused(s).path(), Some(s));
        }
        assert_eq!(refused("").path(), None);
    }

    #[test]
    fn positional_operators_and_dollar_segments_are_refused() {
        for s in ["a.$", "a.$[]", "$set", "a.$each"] {
            refused(s);
        }
    }

    #[test]
    fn the_id_and_vmm_fields_cannot_be_touched_but_nested_ones_can() {
        refused("_id");
        refused("_id.x");
        refused("_vmm_v");
        assert!(Path::parse("a._id").is_ok());
        assert!(Path::parse("a._vmm").is_ok());
        assert!(Path::parse("_idx").is_ok());
    }

    #[test]
    fn a_path_has_at_most_32_segments() {
        assert!(Path::parse(&vec!["a"; 32].join(".")).is_ok());
        refused(&vec!["a"; 33].join("."));
    }

    #[test]
    fn a_segment_has_at_most_255_bytes() {
        assert!(Path::parse(&"x".repeat(255)).is_ok());
        refused(&"x".repeat(256));
    }

    #[test]
    fn paths_overlap_when_equal_or_one_is_a_prefix_at_a_segment_boundary() {
        let p = |s: &str| Path::parse(s).unwrap();
        assert!(p("a").overlaps(&p("a")));
        assert!(p("a").overlaps(&p("a.b")));
        assert!(p("a.b.c").overlaps(&p("a")));
        assert!(!p("a").overlaps(&p("ab")));
        assert!(!p("a.b").overlaps(&p("a.c")));
        assert!(!p("tags.0").overlaps(&p("tags.1")));
    }
}
